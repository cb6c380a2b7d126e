import SSE

/// A backend or gateway that drops `id:` lines: the client cannot resume.
public struct StripIDsFault: Sendable, Equatable {
    public init() {}
}

struct StripIDsStage: FaultStage {
    var passesOthersUntouched: Bool { true }
    init(_ settings: StripIDsFault) {}

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard let r = Malformed.removeField(chunk.bytes, name: "id") else { return out.append(.chunk(chunk)) }
        var c = chunk
        c.bytes = r
        ctx.record(c.frameIndex, .idStripped(id: c.frame?.id))
        c.frame?.id = nil
        out.append(.chunk(c))
    }
}

extension StripIDsFault: FaultSettings {
    public static let name = "strip_ids"
    public static let summary = "Remove id lines."
    public static let guide = "Removes `id:` lines: the client cannot resume."
    public static let keys: [SettingKey] = []
    public static let examples = ["strip_ids: { select: { event_index: { to: 2 } } }"]
    public static let defaultKinds: Set<FrameKind> = [.event, .fieldsOnly]
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> StripIDsFault { StripIDsFault() }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(StripIDsStage(self)) }
}

extension Fault {
    public static func stripIDs(_ f: StripIDsFault) -> Fault { Fault(f) }
}
