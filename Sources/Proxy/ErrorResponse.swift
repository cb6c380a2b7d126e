import HTTP1

/// A response Sputter makes itself (errors, refusals): short text body naming the cause,
/// `Sputter-Error` naming the kind for machines, and `Connection: close`.
struct ErrorResponse: Error {
    var status: Int
    var kind: String
    var message: String
    var extraHeaders: [HTTPField] = []

    static func reason(for status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }

    func serialized(headOnly: Bool = false) -> [UInt8] {
        let body = Array("sputter: \(message)\n".utf8)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        headers.add("Content-Length", String(body.count))
        headers.add("Connection", "close")
        headers.add("Sputter-Error", kind)
        for field in extraHeaders { headers.add(field.name, field.value) }
        let head = ResponseHead(version: .http11, status: status, reason: Self.reason(for: status), headers: headers)
        return head.serialized() + (headOnly ? [] : body)
    }
}
