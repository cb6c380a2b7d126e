/// Latency: hold each matching frame, plus a wait before the response head and before
/// connecting upstream.
///
/// A frame held for `latency` is written at arrival + latency + jitter; frames behind it wait
/// their turn (a stream is head-of-line), so latency is not cumulative.
public struct DelayFault: Sendable, Equatable {
    /// Fixed part of each frame's wait.
    public var latency: Nanos
    /// Random part of each frame's wait, added to `latency`.
    public var jitter: Jitter?
    /// Wait before writing the response head (time to first byte).
    public var firstByte: Nanos
    /// Wait before connecting upstream.
    public var connect: Nanos

    public init(latency: Nanos = 0, jitter: Jitter? = nil, firstByte: Nanos = 0, connect: Nanos = 0) {
        self.latency = latency
        self.jitter = jitter
        self.firstByte = firstByte
        self.connect = connect
    }
}

struct DelayStage: FaultStage {
    let settings: DelayFault
    init(_ settings: DelayFault) { self.settings = settings }

    var touchesStream: Bool { settings.latency > 0 || settings.jitter != nil }
    var usesHooks: Bool { settings.firstByte > 0 || settings.connect > 0 }

    mutating func request(_ draft: inout RequestDraft, _ ctx: inout StageContext) {
        guard settings.connect > 0 else { return }
        draft.connectDelay += settings.connect
        ctx.record(nil, .connectDelayed(settings.connect))
    }

    mutating func head(_ decision: inout HeadDecision, status: Int, _ ctx: inout StageContext) {
        guard settings.firstByte > 0 else { return }
        decision.firstByteDelay += settings.firstByte
        ctx.record(nil, .firstByteDelayed(settings.firstByte))
    }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        var wait = Double(settings.latency)
        if let jitter = settings.jitter { wait += jitter.sample(&ctx.rng) }
        let d = clampedNanos(wait)
        var c = chunk
        c.notBefore = Swift.max(c.notBefore, ctx.now) + d
        if d > 0 { ctx.record(c.frameIndex, .delayed(roundedToMicros(d))) }
        out.append(.chunk(c))
    }
}

/// Records read better as `12.345ms` than as nanoseconds.
func roundedToMicros(_ n: Nanos) -> Nanos { (n / 1_000) * 1_000 }
