/// A stream that ends cleanly: after n events, n bytes or a time, the body is terminated properly
/// (for a chunked response the zero-length chunk), optionally after a terminator such as
/// `data: [DONE]`, then the connection closes with FIN. Unlike `disconnect kind: fin`, the client
/// always reads a complete body. What the upstream sends afterwards is not written.
public struct EndFault: Sendable, Equatable {
    /// `afterEvents`, `afterBytes` or `after` (not `insideEvent`: an end inside an event is a cut).
    public var trigger: Trigger
    /// Bytes written just before the end (e.g. `data: [DONE]\n\n`); empty: none.
    public var terminator: [UInt8]
    public init(_ trigger: Trigger, terminator: [UInt8] = []) {
        self.trigger = trigger
        self.terminator = terminator
    }
}

struct EndStage: TriggeredStage {
    let settings: EndFault
    var state: TriggerState
    var fired = false

    init(_ settings: EndFault) {
        self.settings = settings
        state = TriggerState(settings.trigger)
    }

    mutating func fire(frameIndex: Int?, remainder: Chunk?, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        fired = true
        let dropped = remainder?.bytes.count ?? 0
        ctx.record(frameIndex, .ended(trigger: settings.trigger, terminatorBytes: settings.terminator.count, droppedBytes: dropped))
        if !settings.terminator.isEmpty { out.append(.chunk(.injected(settings.terminator, at: ctx.now))) }
        out.append(.end(notBefore: ctx.now))
    }

    /// The body is over: nothing after the end is written.
    mutating func afterFiring(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {}
}

extension Trigger {
    /// The triggers of `end` and `inject`: a point between frames (no `inside_event`).
    static let pointNames = ["after_events", "after_bytes", "after"]
    static let pointKeys = keys.filter { pointNames.contains($0.name) }
    static let pointRules = [Schema.exactlyOne(pointNames.map { [$0] })]

    static func decodePoint<M: SettingsMap>(_ m: M, names: [String] = pointNames) throws(M.Value.Failure) -> Trigger {
        let (key, v) = try m.exactlyOne(of: names)
        switch key {
        case "after_events": return .afterEvents(try v.int(in: 0...Int.max))
        case "after_bytes": return .afterBytes(try v.int(in: 0...Int.max))
        default: return .after(try v.nanos())
        }
    }
}

extension EndFault: FaultSettings {
    public static let name = "end"
    public static let summary = "End the stream cleanly (terminator, last chunk, FIN)."
    public static let guide = """
        Exactly one trigger; counts are of matching frames (default: events). The body ends properly:
        `terminator` (if any), then for a chunked response the zero-length chunk, then FIN — the
        client reads a complete response, as from a server that finished early. `disconnect kind: fin`
        instead leaves a chunked body unterminated (`incomplete chunked read`). An `after_bytes` mark
        inside a frame drops the rest of that frame. Nothing after the end is written.
        """
    public static let keys =
        Trigger.pointKeys + [
            SettingKey("terminator", Schema.string, "bytes written just before the end, as given (e.g. `\"data: [DONE]\\n\\n\"`)")
        ]
    public static let schemaRules = Trigger.pointRules
    public static let examples = [
        "end: { after_events: 3 }", #"end: { after_events: 5, terminator: "data: [DONE]\n\n" }"#, "end: { after: 2s }",
    ]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> EndFault {
        let trigger = try Trigger.decodePoint(m)
        let terminator = try m["terminator"].map { v throws(M.Value.Failure) in Array(try v.string("a string").utf8) } ?? []
        return EndFault(trigger, terminator: terminator)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(EndStage(self)) }
}

extension Fault {
    public static func end(_ f: EndFault) -> Fault { Fault(f) }
}
