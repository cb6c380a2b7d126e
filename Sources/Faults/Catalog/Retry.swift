import SSE

/// Bad reconnection advice: rewrite `retry:` lines, or add one, with any value — `0` (reconnect
/// storms), a huge number (the client waits forever) or something bogus (ignored by a
/// spec-exact client).
public struct RetryFault: Sendable, Equatable {
    /// The value written after `retry: `.
    public var value: String
    /// Add a `retry:` line to frames that have none (otherwise only rewrite existing ones).
    public var inject: Bool
    public init(value: String, inject: Bool = true) {
        self.value = value
        self.inject = inject
    }
}

struct RetryStage: FaultStage {
    var passesOthersUntouched: Bool { true }
    let settings: RetryFault
    init(_ settings: RetryFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        var c = chunk
        let value = Array(settings.value.utf8)
        if let r = Malformed.setField(chunk.bytes, name: "retry", value: value) {
            c.bytes = r
            ctx.record(c.frameIndex, .retryRewritten(value: settings.value))
        } else if settings.inject {
            c.bytes = Malformed.insertField(chunk.bytes, name: "retry", value: value)
            ctx.record(c.frameIndex, .retryInjected(value: settings.value))
        }
        c.frame?.retry = settings.value.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? UInt64(settings.value) : nil
        out.append(.chunk(c))
    }
}

extension RetryFault: FaultSettings {
    public static let name = "retry"
    public static let summary = "Rewrite or inject retry: lines."
    public static let guide = """
        `0` makes reconnect storms, a huge number makes the client wait forever, anything bogus
        (`soon`) is ignored by a spec-exact client.
        """
    public static let keys = [
        SettingKey("value", ["type": ["string", "integer"]], "the value written after `retry: `, on one line", required: true),
        SettingKey(
            "inject", Schema.boolean, "add a `retry:` line to frames that have none (default true; false: only rewrite existing ones)"),
    ]
    public static let examples = ["retry: { value: 0, select: { event_index: { from: 0, to: 0 } } }"]
    public static let defaultKinds: Set<FrameKind> = [.event, .fieldsOnly]
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> RetryFault {
        let v = try m.required("value")
        let value = try v.string("a retry value (digits, or anything bogus)")
        guard !value.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw v.error("expected a value on one line, found a line break")
        }
        return RetryFault(value: value, inject: try m["inject"]?.bool() ?? true)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(RetryStage(self)) }
}

extension Fault {
    public static func retry(_ f: RetryFault) -> Fault { Fault(f) }
}
