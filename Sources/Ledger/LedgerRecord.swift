import Faults

/// One happening in the ledger, written as one JSON line (`--ledger FILE`).
///
/// Every line has `type`, `t` (monotonic ns, from the proxy's clock), `client` and, except for `client`
/// records, `conn`. The other fields depend on `type`; see `jsonLine()` and the README.
public struct LedgerRecord: Sendable, Equatable {
    /// `connection_open`: a client connected and sent its request.
    public struct Open: Sendable, Equatable {
        public var attempt: Int
        public var wallMs: UInt64
        public var method: String
        public var path: String
        /// The `Last-Event-ID` header the client sent (nil: none).
        public var lastEventIDSent: String?
        public var profile: String
        public var seed: UInt64
        /// The contract the client is judged by (`contract`; absent in older files: `eventsource`).
        public var contract: ClientContract = .eventsource
        public init(attempt: Int, wallMs: UInt64, method: String, path: String, lastEventIDSent: String?, profile: String, seed: UInt64,
                    contract: ClientContract = .eventsource) {
            self.contract = contract
            self.attempt = attempt
            self.wallMs = wallMs
            self.method = method
            self.path = path
            self.lastEventIDSent = lastEventIDSent
            self.profile = profile
            self.seed = seed
        }
    }

    /// `response`: the status and content type the client received.
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String?
        /// Written by a fault (respond 503, …) rather than relayed.
        public var synthetic: Bool
        /// nil: a spec-exact client opens the stream; else why it fails.
        public var failReason: String?
        public init(status: Int, contentType: String?, synthetic: Bool, failReason: String?) {
            self.status = status
            self.contentType = contentType
            self.synthetic = synthetic
            self.failReason = failReason
        }
    }

    /// `delivered`: one write of payload bytes to the client (events level only).
    public struct Delivered: Sendable, Equatable {
        public var bytes: Int
        /// Payload bytes delivered on this connection so far.
        public var total: Int
        /// Messages a spec-exact client dispatched because of these bytes.
        public var dispatched: Int
        /// The client's last event ID after them.
        public var lastEventID: String
        public init(bytes: Int, total: Int, dispatched: Int, lastEventID: String) {
            self.bytes = bytes
            self.total = total
            self.dispatched = dispatched
            self.lastEventID = lastEventID
        }
    }

    /// `connection_close`: how the connection ended, with its counts.
    public struct Close: Sendable, Equatable {
        public var end: ConnectionEnd
        public var attempt: Int
        public var frames: Int
        public var events: Int
        public var bytesDelivered: Int
        public var firstID: String?
        public var lastID: String?
        public var faults: Int
        public init(end: ConnectionEnd, attempt: Int, frames: Int, events: Int, bytesDelivered: Int, firstID: String?, lastID: String?, faults: Int) {
            self.end = end
            self.attempt = attempt
            self.frames = frames
            self.events = events
            self.bytesDelivered = bytesDelivered
            self.firstID = firstID
            self.lastID = lastID
            self.faults = faults
        }
    }

    public enum Body: Sendable, Equatable {
        case connectionOpen(Open)
        case response(Response)
        case frame(FrameInfo)
        /// A fault's decision (`at` of the record is the decision's time). Written as `frame`, `fault`,
        /// `action` (the effect's text) and `effect` (its fields).
        case fault(frameIndex: Int?, fault: String, effect: FaultEffect)
        case delivered(Delivered)
        case connectionClose(Close)
        /// The spec-exact client's prediction for the connection, written at its close.
        case prediction(Prediction)
        case finding(Finding)
        /// A client's standing, written after each of its connections closes and by `Ledger.finish`.
        case client(ClientSummary)
        /// The ledger was reset (`POST /reset`): what follows is a new run; attempts start again at 1.
        case reset
    }

    /// The connection (nil for `client` records and findings about a whole client).
    public var connection: UInt64?
    public var clientKey: String
    /// Monotonic ns.
    public var at: UInt64
    public var body: Body

    public init(connection: UInt64?, clientKey: String, at: UInt64, body: Body) {
        self.connection = connection
        self.clientKey = clientKey
        self.at = at
        self.body = body
    }

    /// The `type` field.
    public var type: String {
        switch body {
        case .connectionOpen: return "connection_open"
        case .response: return "response"
        case .frame: return "frame"
        case .fault: return "fault"
        case .delivered: return "delivered"
        case .connectionClose: return "connection_close"
        case .prediction: return "prediction"
        case .finding: return "finding"
        case .client: return "client"
        case .reset: return "reset"
        }
    }

    /// One JSON object, no newline. Hand-written: it runs for every event at `.events`.
    public func jsonLine() -> String {
        var w = JSONWriter()
        w.string("type", type)
        w.uint("t", at)
        if let connection { w.uint("conn", connection) }
        w.string("client", clientKey)
        switch body {
        case .connectionOpen(let o):
            w.int("attempt", o.attempt)
            w.uint("wall_ms", o.wallMs)
            w.string("method", o.method)
            w.string("path", o.path)
            w.string("last_event_id", o.lastEventIDSent)
            w.string("profile", o.profile)
            w.uint("seed", o.seed)
            w.string("contract", o.contract.rawValue)
        case .response(let r):
            w.int("status", r.status)
            w.string("content_type", r.contentType)
            w.bool("synthetic", r.synthetic)
            w.string("outcome", r.failReason == nil ? "open" : "fail")
            w.optString("reason", r.failReason)
        case .frame(let f):
            w.frameFields(f)
        case .fault(let frameIndex, let fault, let effect):
            w.int("frame", frameIndex)
            w.string("fault", fault)
            w.string("action", effect.description)
            w.raw("effect", effect.json)
        case .delivered(let d):
            w.int("bytes", d.bytes)
            w.int("total", d.total)
            w.int("dispatched", d.dispatched)
            w.string("last_event_id", d.lastEventID)
        case .connectionClose(let c):
            w.int("attempt", c.attempt)
            w.string("end", c.end.name)
            switch c.end {
            case .fault(let kind, let atByte):
                w.string("fault_kind", kind.rawValue)
                w.int("at_byte", atByte)
            case .upstreamError(let e):
                w.string("error", e)
            default:
                break
            }
            w.int("frames", c.frames)
            w.int("events", c.events)
            w.int("bytes_delivered", c.bytesDelivered)
            w.string("first_id", c.firstID)
            w.string("last_id", c.lastID)
            w.int("faults", c.faults)
        case .prediction(let p):
            w.int("attempt", p.attempt)
            w.int("dispatched", p.dispatched)
            w.int("intact", p.intact)
            w.int("unexpected", p.unexpected)
            w.string("last_event_id", p.lastEventID)
            w.uint("reconnection_ms", p.reconnectionTimeMs)
            w.bool("discarded_tail", p.discardedTail)
            w.string("next", p.reconnects ? "reconnect" : "fail")
            w.optString("reason", p.failReason)
            p.writeResetFields(&w)
        case .finding(let f):
            w.string("kind", f.kind.rawValue)
            w.int("attempt", f.attempt)
            w.string("detail", f.detail)
            w.optString("expected", f.expected)
            w.optString("actual", f.actual)
            if !f.ids.isEmpty { w.strings("ids", f.ids) }
        case .client(let s):
            w.int("connections", s.connections)
            w.int("reconnects", s.reconnects)
            w.int("open", s.openConnections)
            w.int("expected", s.expected)
            w.int("received", s.received)
            w.int("missing", s.missing)
            w.int("duplicated", s.duplicated)
            w.int("unexpected", s.unexpected)
            w.int("findings", s.findings)
            w.strings("missing_ids", s.missingIDs)
            w.strings("duplicated_ids", s.duplicatedIDs)
            w.string("last_event_id", s.lastEventID)
            w.uint("reconnection_ms", s.reconnectionTimeMs)
            w.bool("failed", s.failed)
            w.string("verdict", s.verdict)
        case .reset:
            break
        }
        return w.finish()
    }
}
