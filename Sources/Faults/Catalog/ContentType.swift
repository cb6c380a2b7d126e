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

extension ContentTypeFault: FaultSettings {
    public static let name = "content_type"
    public static let summary = "Wrong or missing Content-Type on a good stream."
    public static let guide = """
        Exactly one edit, on an otherwise good stream. A spec-exact EventSource fails the connection
        and does not reconnect.
        """
    public static let keys = [
        SettingKey("set", Schema.string, "send this Content-Type instead"),
        SettingKey("remove", Schema.trueFlag, "`true`: send none"),
    ]
    public static let schemaRules = [Schema.exactlyOne([["set"], ["remove"]])]
    public static let examples = ["content_type: { set: \"application/json\" }"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> ContentTypeFault {
        ContentTypeFault(try HeaderEdit.decode(m, keys: ["set", "remove"]))
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(ContentTypeStage(self)) }
}

extension Fault {
    public static func contentType(_ f: ContentTypeFault) -> Fault { Fault(f) }
}
