/// A connection that dies: after n events, n bytes, a time, or in the middle of an event; by
/// RST (the client sees ECONNRESET), FIN, or a half-close. Bytes after the cut are dropped.
public struct DisconnectFault: Sendable, Equatable {
    public var trigger: Trigger
    public var kind: CloseKind
    public init(_ trigger: Trigger, kind: CloseKind = .rst) {
        self.trigger = trigger
        self.kind = kind
    }
}

struct DisconnectStage: FaultStage {
    let settings: DisconnectFault
    var state: TriggerState
    var closed = false

    init(_ settings: DisconnectFault) {
        self.settings = settings
        state = TriggerState(settings.trigger)
    }

    var nextTimer: Nanos? { closed ? nil : state.deadline }

    mutating func start(_ ctx: inout StageContext) { state.start(ctx) }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feed(.chunk(chunk), matching: true, &ctx, into: &out)
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feed(item, matching: false, &ctx, into: &out)
    }

    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard !closed else { return }
        close(frameIndex: nil, dropped: 0, &ctx, into: &out)
    }

    private mutating func feed(
        _ item: StreamItem, matching: Bool, _ ctx: inout StageContext, into out: inout [StreamItem]
    ) {
        guard !closed else { return }  // the connection is gone: nothing after the cut is written
        let step = state.feed(item, matching: matching, into: &out)
        if step.fired {
            close(frameIndex: step.frameIndex, dropped: step.remainder?.bytes.count ?? 0, &ctx, into: &out)
        }
    }

    private mutating func close(frameIndex: Int?, dropped: Int, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        closed = true
        state.disarm()
        ctx.record(frameIndex, .cut(settings.kind, trigger: settings.trigger, droppedBytes: dropped))
        out.append(.close(settings.kind, notBefore: ctx.now))
    }
}

extension DisconnectFault: FaultSettings {
    public static let name = "disconnect"
    public static let summary = "Close the connection (default RST)."
    public static let guide = """
        Exactly one trigger; counts are of matching frames (default: events). Nothing after the cut
        is written.
        """
    public static let keys =
        Trigger.keys + [SettingKey("kind", Schema.oneOf(["rst", "fin", "half_close"]), "`rst` (default), `fin` or `half_close`")]
    public static let schemaRules = Trigger.schemaRules
    public static let examples = ["disconnect: { after_events: 3, kind: rst }", "disconnect: { inside_event: 2, at_byte: 10, kind: fin }"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> DisconnectFault {
        var kind = CloseKind.rst
        if let k = m["kind"] {
            switch try k.string("a string") {
            case "rst": kind = .rst
            case "fin": kind = .fin
            case "half_close": kind = .halfClose
            default: throw k.error("expected one of: rst, fin, half_close; found \(k.found)")
            }
        }
        return DisconnectFault(try Trigger.decode(m), kind: kind)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(DisconnectStage(self)) }
}

extension Fault {
    public static func disconnect(_ f: DisconnectFault) -> Fault { Fault(f) }
}
