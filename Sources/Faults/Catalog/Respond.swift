/// Answer the request without connecting upstream: an error status (500, 502, 503 with
/// Retry-After, 401, 429), a 204 (tells EventSource to stop), an empty 200 event stream that
/// ends at once or stays open, optionally with slow headers.
public struct RespondFault: Sendable, Equatable {
    public var status: Int
    /// nil = the standard phrase for the status.
    public var reason: String?
    /// `Retry-After` value (seconds or an HTTP date), if any.
    public var retryAfter: String?
    /// nil = `text/event-stream` for 200, `text/plain; charset=utf-8` otherwise; "" = no header.
    public var contentType: String?
    public var headers: [HeaderField]
    public var body: [UInt8]
    /// Keep the socket open after the body (no Content-Length).
    public var keepOpen: Bool
    /// Write the head in slices of `bytes` with `pause` between.
    public var slowHeaders: SlowHeaders?
    /// Wait before responding.
    public var delay: Nanos

    public struct SlowHeaders: Sendable, Equatable {
        public var bytes: Int
        public var pause: Nanos
        public init(bytes: Int, pause: Nanos) {
            self.bytes = bytes
            self.pause = pause
        }
    }

    public init(
        status: Int, reason: String? = nil, retryAfter: String? = nil, contentType: String? = nil,
        headers: [HeaderField] = [], body: [UInt8] = [], keepOpen: Bool = false, slowHeaders: SlowHeaders? = nil,
        delay: Nanos = 0
    ) {
        self.status = status
        self.reason = reason
        self.retryAfter = retryAfter
        self.contentType = contentType
        self.headers = headers
        self.body = body
        self.keepOpen = keepOpen
        self.slowHeaders = slowHeaders
        self.delay = delay
    }

    /// The response the proxy writes.
    public var response: SyntheticResponse {
        var h: [HeaderField] = []
        let type = contentType ?? (status == 200 ? "text/event-stream" : "text/plain; charset=utf-8")
        if !type.isEmpty && status != 204 { h.append(HeaderField(name: "Content-Type", value: type)) }
        if status == 200 && type.hasPrefix("text/event-stream") {
            h.append(HeaderField(name: "Cache-Control", value: "no-cache"))
        }
        if let retryAfter { h.append(HeaderField(name: "Retry-After", value: retryAfter)) }
        h += headers
        if !keepOpen && status != 204 && !(100..<200).contains(status) {
            h.append(HeaderField(name: "Content-Length", value: String(body.count)))
        }
        h.append(HeaderField(name: "Connection", value: "close"))
        return SyntheticResponse(
            status: status, reason: reason ?? RespondFault.reasonPhrase(status), headers: h,
            body: status == 204 ? [] : body, headSlice: slowHeaders.map { ($0.bytes, $0.pause) },
            after: keepOpen ? nil : .fin)
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 307: "Temporary Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}

struct RespondStage: FaultStage {
    let settings: RespondFault
    init(_ settings: RespondFault) { self.settings = settings }

    var touchesStream: Bool { false }
    var usesHooks: Bool { true }

    mutating func request(_ draft: inout RequestDraft, _ ctx: inout StageContext) {
        guard !draft.decided else { return }
        draft.response = (settings.response, settings.delay)
        ctx.record(nil, .responded(status: settings.status, retryAfter: settings.retryAfter))
    }
}

extension RespondFault: FaultSettings {
    public static let name = "respond"
    public static let summary = "Answer without connecting upstream."
    public static let guide = "The first `respond` or `refuse` in the list wins."
    public static let keys = [
        SettingKey("status", Schema.integer(min: 200, max: 599), "the status code", required: true),
        SettingKey("reason", Schema.string, "the reason phrase (default: the standard one)"),
        SettingKey("retry_after", ["type": ["string", "integer"]], "`Retry-After`: seconds or an HTTP date"),
        SettingKey(
            "content_type", ["type": ["string", "null"]],
            "default `text/event-stream` for 200, `text/plain; charset=utf-8` otherwise; null or `\"\"` for none"),
        SettingKey(
            "headers", ["type": "object", "additionalProperties": ["type": ["string", "number", "boolean"]]],
            "extra headers: `{ Name: value }`"),
        SettingKey("body", Schema.string, "the body"),
        SettingKey("keep_open", Schema.boolean, "no Content-Length; the socket stays open after the body"),
        SettingKey(
            "slow_headers",
            [
                "type": "object",
                "properties": ["slice_bytes": Schema.integer(min: 1), "pause": Schema.duration],
                "additionalProperties": false, "required": ["slice_bytes", "pause"],
            ],
            "write the head in slices: `{ slice_bytes: 1, pause: 100ms }`"),
        SettingKey("delay", Schema.duration, "wait before responding"),
    ]
    public static let examples = [
        "respond: { status: 503, retry_after: 1 }",
        "respond: { status: 200 }                       # an empty event stream that ends at once",
        "respond: { status: 200, keep_open: true, slow_headers: { slice_bytes: 1, pause: 200ms } }",
    ]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perConnection

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> RespondFault {
        var r = RespondFault(status: try m.required("status").int(in: 200...599))
        r.reason = try m["reason"]?.string("a string")
        r.retryAfter = try m["retry_after"]?.string("seconds or an HTTP date")
        r.contentType = try m["content_type"].map { v throws(M.Value.Failure) in v.isNull ? "" : try v.string("a string") }
        if let h = m["headers"] {
            let hm = try h.map("headers")
            for name in hm.keys {
                r.headers.append(HeaderField(name: name, value: try hm[name]!.string("a header value")))
            }
        }
        r.body = Array((try m["body"]?.string("a string") ?? "").utf8)
        r.keepOpen = try m["keep_open"]?.bool() ?? false
        if let s = m["slow_headers"] {
            let sm = try s.map("slow_headers")
            try sm.check(allowed: ["slice_bytes", "pause"])
            r.slowHeaders = .init(bytes: try sm.required("slice_bytes").int(in: 1...Int.max), pause: try sm.required("pause").nanos())
        }
        r.delay = try m["delay"]?.nanos() ?? 0
        return r
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(RespondStage(self)) }
}

extension Fault {
    public static func respond(_ f: RespondFault) -> Fault { Fault(f) }
}
