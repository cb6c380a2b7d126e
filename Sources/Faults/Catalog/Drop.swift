/// Lost events: drop matching frames (all of them, every nth, or by probability). The
/// heartbeat variant drops `:` comment frames, to trip clients' read timeouts.
public struct DropFault: Sendable, Equatable {
    /// Drop only every nth frame the selector and probability let through (nil = each one).
    public var everyNth: Int?
    /// Target comment-only frames (heartbeats) instead of events, unless the selector names kinds.
    public var heartbeatsOnly: Bool

    public init(everyNth: Int? = nil, heartbeatsOnly: Bool = false) {
        self.everyNth = everyNth
        self.heartbeatsOnly = heartbeatsOnly
    }
}

struct DropStage: FaultStage {
    var passesOthersUntouched: Bool { true }
    let settings: DropFault
    var seen = 0
    init(_ settings: DropFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        seen += 1
        if let n = settings.everyNth, seen % n != 0 { return out.append(.chunk(chunk)) }
        ctx.record(chunk.frameIndex, .dropped(bytes: chunk.bytes.count))
    }
}

extension DropFault: FaultSettings {
    public static let name = "drop"
    public static let summary = "Drop matching frames."
    public static let guide = "Each dropped frame is recorded."
    public static let keys = [
        SettingKey("every_nth", Schema.integer(min: 1), "drop only every Nth frame the selector and probability let through"),
        SettingKey(
            "heartbeats_only", Schema.boolean,
            "`true`: target `:` comment frames (heartbeats) instead of events; do not combine with `select.kinds`"),
    ]
    public static let examples = [
        "drop: { every_nth: 4 }", "drop: { heartbeats_only: true }", "drop: { select: { id_range: { from: 10, to: 20 } } }",
    ]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perFrame

    public var defaultKinds: Set<FrameKind> { heartbeatsOnly ? [.commentOnly] : [.event] }

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> DropFault {
        DropFault(everyNth: try m["every_nth"]?.int(in: 1...Int.max), heartbeatsOnly: try m["heartbeats_only"]?.bool() ?? false)
    }

    public func check<M: SettingsMap>(selector: FaultSelector, in m: M) throws(M.Value.Failure) {
        if heartbeatsOnly, selector.kinds != nil, let flag = m["heartbeats_only"] {
            throw flag.error("heartbeats_only and select.kinds both choose frame kinds; keep one")
        }
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(DropStage(self)) }
}

extension Fault {
    public static func drop(_ f: DropFault) -> Fault { Fault(f) }
}
