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

extension LastEventIDFault: FaultSettings {
    public static let name = "last_event_id"
    public static let summary = "Tamper with Last-Event-ID on the way upstream."
    public static let guide = "Exactly one edit of the upstream request. The backend then replays from the start, or skips ahead."
    public static let keys = [
        SettingKey("remove", Schema.trueFlag, "`true`: remove the header"),
        SettingKey("set", ["type": ["string", "integer"]], "send this id (added even when the client sent none)"),
    ]
    public static let schemaRules = [Schema.exactlyOne([["remove"], ["set"]])]
    public static let examples = ["last_event_id: { remove: true }"]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> LastEventIDFault {
        LastEventIDFault(try HeaderEdit.decode(m, keys: ["remove", "set"]))
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(LastEventIDStage(self)) }
}

extension Fault {
    public static func lastEventID(_ f: LastEventIDFault) -> Fault { Fault(f) }
}

extension HeaderEdit {
    /// Exactly one of `remove: true` or `set: value` (`keys` in the order errors list them).
    /// Shared by `last_event_id` and `content_type`.
    static func decode<M: SettingsMap>(_ m: M, keys: [String]) throws(M.Value.Failure) -> HeaderEdit {
        let (key, v) = try m.exactlyOne(of: keys)
        if key == "remove" {
            try v.trueFlag()
            return .remove
        }
        return .set(try v.string("a string"))
    }
}
