import SSE

/// An inclusive range of integers; either end may be open.
public struct IntRange: Sendable, Equatable, CustomStringConvertible {
    public var from: Int?
    public var to: Int?
    public init(from: Int? = nil, to: Int? = nil) {
        self.from = from
        self.to = to
    }
    public func contains(_ n: Int) -> Bool {
        if let from, n < from { return false }
        if let to, n > to { return false }
        return true
    }
    public var description: String { "[\(from.map(String.init) ?? "")…\(to.map(String.init) ?? "")]" }
}

/// Which frames a fault applies to. Every criterion that is set must hold; a nil criterion
/// matches everything. Frames that do not match pass through the fault untouched.
public struct FaultSelector: Sendable, Equatable {
    /// Frame kinds. nil = the fault's own default (see `FaultSpec.defaultKinds`).
    public var kinds: Set<SSEFrame.Kind>?
    /// Event types; `"message"` matches frames without an `event` field.
    public var eventTypes: [String]?
    /// Glob over the frame's `id`. Frames without an id never match.
    public var id: Glob?
    /// Numeric ids in this range. Frames whose id is not an integer never match.
    public var idRange: IntRange?
    /// `SSEFrame.index`: 0-based position of the frame in the upstream stream (all kinds).
    public var frameIndex: IntRange?
    /// 0-based position among the `event` frames of the stream. Other kinds never match.
    public var eventIndex: IntRange?

    public init(
        kinds: Set<SSEFrame.Kind>? = nil, eventTypes: [String]? = nil, id: Glob? = nil, idRange: IntRange? = nil,
        frameIndex: IntRange? = nil, eventIndex: IntRange? = nil
    ) {
        self.kinds = kinds
        self.eventTypes = eventTypes
        self.id = id
        self.idRange = idRange
        self.frameIndex = frameIndex
        self.eventIndex = eventIndex
    }

    public static let all = FaultSelector()

    /// Whether `frame` matches, given its 0-based event ordinal (nil unless it is an event).
    public func matches(_ frame: SSEFrame, eventOrdinal: Int?, defaultKinds: Set<SSEFrame.Kind>) -> Bool {
        guard (kinds ?? defaultKinds).contains(frame.kind) else { return false }
        if let eventTypes, !eventTypes.contains(frame.eventType ?? "message") { return false }
        if let id {
            guard let fid = frame.id, id.matches(fid) else { return false }
        }
        if let idRange {
            guard let fid = frame.id, let n = Int(fid), idRange.contains(n) else { return false }
        }
        if let frameIndex, !frameIndex.contains(frame.index) { return false }
        if let eventIndex {
            guard let eventOrdinal, eventIndex.contains(eventOrdinal) else { return false }
        }
        return true
    }
}

extension SSEFrame.Kind {
    /// Every kind.
    public static let allKinds: Set<SSEFrame.Kind> = [.event, .fieldsOnly, .commentOnly, .blank]
    /// The name used in profiles: `event`, `fields`, `comment`, `blank`.
    public var profileName: String {
        switch self {
        case .event: "event"
        case .fieldsOnly: "fields"
        case .commentOnly: "comment"
        case .blank: "blank"
        }
    }
    public init?(profileName: String) {
        switch profileName {
        case "event": self = .event
        case "fields": self = .fieldsOnly
        case "comment": self = .commentOnly
        case "blank": self = .blank
        default: return nil
        }
    }
}
