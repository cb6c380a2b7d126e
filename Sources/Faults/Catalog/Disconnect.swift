/// A connection that dies: after n events, n bytes, a time, or in the middle of an event; by
/// RST (the client sees ECONNRESET), FIN, or a half-close. Bytes after the cut are dropped.
public struct DisconnectFault: Sendable, Equatable {
    public var trigger: Trigger
    public var kind: CloseKind
    public init(_ trigger: Trigger, kind: CloseKind = .rst) {
        self.trigger = trigger
        self.kind = kind
    }
}

struct DisconnectStage: FaultStage {
    let settings: DisconnectFault
    var state: TriggerState
    var closed = false

    init(_ settings: DisconnectFault) {
        self.settings = settings
        state = TriggerState(settings.trigger)
    }

    var nextTimer: Nanos? { closed ? nil : state.deadline }

    mutating func start(_ ctx: inout StageContext) { state.start(ctx) }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feed(.chunk(chunk), matching: true, &ctx, into: &out)
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        feed(item, matching: false, &ctx, into: &out)
    }

    mutating func onTimer(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard !closed else { return }
        close(frameIndex: nil, dropped: 0, &ctx, into: &out)
    }

    private mutating func feed(
        _ item: StreamItem, matching: Bool, _ ctx: inout StageContext, into out: inout [StreamItem]
    ) {
        guard !closed else { return }  // the connection is gone: nothing after the cut is written
        let step = state.feed(item, matching: matching, into: &out)
        if step.fired {
            close(frameIndex: step.frameIndex, dropped: step.remainder?.bytes.count ?? 0, &ctx, into: &out)
        }
    }

    private mutating func close(frameIndex: Int?, dropped: Int, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        closed = true
        state.disarm()
        ctx.record(frameIndex, .cut(settings.kind, trigger: settings.trigger, droppedBytes: dropped))
        out.append(.close(settings.kind, notBefore: ctx.now))
    }
}
