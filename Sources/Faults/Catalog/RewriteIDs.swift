import SSE

/// Wrong event ids: the client resumes from the wrong place, or not at all.
public struct RewriteIDsFault: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// Add `n` to numeric ids (others are left alone).
        case offset(Int)
        /// Reuse the id of the frame `back` ids earlier (a stale id).
        case reuse(back: Int)
        /// Append a NUL: a spec-exact client ignores such an id.
        case appendNUL
        /// Replace every id with this one.
        case set(String)
    }
    public var mode: Mode
    public init(_ mode: Mode) { self.mode = mode }
}

struct RewriteIDsStage: FaultStage {
    var passesOthersUntouched: Bool { true }
    let settings: RewriteIDsFault
    /// Original ids seen so far (for `reuse`).
    var history: [[UInt8]] = []
    init(_ settings: RewriteIDsFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        guard let old = Malformed.fieldValues(chunk.bytes, name: "id").last else { return out.append(.chunk(chunk)) }
        defer { history.append(old) }
        var new: [UInt8]
        switch settings.mode {
        case .offset(let n):
            guard let v = Int(String(decoding: old, as: UTF8.self)) else { return out.append(.chunk(chunk)) }
            new = Array(String(v &+ n).utf8)
        case .reuse(let back):
            guard history.count >= back else { return out.append(.chunk(chunk)) }
            new = history[history.count - back]
        case .appendNUL:
            new = old + [0]
        case .set(let s):
            new = Array(s.utf8)
        }
        var c = chunk
        c.bytes = Malformed.setField(chunk.bytes, name: "id", value: new) ?? chunk.bytes
        let shown = String(decoding: new, as: UTF8.self).replacingNUL
        ctx.record(c.frameIndex, .idRewritten(from: String(decoding: old, as: UTF8.self), to: shown))
        c.frame?.id = new.contains(0) ? nil : String(decoding: new, as: UTF8.self)
        out.append(.chunk(c))
    }
}

extension String {
    var replacingNUL: String {
        String(unicodeScalars.map { $0 == "\0" ? "\\0" : String($0) }.joined())
    }
}

extension RewriteIDsFault: FaultSettings {
    public static let name = "rewrite_ids"
    public static let summary = "Rewrite event ids."
    public static let guide = "Exactly one rewrite. Frames without an `id:` line pass untouched."
    public static let keys = [
        SettingKey("offset", Schema.integer(min: Int(Int32.min), max: Int(Int32.max)), "add N to numeric ids (others are left alone)"),
        SettingKey("reuse_back", Schema.integer(min: 1, max: 10_000), "use the id of the frame N ids earlier: a stale id"),
        SettingKey("append_nul", Schema.trueFlag, "`true`: append a NUL (a spec-exact client ignores the id)"),
        SettingKey("set", Schema.string, "replace every id with this one"),
    ]
    static let modes = ["offset", "reuse_back", "append_nul", "set"]
    public static let schemaRules = [Schema.exactlyOne(modes.map { [$0] })]
    public static let examples = ["rewrite_ids: { offset: 1000 }"]
    public static let defaultKinds: Set<FrameKind> = [.event, .fieldsOnly]
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> RewriteIDsFault {
        let (key, v) = try m.exactlyOne(of: modes)
        switch key {
        case "offset": return RewriteIDsFault(.offset(try v.int(in: Int(Int32.min)...Int(Int32.max))))
        case "reuse_back": return RewriteIDsFault(.reuse(back: try v.int(in: 1...10_000)))
        case "append_nul":
            try v.trueFlag()
            return RewriteIDsFault(.appendNUL)
        default: return RewriteIDsFault(.set(try v.string("a string")))
        }
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(RewriteIDsStage(self)) }
}

extension Fault {
    public static func rewriteIDs(_ f: RewriteIDsFault) -> Fault { Fault(f) }
}
