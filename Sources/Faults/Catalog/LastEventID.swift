/// A gateway that loses or rewrites the client's `Last-Event-ID` on the way upstream: the
/// backend replays from the start, or skips ahead.
public struct LastEventIDFault: Sendable, Equatable {
    /// `.remove` or `.set(id)` (`.set` adds the header even when the client sent none).
    public var edit: HeaderEdit
    public init(_ edit: HeaderEdit) { self.edit = edit }
}

struct LastEventIDStage: FaultStage {
    let settings: LastEventIDFault
    init(_ settings: LastEventIDFault) { self.settings = settings }

    var touchesStream: Bool { false }
    var usesHooks: Bool { true }

    mutating func request(_ draft: inout RequestDraft, _ ctx: inout StageContext) {
        let sent = ctx.connection.lastEventID
        switch settings.edit {
        case .keep: return
        case .remove:
            guard let sent else { return }
            ctx.record(nil, .lastEventIDRemoved(sent: sent))
        case .set(let v):
            ctx.record(nil, .lastEventIDReplaced(sent: sent, with: v))
        }
        draft.lastEventID = settings.edit
    }
}
