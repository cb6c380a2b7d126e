/// How the body of a message is delimited (RFC 9112 6.3).
public enum BodyFraming: Sendable, Equatable, Hashable {
    /// No body at all (HEAD responses, 1xx/204/304, requests without Content-Length or Transfer-Encoding).
    case none
    /// Exactly this many bytes (may be 0).
    case contentLength(UInt64)
    /// The chunked transfer coding; decode with `ChunkedDecoder` to find the end.
    case chunked
    /// Everything until the server closes the connection (responses only).
    case untilClose
}

/// The analysis of Content-Length and Transfer-Encoding shared by requests and responses.
enum FramingFields {
    /// The Content-Length value, nil when absent. Throws when any field is not a list of digits or the
    /// list elements differ; repeated identical values ("5, 5", or two fields of 5) count as one (RFC 9110 8.6).
    static func contentLength(_ headers: HTTPHeaders) throws(HTTPParseError) -> UInt64? {
        var result: UInt64?
        for field in headers.fields where ASCII.equalsIgnoringCase(field.name, "Content-Length") {
            try ASCII.forEachListElement(field.value) { element throws(HTTPParseError) in
                guard !element.isEmpty else { throw .badRequest("invalid Content-Length") }
                var value: UInt64 = 0
                for b in element.utf8 {
                    guard ASCII.isDigit(b) else { throw .badRequest("invalid Content-Length") }
                    let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt64(b - 0x30))
                    if o1 || o2 { throw .badRequest("Content-Length too large") }
                    value = sum
                }
                if let result, result != value { throw .badRequest("differing Content-Length values") }
                result = value
            }
        }
        return result
    }

    /// Rewrites repeated framing fields into one field each, so the head a proxy forwards can be read only
    /// one way (RFC 9112 6.3, RFC 9110 8.6; the parsers call this on every head):
    /// - A valid Content-Length becomes one field with the value in plain decimal where the first one was:
    ///   `5, 5`, two `Content-Length: 5` lines, and `005` all become `Content-Length: 5` (a next hop that
    ///   read a leading 0 as octal, or only one of several fields, would frame the body another way).
    ///   Differing or malformed values are left as they are: `bodyFraming` rejects them (400 for a request,
    ///   502 from the proxy for a response).
    /// - Several Transfer-Encoding fields become one, their lists joined in order (RFC 9110 5.3), so a
    ///   recipient that reads only the first or the last field sees the same codings.
    static func fold(_ headers: inout HTTPHeaders) {
        var lengthFields = 0, codingFields = 0
        var lengthName = "", codingName = ""
        var lengthIsPlain = true
        for field in headers.fields {
            if ASCII.equalsIgnoringCase(field.name, "Content-Length") {
                if lengthFields == 0 { lengthName = field.name }
                lengthFields += 1
                // Plain: "0" or digits without a leading zero.
                let v = field.value.utf8
                if v.contains(where: { !ASCII.isDigit($0) }) || (v.count > 1 && v.first == 0x30) { lengthIsPlain = false }
            } else if ASCII.equalsIgnoringCase(field.name, "Transfer-Encoding") {
                if codingFields == 0 { codingName = field.name }
                codingFields += 1
            }
        }
        if lengthFields > 1 || !lengthIsPlain, let length = try? contentLength(headers) {
            headers.set(lengthName, String(length))
        }
        if codingFields > 1 {
            // Trimmed like a parsed value, so the folded head serializes and parses back to itself.
            let joined = headers.values("Transfer-Encoding").joined(separator: ", ")
            headers.set(codingName, String(ASCII.trimmingOWS(Substring(joined))))
        }
    }

    /// Throws 400 for a field named like a framing field with `_` for `-` (`Content_Length`,
    /// `transfer_encoding`): servers that map `_` to `-` (CGI-style environments) would frame the message
    /// by a field the proxy does not (RFC 9110 leaves such names alone; nginx drops them by default).
    static func rejectLookalikes(_ headers: HTTPHeaders) throws(HTTPParseError) {
        for field in headers.fields where field.name.utf8.contains(0x5F) {
            let dashed = String(field.name.map { $0 == "_" ? "-" : $0 })
            if ASCII.equalsIgnoringCase(dashed, "Content-Length") || ASCII.equalsIgnoringCase(dashed, "Transfer-Encoding") {
                throw .badRequest("\(field.name) field (a framing field's name with '_' for '-') is ambiguous")
            }
        }
    }

    enum Codings {
        case absent
        /// chunked is the final coding, applied once.
        case chunkedLast
        /// Codings present but chunked is not the last one (or not there at all).
        case notChunkedLast
    }

    /// Transfer codings this module knows the name of (IANA registry); only `chunked` is decoded, the
    /// others are relayed as they are.
    static let knownCodings = ["chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"]

    /// Reads every Transfer-Encoding field as one list of codings (RFC 9112 6.1).
    /// Throws 400 for an empty list element, a coding that is not a token, parameters on chunked, or chunked
    /// applied more than once; 501 for an unknown coding when `rejectUnknown` (after the 400 checks).
    static func transferCodings(_ headers: HTTPHeaders, rejectUnknown: Bool) throws(HTTPParseError) -> Codings {
        var present = false
        var chunkedCount = 0
        var lastIsChunked = false
        var unknown = false
        for field in headers.fields where ASCII.equalsIgnoringCase(field.name, "Transfer-Encoding") {
            present = true
            try ASCII.forEachListElement(field.value) { element throws(HTTPParseError) in
                // transfer-coding = token *( OWS ";" OWS transfer-parameter )
                var name = element
                if let semicolon = element.utf8.firstIndex(of: ASCII.semicolon) {
                    name = ASCII.trimmingOWS(element[..<semicolon])
                }
                guard !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenChar) else {
                    throw .badRequest("invalid Transfer-Encoding")
                }
                let isChunked = ASCII.equalsIgnoringCase(name.utf8, "chunked")
                if isChunked {
                    if name.utf8.count != element.utf8.count { throw .badRequest("parameters on chunked") }
                    chunkedCount += 1
                } else if !knownCodings.contains(where: { ASCII.equalsIgnoringCase(name.utf8, $0) }) {
                    unknown = true
                }
                lastIsChunked = isChunked
            }
        }
        guard present else { return .absent }
        if chunkedCount > 1 { throw .badRequest("chunked applied more than once") }
        if lastIsChunked {
            if unknown && rejectUnknown { throw HTTPParseError(status: 501, reason: "unknown transfer coding") }
            return .chunkedLast
        }
        return .notChunkedLast
    }
}
