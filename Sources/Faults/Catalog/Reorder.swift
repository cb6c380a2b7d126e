/// Out-of-order delivery: a matching frame is held and written after the next `distance`
/// events (a swap with the next one for distance 1). The selector and probability decide
/// which frames are moved; every later `event` frame counts towards `distance`.
public struct ReorderFault: Sendable, Equatable {
    public var distance: Int
    public init(distance: Int = 1) { self.distance = distance }
}

struct ReorderStage: FaultStage {
    let settings: ReorderFault
    var held: Chunk?
    var remaining = 0
    init(_ settings: ReorderFault) { self.settings = settings }

    var needsDraw: Bool { held == nil }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard held != nil else {
            held = chunk
            remaining = settings.distance
            return
        }
        out.append(.chunk(chunk))
        remaining -= 1
        if remaining == 0 { release(&ctx, into: &out) }
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        switch item {
        case .close:
            release(&ctx, into: &out)
            out.append(item)
        case .chunk(let c) where held != nil && c.frame?.kind == .event:
            out.append(item)
            remaining -= 1
            if remaining == 0 { release(&ctx, into: &out) }
        default:
            out.append(item)
        }
    }

    mutating func onEnd(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        release(&ctx, into: &out)
    }

    private mutating func release(_ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard var c = held else { return }
        held = nil
        let moved = settings.distance - remaining
        ctx.record(c.frameIndex, .reordered(movedAfter: moved))
        c.notBefore = Swift.max(c.notBefore, ctx.now)
        out.append(.chunk(c))
    }
}
