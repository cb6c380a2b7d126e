/// A refused connection: accepted, then reset at once (a backend that is down behind a
/// load balancer, a crashed gateway).
public struct RefuseFault: Sendable, Equatable {
    public init() {}
}

struct RefuseStage: FaultStage {
    init(_ settings: RefuseFault) {}

    var touchesStream: Bool { false }
    var usesHooks: Bool { true }

    mutating func request(_ draft: inout RequestDraft, _ ctx: inout StageContext) {
        guard !draft.decided else { return }
        draft.refuse = true
        ctx.record(nil, .refused)
    }
}
