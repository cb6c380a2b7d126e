import SSE

/// A backend or gateway that drops `id:` lines: the client cannot resume.
public struct StripIDsFault: Sendable, Equatable {
    public init() {}
}

struct StripIDsStage: FaultStage {
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
