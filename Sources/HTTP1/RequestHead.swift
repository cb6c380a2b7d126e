/// A parsed request line and header section.
public struct RequestHead: Sendable, Equatable {
    /// Case-sensitive token, e.g. "GET", "PATCH", "PROPFIND".
    public var method: String
    /// The request-target exactly as sent; see `RequestTarget.parse(_:method:)` for its form.
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: String, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// Whether the client wants the connection kept after this exchange (RFC 9112 9.3):
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (and no close).
    public var keepAlive: Bool { KeepAlive.decide(version: version, headers: headers) }

    /// How the request body is delimited (RFC 9112 6.3, request rules).
    ///
    /// - `.none` when neither Content-Length nor Transfer-Encoding is present.
    /// - `.contentLength(n)` for a valid Content-Length (also `0`).
    /// - `.chunked` when Transfer-Encoding's final coding is chunked.
    ///
    /// Throws 400 for Transfer-Encoding in an HTTP/1.0 request, Transfer-Encoding with Content-Length,
    /// a final coding other than chunked, chunked twice, a malformed or conflicting Content-Length,
    /// a `Content_Length` or `Transfer_Encoding` field; 501 for an unknown transfer coding.
    public func bodyFraming() throws(HTTPParseError) -> BodyFraming {
        try FramingFields.rejectLookalikes(headers)
        if headers.contains("Transfer-Encoding") {
            // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
            if version == .http10 { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            if headers.contains("Content-Length") { throw .badRequest("both Content-Length and Transfer-Encoding") }
            switch try FramingFields.transferCodings(headers, rejectUnknown: true) {
            case .chunkedLast: return .chunked
            case .notChunkedLast, .absent: throw .badRequest("final transfer coding is not chunked")
            }
        }
        if let length = try FramingFields.contentLength(headers) { return .contentLength(length) }
        return .none
    }

    /// `METHOD SP target SP HTTP/x.y CRLF`, then each field as `Name: value CRLF` in order, then CRLF.
    /// Writes `version` as it is: a proxy that wants to send its own version sets `.http11` first.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Serializer.estimate(headers) + method.utf8.count + target.utf8.count + 12)
        out.append(contentsOf: method.utf8)
        out.append(ASCII.sp)
        out.append(contentsOf: target.utf8)
        out.append(ASCII.sp)
        Serializer.appendVersion(version, to: &out)
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        Serializer.appendFields(headers, to: &out)
        return out
    }
}

enum KeepAlive {
    static func decide(version: HTTPVersion, headers: HTTPHeaders) -> Bool {
        if headers.containsToken("Connection", "close") { return false }
        if version == .http10 { return headers.containsToken("Connection", "keep-alive") }
        return version == .http11
    }
}

enum Serializer {
    static func estimate(_ headers: HTTPHeaders) -> Int {
        headers.fields.reduce(2) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    }

    static func appendVersion(_ version: HTTPVersion, to out: inout [UInt8]) {
        out.append(contentsOf: "HTTP/".utf8)
        out.append(contentsOf: String(version.major).utf8)
        out.append(ASCII.dot)
        out.append(contentsOf: String(version.minor).utf8)
    }

    static func appendFields(_ headers: HTTPHeaders, to out: inout [UInt8]) {
        for field in headers.fields {
            out.append(contentsOf: field.name.utf8)
            out.append(ASCII.colon)
            out.append(ASCII.sp)
            out.append(contentsOf: field.value.utf8)
            out.append(ASCII.cr)
            out.append(ASCII.lf)
        }
        out.append(ASCII.cr)
        out.append(ASCII.lf)
    }
}
