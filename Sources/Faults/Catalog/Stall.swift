/// A stream that stops moving while the socket stays open: for a while (then everything held
/// flows again) or forever (what arrives later is withheld and recorded).
public struct StallFault: Sendable, Equatable {
    public var trigger: Trigger
    /// nil = forever.
    public var duration: Nanos?
    public init(_ trigger: Trigger, duration: Nanos? = nil) {
        self.trigger = trigger
        self.duration = duration
    }
}

struct StallStage: FaultStage {
    let settings: StallFault
    var state: TriggerState
    var fired = false

    init(_ settings: StallFault) {
        self.settings = settings
        state = TriggerState(settings.trigger)
    }

    var nextTimer: Nanos? { fired ? nil : state.deadline }
    var needsDraw: Bool { !fired }

    mutating func start(_ ctx: inout StageContext) { state.start(ctx) }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feed(.chunk(chunk), matching: true, &ctx, into: &out)
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feed(item, matching: false, &ctx, into: &out)
    }

    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard !fired else { return }
        stall(frameIndex: nil, &ctx, into: &out)
    }

    private mutating func feed(
        _ item: StreamItem, matching: Bool, _ ctx: inout StageContext, into out: inout [StreamItem]
    ) {
        if fired {
            guard settings.duration == nil else { return out.append(item) }
            if case .chunk(let c) = item {
                ctx.record(c.frameIndex, .withheld(bytes: c.bytes.count))
            }
            return
        }
        let step = state.feed(item, matching: matching, into: &out)
        guard step.fired else { return }
        stall(frameIndex: step.frameIndex, &ctx, into: &out)
        if let rest = step.remainder { feed(.chunk(rest), matching: false, &ctx, into: &out) }
    }

    private mutating func stall(frameIndex: Int?, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        fired = true
        state.disarm()
        let until = settings.duration.map { ctx.now + $0 }
        ctx.record(frameIndex, .stalled(trigger: settings.trigger, duration: settings.duration))
        out.append(.pause(until: until))
    }
}

extension StallFault: FaultSettings {
    public static let name = "stall"
    public static let summary = "Stop writing, keep the socket open (forever without duration)."
    public static let guide = """
        The same triggers as `disconnect`. The socket stays open; nothing is written until the stall
        ends. During an endless stall later frames are withheld and recorded.
        """
    public static let keys = Trigger.keys + [SettingKey("duration", Schema.duration, "how long (without it: forever)")]
    public static let schemaRules = Trigger.schemaRules
    public static let examples = ["stall: { after_events: 3 }", "stall: { after: 10s, duration: 30s }"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> StallFault {
        StallFault(try Trigger.decode(m), duration: try m["duration"]?.nanos())
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(StallStage(self)) }
}

extension Fault {
    public static func stall(_ f: StallFault) -> Fault { Fault(f) }
}
