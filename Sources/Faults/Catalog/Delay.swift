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
    var passesOthersUntouched: Bool { true }
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

extension DelayFault: FaultSettings {
    public static let name = "delay"
    public static let summary = "Latency per frame (+ jitter), before the response head, before connecting upstream."
    public static let guide = """
        A frame is written at arrival + latency + jitter; frames behind it wait their turn (a stream
        is head-of-line), so latency is not cumulative.
        """
    public static let keys = [
        SettingKey("latency", Schema.duration, "fixed wait added to each matching frame"),
        SettingKey(
            "jitter", Jitter.schema,
            "random extra wait: `{ distribution: uniform, min: 0ms, max: 50ms }`, "
                + "`{ distribution: normal, mean: 0ms, sigma: 20ms }` (mean may be negative; the total is clamped at 0), "
                + "`{ distribution: lognormal, median: 40ms, sigma: 0.8 }`, "
                + "`{ distribution: pareto, scale: 5ms, shape: 1.5, cap: 60s }` (cap default 60s)"),
        SettingKey("first_byte", Schema.duration, "wait before the response head is written"),
        SettingKey("connect", Schema.duration, "wait before connecting upstream"),
    ]
    static let ownKeys = ["latency", "jitter", "first_byte", "connect"]
    public static let schemaRules = [Schema.atLeastOne(ownKeys)]
    public static let examples = [
        "delay: { latency: 80ms, connect: 400ms, jitter: { distribution: lognormal, median: 60ms, sigma: 0.9 } }"
    ]
    public static let defaultKinds: Set<FrameKind> = FrameKind.allKinds
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> DelayFault {
        guard m.keys.contains(where: { ownKeys.contains($0) }) else {
            throw m.value.error("delay needs at least one of: latency, jitter, first_byte, connect; found none")
        }
        return DelayFault(
            latency: try m["latency"]?.nanos() ?? 0,
            jitter: try m["jitter"].map { v throws(M.Value.Failure) in try Jitter.decode(v) },
            firstByte: try m["first_byte"]?.nanos() ?? 0, connect: try m["connect"]?.nanos() ?? 0)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(DelayStage(self)) }
}

extension Fault {
    public static func delay(_ f: DelayFault) -> Fault { Fault(f) }
}
