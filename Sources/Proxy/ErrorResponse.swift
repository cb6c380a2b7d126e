import HTTP1

/// A response Sputter makes itself (errors, refusals): short text body naming the cause,
/// `Sputter-Error` naming the kind for machines, and `Connection: close`.
struct ErrorResponse: Error {
    var status: Int
    var kind: String
    var message: String
    var extraHeaders: [HTTPField] = []

    func serialized(headOnly: Bool = false) -> [UInt8] {
        let body = Array("sputter: \(message)\n".utf8)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        headers.add("Content-Length", String(body.count))
        headers.add("Connection", "close")
        headers.add("Sputter-Error", kind)
        for field in extraHeaders { headers.add(field.name, field.value) }
        let head = ResponseHead(version: .http11, status: status, reason: HTTPStatus.reasonPhrase(status), headers: headers)
        return head.serialized() + (headOnly ? [] : body)
    }
}
