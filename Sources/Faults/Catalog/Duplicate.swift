/// At-least-once delivery gone visible: matching frames are written more than once.
public struct DuplicateFault: Sendable, Equatable {
    /// Extra copies written right after the original.
    public var copies: Int
    public init(copies: Int = 1) { self.copies = copies }
}

struct DuplicateStage: FaultStage {
    let settings: DuplicateFault
    init(_ settings: DuplicateFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        for _ in 0...settings.copies { out.append(.chunk(chunk)) }
        ctx.record(chunk.frameIndex, .duplicated(extra: settings.copies))
    }
}
