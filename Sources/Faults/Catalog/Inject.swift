/// Bytes the upstream never sent, written as an event at a point of the stream: after n events or at
/// a time (an LLM API's mid-stream `{"error": …}` event, an MCP notification). The stream then goes on,
/// or ends cleanly as with `end`.
public struct InjectFault: Sendable, Equatable {
    /// `afterEvents` or `after`.
    public var trigger: Trigger
    /// Written as given: one or more whole events, each ending with a blank line.
    public var bytes: [UInt8]
    /// End the stream cleanly right after the injected bytes (see `EndFault`).
    public var thenEnd: Bool
    public init(_ trigger: Trigger, bytes: [UInt8], thenEnd: Bool = false) {
        self.trigger = trigger
        self.bytes = bytes
        self.thenEnd = thenEnd
    }
}

struct InjectStage: TriggeredStage {
    let settings: InjectFault
    var state: TriggerState
    var fired = false

    init(_ settings: InjectFault) {
        self.settings = settings
        state = TriggerState(settings.trigger)
    }

    var needsDraw: Bool { !fired }

    mutating func fire(frameIndex: Int?, remainder: Chunk?, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        fired = true
        ctx.record(frameIndex, .eventInjected(bytes: settings.bytes.count, trigger: settings.trigger, thenEnd: settings.thenEnd))
        out.append(.chunk(.injected(settings.bytes, at: ctx.now)))
        if settings.thenEnd { out.append(.end(notBefore: ctx.now)) }
    }

    /// The stream goes on, unless `then: end` ended it.
    mutating func afterFiring(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        if !settings.thenEnd { out.append(item) }
    }
}

extension InjectFault: FaultSettings {
    public static let name = "inject"
    public static let summary = "Write given bytes as an event after N events or at a time."
    public static let guide = """
        Exactly one of `after_events` (0: before the first event) or `after`. `bytes` are written as
        given and must end with a blank line, so they arrive as whole events. With `then: end` the
        stream then ends cleanly (as `end`); otherwise it goes on. Counts are of matching frames.
        """
    static let triggerNames = ["after_events", "after"]
    public static let keys =
        Trigger.pointKeys.filter { triggerNames.contains($0.name) } + [
            SettingKey("bytes", Schema.string, "the event(s) to write, as given, ending with a blank line", required: true),
            SettingKey("then", Schema.oneOf(["continue", "end"]), "`continue` (default) or `end`: end the stream cleanly after them"),
        ]
    public static let schemaRules = [Schema.exactlyOne(triggerNames.map { [$0] })]
    public static let examples = [
        #"inject: { after_events: 2, bytes: "data: {\"error\": {\"message\": \"overloaded\"}}\n\n", then: end }"#,
        #"inject: { after: 1s, bytes: "event: ping\ndata: {}\n\n" }"#,
    ]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> InjectFault {
        let trigger = try Trigger.decodePoint(m, names: triggerNames)
        let b = try m.required("bytes")
        let text = try b.string("a string")
        guard text.hasSuffix("\n\n") || text.hasSuffix("\r\n\r\n") || text.hasSuffix("\r\r") else {
            throw b.error("expected whole events ending with a blank line (\"\\n\\n\"); found \(b.found)")
        }
        var thenEnd = false
        if let t = m["then"] {
            switch try t.string("a string") {
            case "continue": thenEnd = false
            case "end": thenEnd = true
            default: throw t.error("expected one of: continue, end; found \(t.found)")
            }
        }
        return InjectFault(trigger, bytes: Array(text.utf8), thenEnd: thenEnd)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(InjectStage(self)) }
}

extension Fault {
    public static func inject(_ f: InjectFault) -> Fault { Fault(f) }
}
