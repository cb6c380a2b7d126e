import SSE

/// Bytes on their way to the client, with the frame they carry (if any).
struct Chunk: Sendable, Equatable {
    var bytes: [UInt8]
    /// The frame these bytes carry, as rewritten so far. nil for bytes a fault injected and
    /// for slices cut by a byte-level fault.
    var frame: SSEFrame?
    /// The upstream frame the bytes came from (the ledger's key).
    var frameIndex: Int?
    /// 0-based position among `event` frames; nil for other kinds.
    var eventOrdinal: Int?
    var notBefore: Nanos

    static func injected(_ bytes: [UInt8], at notBefore: Nanos) -> Chunk {
        Chunk(bytes: bytes, frame: nil, frameIndex: nil, eventOrdinal: nil, notBefore: notBefore)
    }
}

/// What flows from one stage to the next.
enum StreamItem: Sendable, Equatable {
    case chunk(Chunk)
    case close(CloseKind, notBefore: Nanos)
    /// A clean end of the body (see `Emission.end`).
    case end(notBefore: Nanos)
    case pause(until: Nanos?)
}

/// What a stage may read and write besides the items: the time, its own random source and
/// the records it adds.
struct StageContext {
    let now: Nanos
    /// When the response head arrived (or the first call, if there was none).
    let streamStart: Nanos
    let fault: String
    let connection: ConnectionContext
    var rng: SplitMix64
    var records: [FaultRecord] = []

    mutating func record(_ frameIndex: Int?, _ effect: FaultEffect) {
        records.append(FaultRecord(frameIndex: frameIndex, fault: fault, effect: effect, at: now))
    }
}

/// The request-time decision while faults contribute to it.
struct RequestDraft: Sendable {
    var connectDelay: Nanos = 0
    var lastEventID: HeaderEdit = .keep
    var response: (SyntheticResponse, delay: Nanos)?
    var refuse = false
    var decided: Bool { response != nil || refuse }
}

/// Where a stage sits in the chain. Byte-level stages run after all frame-level ones,
/// whatever the order in the profile, so that frame faults always see whole frames.
enum StagePhase: Int, Sendable, Comparable {
    case frames, bytes
    static func < (a: StagePhase, b: StagePhase) -> Bool { a.rawValue < b.rawValue }
}

/// One fault at work on one connection. Implement the hooks you need; the defaults pass
/// everything on untouched.
///
/// The contract (see docs/FAULTS.md):
/// - Never wait: express time only through `notBefore`, `.pause(until:)` and `nextTimer`.
/// - Every item received is appended to `out` (possibly changed), held to be appended later
///   (and appended at the latest in `onEnd` or before a `.close`), or deliberately dropped
///   with a record.
/// - `onEnd` means upstream finished cleanly: release everything held.
protocol FaultStage: Sendable {
    static var phase: StagePhase { get }
    /// False when the fault only acts on the request or the response head.
    var touchesStream: Bool { get }
    /// Whether a matching frame must first pass the probability draw. A stage in the middle
    /// of something (a reorder waiting for k events) returns false to see every match.
    var needsDraw: Bool { get }
    var nextTimer: Nanos? { get }
    /// Whether `request` or `head` do anything (so the wrapper draws the probability for them).
    var usesHooks: Bool { get }
    /// True when `onOther` is the default (every item appended unchanged) and the stage acts only through
    /// `onMatch`, `onTimer` and `onEnd`: a frame that no such stage matches then passes the plan without
    /// running the stages (`FaultPlan.frame`). Default false.
    var passesOthersUntouched: Bool { get }

    mutating func request(_ draft: inout RequestDraft, _ ctx: inout StageContext)
    mutating func head(_ decision: inout HeadDecision, status: Int, _ ctx: inout StageContext)
    /// The stream starts (response head received). Timers are usually armed here.
    mutating func start(_ ctx: inout StageContext)
    /// A frame that matches the selector (and won the probability draw).
    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem])
    /// Anything else: non-matching frames, injected bytes, closes, pauses.
    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem])
    /// Called when `now >= nextTimer`.
    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem])
    /// Upstream ended cleanly: release what is held.
    mutating func onEnd(_ ctx: inout StageContext, into out: inout [StreamItem])
}

extension FaultStage {
    static var phase: StagePhase { .frames }
    var touchesStream: Bool { true }
    var needsDraw: Bool { true }
    var nextTimer: Nanos? { nil }
    var usesHooks: Bool { false }
    var passesOthersUntouched: Bool { false }
    mutating func request(_ draft: inout RequestDraft, _ ctx: inout StageContext) {}
    mutating func head(_ decision: inout HeadDecision, status: Int, _ ctx: inout StageContext) {}
    mutating func start(_ ctx: inout StageContext) {}
    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        out.append(.chunk(chunk))
    }
    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        out.append(item)
    }
    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem]) {}
    mutating func onEnd(_ ctx: inout StageContext, into out: inout [StreamItem]) {}
}

/// How often a fault's probability is drawn.
public enum ProbabilityScope: Sendable, Equatable {
    /// Once per matching frame (drop, duplicate, corrupt…).
    case perFrame
    /// Once per connection: the fault is armed for this attempt or not (disconnect, respond…).
    case perConnection
}

/// The wrapper around every fault: selector and probability live here, not in the faults.
struct FaultSlot: Sendable {
    var stage: any FaultStage
    let spec: FaultSpec
    let defaultKinds: Set<SSEFrame.Kind>
    var rng: SplitMix64
    /// False when a per-connection draw disarmed the fault for this attempt.
    let armed: Bool
    /// `stage.passesOthersUntouched`, read once.
    let passesOthers: Bool

    init(spec: FaultSpec, seed: UInt64) {
        self.spec = spec
        self.stage = spec.fault.makeStage()
        self.defaultKinds = spec.fault.defaultKinds
        self.passesOthers = stage.passesOthersUntouched
        var rng = SplitMix64(seed: seed)
        if spec.fault.probabilityScope == .perConnection {
            armed = FaultSlot.draw(spec.probability, &rng)
        } else {
            armed = spec.probability > 0
        }
        self.rng = rng
    }

    static func draw(_ p: Double, _ rng: inout SplitMix64) -> Bool {
        if p >= 1 { return true }
        if p <= 0 { return false }
        return rng.nextUnit() < p
    }

    var touchesStream: Bool { armed && stage.touchesStream }
    var nextTimer: Nanos? { armed ? stage.nextTimer : nil }

    func context(now: Nanos, start: Nanos, connection: ConnectionContext) -> StageContext {
        StageContext(now: now, streamStart: start, fault: spec.name, connection: connection, rng: rng)
    }

    mutating func feed(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard armed else { return out.append(item) }
        if case .chunk(let chunk) = item, let frame = chunk.frame,
            spec.selector.matches(frame, eventOrdinal: chunk.eventOrdinal, defaultKinds: defaultKinds)
        {
            let chosen =
                spec.fault.probabilityScope == .perConnection || !stage.needsDraw
                || FaultSlot.draw(spec.probability, &ctx.rng)
            if chosen { return stage.onMatch(chunk, &ctx, into: &out) }
        }
        stage.onOther(item, &ctx, into: &out)
    }

    /// Request and head hooks of per-frame faults draw once per hook.
    mutating func hookArmed(_ ctx: inout StageContext) -> Bool {
        guard armed, stage.usesHooks else { return false }
        if spec.fault.probabilityScope == .perConnection { return true }
        return FaultSlot.draw(spec.probability, &ctx.rng)
    }
}
