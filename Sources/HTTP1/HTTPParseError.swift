/// Why bytes are not an acceptable HTTP/1 message, with the status a server answers.
///
/// `status` is one of 400 (Bad Request), 414 (URI Too Long), 431 (Request Header Fields Too Large),
/// 501 (Not Implemented: unknown transfer coding), 505 (HTTP Version Not Supported).
/// A proxy that gets one of these while parsing an *upstream response* answers 502 instead.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    /// Short human text, e.g. "both Content-Length and Transfer-Encoding".
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    static func badRequest(_ reason: String) -> HTTPParseError { .init(status: 400, reason: reason) }

    public var description: String { "\(status) \(HTTPParseError.statusText(status)): \(reason)" }

    /// The standard reason phrase for `status`.
    public static func statusText(_ status: Int) -> String { HTTPStatus.reasonPhrase(status) }

    /// A complete HTTP/1.1 response for this error: the status, `Content-Type: text/plain`,
    /// `Content-Length`, `Connection: close`, and `reason` plus LF as the body.
    public func responseBytes() -> [UInt8] {
        let body = Array((reason + "\n").utf8)
        let head = ResponseHead(
            version: .http11, status: status, reason: HTTPParseError.statusText(status),
            headers: HTTPHeaders([
                HTTPField(name: "Content-Type", value: "text/plain; charset=utf-8"),
                HTTPField(name: "Content-Length", value: String(body.count)),
                HTTPField(name: "Connection", value: "close"),
            ]))
        return head.serialized() + body
    }
}
