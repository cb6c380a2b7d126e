/// At-least-once delivery gone visible: matching frames are written more than once.
public struct DuplicateFault: Sendable, Equatable {
    /// Extra copies written right after the original.
    public var copies: Int
    public init(copies: Int = 1) { self.copies = copies }
}

struct DuplicateStage: FaultStage {
    var passesOthersUntouched: Bool { true }
    let settings: DuplicateFault
    init(_ settings: DuplicateFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        for _ in 0...settings.copies { out.append(.chunk(chunk)) }
        ctx.record(chunk.frameIndex, .duplicated(extra: settings.copies))
    }
}

extension DuplicateFault: FaultSettings {
    public static let name = "duplicate"
    public static let summary = "Write matching frames more than once."
    public static let guide = "The copies follow the original at once."
    public static let keys = [SettingKey("copies", Schema.integer(min: 1, max: 100), "extra copies (default 1)")]
    public static let examples = ["duplicate: { probability: 0.1 }"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> DuplicateFault {
        DuplicateFault(copies: try m["copies"]?.int(in: 1...100) ?? 1)
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(DuplicateStage(self)) }
}

extension Fault {
    public static func duplicate(_ f: DuplicateFault) -> Fault { Fault(f) }
}
