/// A stage that acts once, when its `Trigger` fires (`end`, `inject`): the counting, the timer and the
/// hand-over are here; the stage says what firing does and what happens to items after it.
protocol TriggeredStage: FaultStage {
    var state: TriggerState { get set }
    var fired: Bool { get }
    /// The trigger fired: right after frame `frameIndex` (nil: on the timer). `remainder` is the part of the
    /// frame after an `after_bytes` mark, not yet passed on.
    mutating func fire(frameIndex: Int?, remainder: Chunk?, _ ctx: inout StageContext, into out: inout [StreamItem])
    /// An item that arrives after the trigger fired.
    mutating func afterFiring(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem])
}

extension TriggeredStage {
    var nextTimer: Nanos? { fired ? nil : state.deadline }

    mutating func start(_ ctx: inout StageContext) { state.start(ctx) }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feedTrigger(.chunk(chunk), matching: true, &ctx, into: &out)
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feedTrigger(item, matching: false, &ctx, into: &out)
    }

    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard !fired else { return }
        state.disarm()
        fire(frameIndex: nil, remainder: nil, &ctx, into: &out)
    }

    private mutating func feedTrigger(_ item: StreamItem, matching: Bool, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        if fired { return afterFiring(item, &ctx, into: &out) }
        let step = state.feed(item, matching: matching, into: &out)
        guard step.fired else { return }
        state.disarm()
        fire(frameIndex: step.frameIndex, remainder: step.remainder, &ctx, into: &out)
    }
}
