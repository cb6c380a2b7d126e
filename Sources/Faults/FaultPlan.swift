import SSE

/// The faults of one connection attempt at work: a pure state machine. Every method takes
/// the current time and returns what to do; nothing here sleeps, writes or reads a clock.
///
/// Call order: `request`, then (when relaying) `responseHead`, then `frame` for each complete
/// upstream frame, `timer` whenever `now >= nextTimer`, and `upstreamEnded` when the upstream
/// body finished cleanly. The stream starts at `responseHead` (or at the first call after it).
///
/// Not handled here: the upstream's unfinished tail (an incomplete frame at end of stream) —
/// the proxy forwards or discards it.
public struct FaultPlan: Sendable {
    public let context: ConnectionContext
    public let faults: [FaultSpec]
    private var slots: [FaultSlot]
    private var records: [FaultRecord] = []
    private var streamStart: Nanos?
    private var eventCount = 0
    /// Emissions never go back in time: each `notBefore` is at least the previous one.
    private var floor: Nanos = 0
    /// A close or an endless pause has been emitted: nothing more will be written.
    public private(set) var isFinished = false
    /// The items between stages, reused by every `run`.
    private var scratchIn: [StreamItem] = []
    private var scratchOut: [StreamItem] = []

    /// Whether `frame` may pass a frame no stage acts on without running the stages (false: tests of the
    /// shortcut against the full run).
    let shortcut: Bool

    public init(faults: [FaultSpec], context: ConnectionContext) {
        self.init(faults: faults, context: context, shortcut: true)
    }

    init(faults: [FaultSpec], context: ConnectionContext, shortcut: Bool) {
        self.shortcut = shortcut
        self.context = context
        self.faults = faults
        var seeds = context.makeRandom()
        let slots = faults.map { FaultSlot(spec: $0, seed: seeds.next()) }
        // Stable: frame faults in profile order, then byte faults in profile order.
        self.slots = slots.enumerated().sorted {
            (type(of: $0.element.stage).phase, $0.offset) < (type(of: $1.element.stage).phase, $1.offset)
        }.map(\.element)
    }

    /// No fault can change the stream: the proxy may forward raw bytes untouched.
    public var isPassthrough: Bool { !slots.contains { $0.touchesStream } }

    /// The earliest time `timer(now:)` has something to do, if any.
    public var nextTimer: Nanos? {
        isFinished ? nil : slots.compactMap(\.nextTimer).min()
    }

    public mutating func request(now: Nanos) -> RequestDecision {
        var draft = RequestDraft()
        for i in slots.indices {
            var ctx = slots[i].context(now: now, start: now, connection: context)
            if slots[i].hookArmed(&ctx) { slots[i].stage.request(&draft, &ctx) }
            finish(i, ctx)
        }
        if draft.refuse { return .refuse }
        if let (response, delay) = draft.response { return .respond(response, delay: delay + draft.connectDelay) }
        return .relay(connectDelay: draft.connectDelay, lastEventID: draft.lastEventID)
    }

    public mutating func responseHead(status: Int, contentType: String?, now: Nanos) -> HeadDecision {
        let isStream =
            status == 200
            && (contentType?.split(separator: ";").first?.trimmingSpaces.lowercased() == "text/event-stream")
        var decision = HeadDecision(streamFaults: isStream && !isPassthrough)
        for i in slots.indices {
            var ctx = slots[i].context(now: now, start: now, connection: context)
            if slots[i].hookArmed(&ctx) { slots[i].stage.head(&decision, status: status, &ctx) }
            finish(i, ctx)
        }
        startIfNeeded(now: now + decision.firstByteDelay)
        return decision
    }

    public mutating func frame(_ frame: SSEFrame, now: Nanos) -> [Emission] {
        var out: [Emission] = []
        self.frame(frame, now: now, into: &out)
        return out
    }

    /// `frame(_:now:)` appending to `out` (the proxy's queue): no array per frame.
    public mutating func frame(_ frame: SSEFrame, now: Nanos, into out: inout [Emission]) {
        guard !isFinished else { return }
        startIfNeeded(now: now)
        var ordinal: Int?
        if frame.kind == .event {
            ordinal = eventCount
            eventCount += 1
        }
        if shortcut && passesUntouched(frame, eventOrdinal: ordinal) {
            // What `run` and `emit` make of a chunk every stage appends unchanged: one write, never before `floor`.
            guard !frame.raw.isEmpty else { return }
            floor = Swift.max(floor, now)
            out.append(.write(frame.raw, notBefore: floor, frameIndex: frame.index))
            return
        }
        let chunk = Chunk(bytes: frame.raw, frame: frame, frameIndex: frame.index, eventOrdinal: ordinal, notBefore: now)
        run(now: now, input: .chunk(chunk), into: &out) { _, _, _ in }
    }

    /// Whether every stage would pass `frame` on unchanged: disarmed, or one whose `onOther` is the default
    /// (`FaultStage.passesOthersUntouched`) and whose selector does not match it. No stage before a stage has
    /// changed the frame then (none matched), so each selector sees the frame as `run` would show it; and
    /// no probability is drawn for a frame that matches nothing, so the random sources stay as they are.
    private func passesUntouched(_ frame: SSEFrame, eventOrdinal: Int?) -> Bool {
        for slot in slots where slot.armed {
            guard slot.passesOthers,
                  !slot.spec.selector.matches(frame, eventOrdinal: eventOrdinal, defaultKinds: slot.defaultKinds)
            else { return false }
        }
        return true
    }

    public mutating func timer(now: Nanos) -> [Emission] {
        guard !isFinished else { return [] }
        startIfNeeded(now: now)
        var out: [Emission] = []
        run(now: now, input: nil, into: &out) { slot, ctx, out in
            if let t = slot.nextTimer, t <= now { slot.stage.onTimer(&ctx, into: &out) }
        }
        return out
    }

    /// Upstream finished cleanly: every held item is released, then the connection ends
    /// with `.end` (a clean end: the body's terminator, then FIN) unless a fault already closed or stalled it.
    public mutating func upstreamEnded(now: Nanos) -> [Emission] {
        guard !isFinished else { return [] }
        startIfNeeded(now: now)
        var out: [Emission] = []
        run(now: now, input: nil, into: &out) { slot, ctx, out in
            if slot.armed { slot.stage.onEnd(&ctx, into: &out) }
        }
        if !isFinished {
            out.append(.end(notBefore: Swift.max(now, floor)))
            isFinished = true
        }
        return out
    }

    public mutating func drainRecords() -> [FaultRecord] {
        defer { records = [] }
        return records
    }

    // MARK: - internals

    private mutating func startIfNeeded(now: Nanos) {
        guard streamStart == nil else { return }
        streamStart = now
        for i in slots.indices where slots[i].armed {
            var ctx = slots[i].context(now: now, start: now, connection: context)
            slots[i].stage.start(&ctx)
            finish(i, ctx)
        }
    }

    private mutating func finish(_ i: Int, _ ctx: StageContext) {
        slots[i].rng = ctx.rng
        records += ctx.records
    }

    /// Passes `input` through every stage in order; `extra` lets each stage add its own
    /// output (timer, end) after it has taken the items from upstream of it. The emissions are
    /// appended to `emissions`. The two item arrays are kept between calls (no allocation per frame).
    private mutating func run(
        now: Nanos, input: StreamItem?, into emissions: inout [Emission],
        extra: (inout FaultSlot, inout StageContext, inout [StreamItem]) -> Void
    ) {
        var items = Self.take(&scratchIn)
        var out = Self.take(&scratchOut)
        if let input { items.append(input) }
        let start = streamStart ?? now
        for i in slots.indices {
            var ctx = slots[i].context(now: now, start: start, connection: context)
            for item in items { slots[i].feed(item, &ctx, into: &out) }
            extra(&slots[i], &ctx, &out)
            finish(i, ctx)
            swap(&items, &out)
            out.removeAll(keepingCapacity: true)
        }
        emit(items, into: &emissions)
        items.removeAll(keepingCapacity: items.capacity <= 64)
        scratchIn = items
        scratchOut = out
    }

    /// Moves the array out of `slot`, leaving an empty one, so that it is uniquely referenced.
    private static func take(_ slot: inout [StreamItem]) -> [StreamItem] {
        var taken: [StreamItem] = []
        swap(&taken, &slot)
        return taken
    }

    private mutating func emit(_ items: [StreamItem], into out: inout [Emission]) {
        for item in items {
            guard !isFinished else { break }
            switch item {
            case .chunk(let c):
                guard !c.bytes.isEmpty else { continue }
                floor = Swift.max(floor, c.notBefore)
                out.append(.write(c.bytes, notBefore: floor, frameIndex: c.frameIndex))
            case .close(let kind, let notBefore):
                floor = Swift.max(floor, notBefore)
                out.append(.close(kind, notBefore: floor))
                isFinished = true
            case .end(let notBefore):
                floor = Swift.max(floor, notBefore)
                out.append(.end(notBefore: floor))
                isFinished = true
            case .pause(let until):
                out.append(.pause(until: until))
                if let until { floor = Swift.max(floor, until) } else { isFinished = true }
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
