import SSE

/// One fault as a profile names it: what it does, which frames it targets and how often.
public struct FaultSpec: Sendable, Equatable {
    public var fault: Fault
    public var selector: FaultSelector
    /// 0…1. Drawn per matching frame or per connection (see `Fault.probabilityScope`).
    public var probability: Double

    public init(_ fault: Fault, selector: FaultSelector = .all, probability: Double = 1) {
        self.fault = fault
        self.selector = selector
        self.probability = probability
    }

    /// The fault's name in profiles and records, e.g. `"drop"`.
    public var name: String { fault.name }
}

/// The catalog. Adding a fault: one file in `Catalog/` with a settings struct and its stage,
/// one case here, one line in each switch below, and a decoder in `Profiles`.
public enum Fault: Sendable, Equatable {
    case delay(DelayFault)
    case buffer(BufferFault)
    case throttle(ThrottleFault)
    case drop(DropFault)
    case duplicate(DuplicateFault)
    case reorder(ReorderFault)
    case corrupt(CorruptFault)
    case stripIDs(StripIDsFault)
    case rewriteIDs(RewriteIDsFault)
    case retry(RetryFault)
    case lastEventID(LastEventIDFault)
    case disconnect(DisconnectFault)
    case stall(StallFault)
    case respond(RespondFault)
    case refuse(RefuseFault)
    case contentType(ContentTypeFault)

    /// Every name, in catalog order.
    public static let names = [
        "delay", "buffer", "throttle", "drop", "duplicate", "reorder", "corrupt", "strip_ids", "rewrite_ids",
        "retry", "last_event_id", "disconnect", "stall", "respond", "refuse", "content_type",
    ]

    public var name: String {
        switch self {
        case .delay: "delay"
        case .buffer: "buffer"
        case .throttle: "throttle"
        case .drop: "drop"
        case .duplicate: "duplicate"
        case .reorder: "reorder"
        case .corrupt: "corrupt"
        case .stripIDs: "strip_ids"
        case .rewriteIDs: "rewrite_ids"
        case .retry: "retry"
        case .lastEventID: "last_event_id"
        case .disconnect: "disconnect"
        case .stall: "stall"
        case .respond: "respond"
        case .refuse: "refuse"
        case .contentType: "content_type"
        }
    }

    /// The frame kinds a fault targets when its selector names none.
    public var defaultKinds: Set<SSEFrame.Kind> {
        switch self {
        case .delay, .buffer, .throttle: SSEFrame.Kind.allKinds
        case .drop(let d): d.heartbeatsOnly ? [.commentOnly] : [.event]
        case .duplicate, .reorder, .corrupt, .disconnect, .stall: [.event]
        case .stripIDs, .rewriteIDs, .retry: [.event, .fieldsOnly]
        case .lastEventID, .respond, .refuse, .contentType: [.event]
        }
    }

    public var probabilityScope: ProbabilityScope {
        switch self {
        case .delay, .buffer, .throttle, .drop, .duplicate, .reorder, .corrupt, .stripIDs, .rewriteIDs, .retry:
            .perFrame
        case .lastEventID, .disconnect, .stall, .respond, .refuse, .contentType: .perConnection
        }
    }

    func makeStage() -> any FaultStage {
        switch self {
        case .delay(let f): DelayStage(f)
        case .buffer(let f): BufferStage(f)
        case .throttle(let f): ThrottleStage(f)
        case .drop(let f): DropStage(f)
        case .duplicate(let f): DuplicateStage(f)
        case .reorder(let f): ReorderStage(f)
        case .corrupt(let f): CorruptStage(f)
        case .stripIDs(let f): StripIDsStage(f)
        case .rewriteIDs(let f): RewriteIDsStage(f)
        case .retry(let f): RetryStage(f)
        case .lastEventID(let f): LastEventIDStage(f)
        case .disconnect(let f): DisconnectStage(f)
        case .stall(let f): StallStage(f)
        case .respond(let f): RespondStage(f)
        case .refuse(let f): RefuseStage(f)
        case .contentType(let f): ContentTypeStage(f)
        }
    }
}
