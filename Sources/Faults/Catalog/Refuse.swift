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

extension RefuseFault: FaultSettings {
    public static let name = "refuse"
    public static let summary = "Accept the connection and reset it."
    public static let guide = "A backend that is down behind a load balancer, a crashed gateway: the client sees a reset before any response."
    public static let keys: [SettingKey] = []
    public static let examples = ["refuse"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> RefuseFault { RefuseFault() }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(RefuseStage(self)) }
}

extension Fault {
    public static func refuse(_ f: RefuseFault) -> Fault { Fault(f) }
}
