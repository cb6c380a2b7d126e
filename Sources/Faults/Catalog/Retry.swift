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
