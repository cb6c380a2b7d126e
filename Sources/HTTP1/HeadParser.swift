/// The outcome of looking at the bytes at the start of a connection's buffer.
public enum HeadParseResult<Head: Sendable>: Sendable {
    /// The head has not ended yet (and nothing seen so far is invalid or over a limit): call again with more bytes.
    case incomplete
    /// A whole head. `headLength` counts every byte it took from the start of the buffer (including
    /// ignored empty lines before a request line); the bytes after it are body or the next message.
    case complete(Head, headLength: Int)
}

extension HeadParseResult: Equatable where Head: Equatable {}

/// Strict, stateless RFC 9112 message-head parser.
///
/// Call it with the bytes at the start of the connection's buffer each time more arrive. It returns
/// `.incomplete` until the empty line that ends the head, and throws as soon as the bytes can never
/// become a valid head, including when a limit is exceeded while the head is still incomplete, so a
/// caller never needs to buffer more than the limits allow.
///
/// Every check is made when a line is complete, limits first, so feeding a message one byte at a time
/// throws the same error as feeding it whole (only a line still too long is reported before its end).
///
/// Accepted: CRLF or a bare LF as line terminator (RFC 9112 2.2); empty lines before a request line
/// (at most `maxRequestLineBytes` of them). Rejected with 400: a bare CR anywhere, obs-fold, whitespace
/// before a colon, an empty or non-token field name, control characters (other than HTAB) in a field
/// value, field values or reason phrases that are not valid UTF-8 (obs-text in another charset; a
/// String could not hold it byte-exact), a request target with anything but visible ASCII,
/// HTTP/1.1 requests without exactly one Host field, a Host that is not `host[:port]`.
/// Framing fields are folded (see `FramingFields.fold`): a repeated Content-Length with one value comes out
/// as a single `Content-Length` field, several Transfer-Encoding fields as one list, so the head the proxy
/// serializes and forwards carries one value each. Judging them is left to `RequestHead.bodyFraming()` and
/// `ResponseHead.bodyFraming(requestMethod:)`.
public enum HeadParser {
    public static func parseRequest(
        _ bytes: UnsafeRawBufferPointer, limits: HTTPLimits = .init()
    ) throws(HTTPParseError) -> HeadParseResult<RequestHead> {
        let n = bytes.count
        var i = 0
        // RFC 9112 2.2: a server SHOULD ignore at least one empty line received before the request-line.
        while true {
            if i < n && bytes[i] == ASCII.lf {
                i += 1
            } else if i + 1 < n && bytes[i] == ASCII.cr && bytes[i + 1] == ASCII.lf {
                i += 2
            } else {
                break
            }
        }
        if i > limits.maxRequestLineBytes { throw .badRequest("too many empty lines before the request line") }

        guard let line = Line.next(in: bytes, from: i) else {
            let partial = n - i - (n > i && bytes[n - 1] == ASCII.cr ? 1 : 0)
            if partial > limits.maxRequestLineBytes { throw HTTPParseError(status: 414, reason: "request line too long") }
            return .incomplete
        }
        if line.contentEnd - line.start > limits.maxRequestLineBytes {
            throw HTTPParseError(status: 414, reason: "request line too long")
        }
        if line.hasBareCR { throw .badRequest("bare CR in request line") }
        let requestLine = try parseRequestLine(bytes, line)

        var ranges: [FieldRange] = []
        guard let headLength = try scanFields(bytes, from: line.next, limits: limits, into: &ranges) else {
            return .incomplete
        }
        let headers = try buildHeaders(bytes, ranges)
        let head = RequestHead(
            method: bytes.string(line.start, requestLine.methodEnd)!,
            target: bytes.string(requestLine.targetStart, requestLine.targetEnd)!,
            version: requestLine.version,
            headers: headers)
        try checkHost(head)
        return .complete(head, headLength: headLength)
    }

    public static func parseResponse(
        _ bytes: UnsafeRawBufferPointer, limits: HTTPLimits = .init()
    ) throws(HTTPParseError) -> HeadParseResult<ResponseHead> {
        let n = bytes.count
        // No empty lines are skipped before a status line: RFC 9112 2.2 allows that only for requests.
        guard let line = Line.next(in: bytes, from: 0) else {
            let partial = n - (n > 0 && bytes[n - 1] == ASCII.cr ? 1 : 0)
            // A status line has no limit of its own in the RFC; maxRequestLineBytes bounds it here.
            if partial > limits.maxRequestLineBytes { throw .badRequest("status line too long") }
            return .incomplete
        }
        if line.contentEnd - line.start > limits.maxRequestLineBytes { throw .badRequest("status line too long") }
        if line.hasBareCR { throw .badRequest("bare CR in status line") }
        let statusLine = try parseStatusLine(bytes, line)

        var ranges: [FieldRange] = []
        guard let headLength = try scanFields(bytes, from: line.next, limits: limits, into: &ranges) else {
            return .incomplete
        }
        let headers = try buildHeaders(bytes, ranges)
        guard let reason = bytes.string(statusLine.reasonStart, line.contentEnd, mayBeNonASCII: statusLine.reasonNonASCII) else {
            throw .badRequest("reason phrase is not valid UTF-8")
        }
        let head = ResponseHead(version: statusLine.version, status: statusLine.status, reason: reason, headers: headers)
        return .complete(head, headLength: headLength)
    }

    public static func parseRequest(_ bytes: [UInt8], limits: HTTPLimits = .init()) throws(HTTPParseError) -> HeadParseResult<RequestHead> {
        try withBytes(bytes) { buffer throws(HTTPParseError) in try parseRequest(buffer, limits: limits) }
    }

    public static func parseResponse(_ bytes: [UInt8], limits: HTTPLimits = .init()) throws(HTTPParseError) -> HeadParseResult<ResponseHead> {
        try withBytes(bytes) { buffer throws(HTTPParseError) in try parseResponse(buffer, limits: limits) }
    }

    // MARK: - Internals

    private static func withBytes<R>(
        _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(HTTPParseError) -> R
    ) throws(HTTPParseError) -> R {
        let result: Result<R, HTTPParseError> = bytes.withUnsafeBytes { buffer in
            do throws(HTTPParseError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// One line of the head: `[start, contentEnd)` is the content, `next` is the index after its LF.
    struct Line {
        var start: Int
        var contentEnd: Int
        var next: Int
        /// A CR that is not immediately before the terminating LF.
        var hasBareCR: Bool

        /// The line starting at `start`, or nil when its LF has not arrived yet.
        @inline(__always)
        static func next(in bytes: UnsafeRawBufferPointer, from start: Int) -> Line? {
            var j = start
            var crCount = 0
            let n = bytes.count
            while j < n {
                let b = bytes[j]
                if b == ASCII.lf {
                    let endsWithCR = j > start && bytes[j - 1] == ASCII.cr
                    return Line(
                        start: start, contentEnd: endsWithCR ? j - 1 : j, next: j + 1,
                        hasBareCR: crCount > (endsWithCR ? 1 : 0))
                }
                if b == ASCII.cr { crCount += 1 }
                j += 1
            }
            return nil
        }
    }

    struct FieldRange {
        var nameStart: Int
        var nameEnd: Int
        var valueStart: Int
        var valueEnd: Int
        var valueNonASCII: Bool
    }

    struct RequestLine {
        var methodEnd: Int
        var targetStart: Int
        var targetEnd: Int
        var version: HTTPVersion
    }

    struct StatusLine {
        var version: HTTPVersion
        var status: Int
        var reasonStart: Int
        var reasonNonASCII: Bool
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 3)
    static func parseRequestLine(_ bytes: UnsafeRawBufferPointer, _ line: Line) throws(HTTPParseError) -> RequestLine {
        let end = line.contentEnd
        var j = line.start
        while j < end && ASCII.isTokenChar(bytes[j]) { j += 1 }
        if j == line.start { throw .badRequest("invalid method") }
        guard j < end, bytes[j] == ASCII.sp else {
            throw .badRequest(j == end ? "malformed request line" : "invalid method")
        }
        let methodEnd = j
        let targetStart = j + 1
        j = targetStart
        // RFC 3986 URI characters are all visible ASCII; anything else (SP, CTL, DEL, non-ASCII) ends or breaks it.
        while j < end, case 0x21...0x7E = bytes[j] { j += 1 }
        if j == targetStart { throw .badRequest("empty request target") }
        guard j < end, bytes[j] == ASCII.sp else {
            throw .badRequest(j == end ? "malformed request line" : "invalid character in request target")
        }
        let version = try parseVersion(bytes, j + 1, end)
        return RequestLine(methodEnd: methodEnd, targetStart: targetStart, targetEnd: j, version: version)
    }

    /// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4)
    static func parseStatusLine(_ bytes: UnsafeRawBufferPointer, _ line: Line) throws(HTTPParseError) -> StatusLine {
        let end = line.contentEnd
        var j = line.start
        while j < end && bytes[j] != ASCII.sp { j += 1 }
        let version = try parseVersion(bytes, line.start, j)
        guard j + 4 <= end, ASCII.isDigit(bytes[j + 1]), ASCII.isDigit(bytes[j + 2]), ASCII.isDigit(bytes[j + 3]) else {
            throw .badRequest("invalid status code")
        }
        let status = Int(bytes[j + 1] - 0x30) * 100 + Int(bytes[j + 2] - 0x30) * 10 + Int(bytes[j + 3] - 0x30)
        if status < 100 || status > 599 { throw .badRequest("invalid status code") }
        j += 4
        // Lenient on purpose: some real servers send "HTTP/1.1 200" with no SP before the (empty) reason.
        // RFC 9112 requires the SP; accepting its absence cannot change how the message is framed.
        if j == end { return StatusLine(version: version, status: status, reasonStart: end, reasonNonASCII: false) }
        guard bytes[j] == ASCII.sp else { throw .badRequest("invalid status code") }
        j += 1
        let reasonStart = j
        var nonASCII = false
        while j < end {
            let b = bytes[j]
            if ASCII.isForbiddenInFieldValue(b) { throw .badRequest("invalid character in reason phrase") }
            if b >= 0x80 { nonASCII = true }
            j += 1
        }
        return StatusLine(version: version, status: status, reasonStart: reasonStart, reasonNonASCII: nonASCII)
    }

    /// HTTP-version = "HTTP/" DIGIT "." DIGIT; 1.0 and 1.1 are supported, other well-formed versions get 505.
    static func parseVersion(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) throws(HTTPParseError) -> HTTPVersion {
        guard end - start == 8,
              bytes[start] == 0x48, bytes[start + 1] == 0x54, bytes[start + 2] == 0x54, bytes[start + 3] == 0x50,
              bytes[start + 4] == ASCII.slash, ASCII.isDigit(bytes[start + 5]), bytes[start + 6] == ASCII.dot,
              ASCII.isDigit(bytes[start + 7])
        else { throw .badRequest("invalid HTTP version") }
        let major = Int(bytes[start + 5] - 0x30), minor = Int(bytes[start + 7] - 0x30)
        guard major == 1, minor <= 1 else { throw HTTPParseError(status: 505, reason: "HTTP version not supported") }
        return HTTPVersion(major: major, minor: minor)
    }

    /// Walks the field lines starting at `headerStart`, validating each complete line, and returns the
    /// head length (index after the empty line), or nil when the empty line has not arrived yet.
    static func scanFields(
        _ bytes: UnsafeRawBufferPointer, from headerStart: Int, limits: HTTPLimits, into ranges: inout [FieldRange]
    ) throws(HTTPParseError) -> Int? {
        var i = headerStart
        while true {
            guard let line = Line.next(in: bytes, from: i) else {
                if bytes.count - headerStart > limits.maxHeaderBytes { throw tooLarge("header section too large") }
                return nil
            }
            if line.next - headerStart > limits.maxHeaderBytes { throw tooLarge("header section too large") }
            if line.hasBareCR { throw .badRequest("bare CR in header section") }
            if line.contentEnd == line.start { return line.next }
            if ASCII.isWhitespace(bytes[line.start]) {
                // RFC 9112 5.2 (obs-fold) and 2.2 (whitespace between start-line and first field): reject.
                throw .badRequest(ranges.isEmpty ? "whitespace before the first header field" : "obsolete line folding")
            }
            if ranges.count == limits.maxHeaderCount { throw tooLarge("too many header fields") }
            ranges.append(try parseFieldLine(bytes, line))
            i = line.next
        }
    }

    @inline(__always)
    static func tooLarge(_ reason: String) -> HTTPParseError { HTTPParseError(status: 431, reason: reason) }

    /// field-line = field-name ":" OWS field-value OWS (RFC 9112 5)
    static func parseFieldLine(_ bytes: UnsafeRawBufferPointer, _ line: Line) throws(HTTPParseError) -> FieldRange {
        let end = line.contentEnd
        var j = line.start
        while j < end && ASCII.isTokenChar(bytes[j]) { j += 1 }
        guard j < end, bytes[j] == ASCII.colon else {
            if j == end { throw .badRequest("missing colon in field line") }
            if ASCII.isWhitespace(bytes[j]) {
                var k = j
                while k < end && ASCII.isWhitespace(bytes[k]) { k += 1 }
                if k < end && bytes[k] == ASCII.colon { throw .badRequest("whitespace between field name and colon") }
            }
            throw .badRequest("invalid character in field name")
        }
        if j == line.start { throw .badRequest("empty field name") }
        let nameEnd = j
        var valueStart = j + 1
        while valueStart < end && ASCII.isWhitespace(bytes[valueStart]) { valueStart += 1 }
        var valueEnd = end
        while valueEnd > valueStart && ASCII.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
        var nonASCII = false
        var k = valueStart
        while k < valueEnd {
            let b = bytes[k]
            // RFC 9110 5.5: NUL, CR and LF are invalid and dangerous; other controls are outside field-value too.
            if ASCII.isForbiddenInFieldValue(b) { throw .badRequest("invalid character in field value") }
            if b >= 0x80 { nonASCII = true }
            k += 1
        }
        return FieldRange(nameStart: line.start, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd, valueNonASCII: nonASCII)
    }

    static func buildHeaders(_ bytes: UnsafeRawBufferPointer, _ ranges: [FieldRange]) throws(HTTPParseError) -> HTTPHeaders {
        var fields: [HTTPField] = []
        fields.reserveCapacity(ranges.count)
        for r in ranges {
            guard let value = bytes.string(r.valueStart, r.valueEnd, mayBeNonASCII: r.valueNonASCII) else {
                throw .badRequest("field value is not valid UTF-8")
            }
            fields.append(HTTPField(name: bytes.string(r.nameStart, r.nameEnd)!, value: value))
        }
        var headers = HTTPHeaders(fields)
        FramingFields.fold(&headers)
        return headers
    }

    /// RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, any request with more than one Host
    /// field line, or a Host with an invalid value.
    static func checkHost(_ head: RequestHead) throws(HTTPParseError) {
        var host: String?
        for field in head.headers.fields where ASCII.equalsIgnoringCase(field.name, "Host") {
            if host != nil { throw .badRequest("more than one Host header") }
            host = field.value
        }
        guard let host else {
            if head.version == .http11 { throw .badRequest("missing Host header") }
            return
        }
        // Host = uri-host [ ":" port ]; an empty value is allowed (RFC 9110 7.2).
        if !host.isEmpty {
            do throws(HTTPParseError) {
                let parsed = try Authority.parse(Array(host.utf8))
                if parsed.host.isEmpty { throw .badRequest("") }
            } catch {
                throw .badRequest("invalid Host header")
            }
        }
    }
}
