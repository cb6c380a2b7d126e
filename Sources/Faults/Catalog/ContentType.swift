/// A wrong or missing `Content-Type` on an otherwise good stream (a proxy that rewrites it, a
/// framework default). A spec-exact EventSource fails the connection and does not reconnect.
public struct ContentTypeFault: Sendable, Equatable {
    /// `.set(value)` or `.remove`.
    public var edit: HeaderEdit
    public init(_ edit: HeaderEdit) { self.edit = edit }
}

struct ContentTypeStage: FaultStage {
    let settings: ContentTypeFault
    init(_ settings: ContentTypeFault) { self.settings = settings }

    var touchesStream: Bool { false }
    var usesHooks: Bool { true }

    mutating func head(_ decision: inout HeadDecision, status: Int, _ ctx: inout StageContext) {
        decision.contentType = settings.edit
        switch settings.edit {
        case .keep: break
        case .remove: ctx.record(nil, .contentTypeRemoved)
        case .set(let v): ctx.record(nil, .contentTypeSet(v))
        }
    }
}
