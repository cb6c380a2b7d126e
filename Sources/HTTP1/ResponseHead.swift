/// A parsed status line and header section.
public struct ResponseHead: Sendable, Equatable {
    public var version: HTTPVersion
    /// 100...599.
    public var status: Int
    /// The reason phrase, possibly empty.
    public var reason: String
    public var headers: HTTPHeaders

    public init(version: HTTPVersion = .http11, status: Int, reason: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Whether the server keeps the connection after this response (same rule as requests:
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`).
    /// A response framed `.untilClose` ends the connection whatever this says.
    public var keepAlive: Bool { KeepAlive.decide(version: version, headers: headers) }

    /// How the response body is delimited (RFC 9112 6.3, response rules), given the request's method.
    ///
    /// - `.none` for a response to HEAD, any 1xx, 204, 304, and a 2xx to CONNECT.
    /// - `.chunked` when Transfer-Encoding's final coding is chunked; `.untilClose` for other codings.
    /// - `.contentLength(n)` for a valid Content-Length; `.untilClose` when neither field is present.
    ///
    /// Throws (the proxy answers 502) for Transfer-Encoding with Content-Length, Transfer-Encoding in an
    /// HTTP/1.0 response (RFC 9112 6.1: faulty framing), a malformed Transfer-Encoding list or chunked
    /// applied twice, a malformed or conflicting Content-Length, and a `Content_Length` or `Transfer_Encoding`
    /// field. Unknown codings are not an error here:
    /// the proxy relays the body as it is.
    public func bodyFraming(requestMethod: String) throws(HTTPParseError) -> BodyFraming {
        if requestMethod == "HEAD" || (100...199).contains(status) || status == 204 || status == 304 { return .none }
        if requestMethod == "CONNECT" && (200...299).contains(status) { return .none }
        try FramingFields.rejectLookalikes(headers)
        if headers.contains("Transfer-Encoding") {
            if headers.contains("Content-Length") { throw .badRequest("both Content-Length and Transfer-Encoding") }
            if version == .http10 { throw .badRequest("Transfer-Encoding in an HTTP/1.0 response") }
            switch try FramingFields.transferCodings(headers, rejectUnknown: false) {
            case .chunkedLast: return .chunked
            case .notChunkedLast, .absent: return .untilClose
            }
        }
        if let length = try FramingFields.contentLength(headers) { return .contentLength(length) }
        return .untilClose
    }

    /// `HTTP/x.y SP 3DIGIT SP reason CRLF` (the SP is written even when the reason is empty), then each
    /// field as `Name: value CRLF` in order, then CRLF.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Serializer.estimate(headers) + reason.utf8.count + 15)
        Serializer.appendVersion(version, to: &out)
        out.append(ASCII.sp)
        let digits = String(status).utf8
        if digits.count < 3 { out.append(contentsOf: repeatElement(UInt8(0x30), count: 3 - digits.count)) }
        out.append(contentsOf: digits)
        out.append(ASCII.sp)
        out.append(contentsOf: reason.utf8)
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        Serializer.appendFields(headers, to: &out)
        return out
    }
}
