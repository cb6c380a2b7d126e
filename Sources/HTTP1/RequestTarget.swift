/// The four forms of request-target (RFC 9112 3.2).
public enum RequestTarget: Sendable, Equatable, Hashable {
    /// `/a/b?x=1`: path `/a/b`, query `x=1` (nil when there is no `?`, "" for a bare `?`).
    case origin(path: String, query: String?)
    /// `http://h:5000/x?y`: scheme lowercased ("http" or "https"), authority as sent (`h:5000`), host as sent
    /// (IPv6 keeps its brackets, `[::1]`), port (default 80/443 when absent or empty), and the path and query
    /// (`/` when the URI has no path).
    case absolute(scheme: String, authority: String, host: String, port: Int, pathAndQuery: String)
    /// `h:443` for CONNECT; the port is required.
    case authority(host: String, port: Int)
    /// `*` for OPTIONS.
    case asterisk

    /// Classifies `target` (already known to be visible ASCII when it comes from `HeadParser`).
    ///
    /// Throws 400 when the form does not fit the method (CONNECT needs authority-form, `*` needs OPTIONS,
    /// authority-form is only for CONNECT), for a fragment (`#`), userinfo (`user@`), an empty host, a port
    /// that is not 1...65535, and schemes other than http and https in absolute-form.
    public static func parse(_ target: String, method: String) throws(HTTPParseError) -> RequestTarget {
        let bytes = Array(target.utf8)
        guard !bytes.isEmpty else { throw .badRequest("empty request target") }
        if bytes.contains(0x23) { throw .badRequest("fragment in request target") }
        if method == "CONNECT" {
            let parsed = try Authority.parse(bytes)
            guard !parsed.host.isEmpty, let port = parsed.port else {
                throw .badRequest("CONNECT needs host:port as its target")
            }
            return .authority(host: parsed.host, port: port)
        }
        if bytes == [0x2A] {
            guard method == "OPTIONS" else { throw .badRequest("asterisk target is only for OPTIONS") }
            return .asterisk
        }
        if bytes[0] == ASCII.slash {
            if let q = bytes.firstIndex(of: ASCII.question) {
                return .origin(path: String(decoding: bytes[..<q], as: UTF8.self),
                               query: String(decoding: bytes[(q + 1)...], as: UTF8.self))
            }
            return .origin(path: target, query: nil)
        }
        let uri = try AbsoluteURI.parse(bytes)
        return .absolute(scheme: uri.scheme, authority: uri.authority, host: uri.host, port: uri.port, pathAndQuery: uri.rest.isEmpty ? "/" : (uri.rest.hasPrefix("?") ? "/" + uri.rest : uri.rest))
    }
}

/// `host [ ":" port ]` (RFC 3986 3.2.2–3.2.3), no userinfo.
enum Authority {
    /// The host as written (may be empty; IPv6 keeps its brackets) and the port (nil when absent or empty).
    static func parse(_ bytes: some Collection<UInt8>) throws(HTTPParseError) -> (host: String, port: Int?) {
        let bytes = Array(bytes)
        // RFC 9110 4.2.4: userinfo is deprecated in http(s) URIs and treated as an error here.
        if bytes.contains(0x40) { throw .badRequest("userinfo in authority") }
        var i = 0
        if bytes.first == 0x5B {  // "[" IPv6address "]"
            guard let close = bytes.firstIndex(of: 0x5D), close > 1 else { throw .badRequest("invalid IPv6 host") }
            for b in bytes[1..<close] where !(ASCII.hexValue(b) != nil || b == ASCII.colon || b == ASCII.dot) {
                throw .badRequest("invalid IPv6 host")
            }
            i = close + 1
        } else {
            while i < bytes.count && bytes[i] != ASCII.colon {
                let b = bytes[i]
                guard isRegNameChar(b) else { throw .badRequest("invalid character in host") }
                if b == 0x25 {  // pct-encoded
                    guard i + 2 < bytes.count, ASCII.hexValue(bytes[i + 1]) != nil, ASCII.hexValue(bytes[i + 2]) != nil else {
                        throw .badRequest("invalid percent-encoding in host")
                    }
                }
                i += 1
            }
        }
        let host = String(decoding: bytes[..<i], as: UTF8.self)
        if i == bytes.count { return (host, nil) }
        guard bytes[i] == ASCII.colon else { throw .badRequest("invalid character after host") }
        let digits = bytes[(i + 1)...]
        if digits.isEmpty { return (host, nil) }  // RFC 3986 3.2.3: an empty port is the default port
        guard digits.count <= 5, digits.allSatisfy(ASCII.isDigit) else { throw .badRequest("invalid port") }
        let port = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard (1...65535).contains(port) else { throw .badRequest("invalid port") }
        return (host, port)
    }

    /// unreserved / pct-encoded ("%") / sub-delims
    static func isRegNameChar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: return true
        case 0x25: return true
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: return true
        default: return false
        }
    }
}

/// `scheme "://" authority rest` for http and https.
struct AbsoluteURI {
    var scheme: String
    var authority: String
    var host: String
    var port: Int
    /// Everything after the authority: "", "/path...", or "?query".
    var rest: String

    static func parse(_ bytes: [UInt8]) throws(HTTPParseError) -> AbsoluteURI {
        guard let colon = bytes.firstIndex(of: ASCII.colon), colon > 0 else { throw .badRequest("invalid request target") }
        let scheme = String(decoding: bytes[..<colon].map(ASCII.lower), as: UTF8.self)
        let defaultPort: Int
        switch scheme {
        case "http": defaultPort = 80
        case "https": defaultPort = 443
        default:
            if bytes[..<colon].allSatisfy({ ASCII.isTokenChar($0) }) && bytes[colon...].starts(with: "://".utf8) {
                throw .badRequest("unsupported URI scheme")
            }
            throw .badRequest("invalid request target")
        }
        guard bytes[colon...].starts(with: "://".utf8) else { throw .badRequest("invalid request target") }
        let authorityStart = colon + 3
        var end = authorityStart
        while end < bytes.count && bytes[end] != ASCII.slash && bytes[end] != ASCII.question && bytes[end] != 0x23 { end += 1 }
        let parsed = try Authority.parse(bytes[authorityStart..<end])
        guard !parsed.host.isEmpty else { throw .badRequest("empty host") }  // RFC 9110 4.2.1
        return AbsoluteURI(
            scheme: scheme,
            authority: String(decoding: bytes[authorityStart..<end], as: UTF8.self),
            host: parsed.host,
            port: parsed.port ?? defaultPort,
            rest: String(decoding: bytes[end...], as: UTF8.self))
    }
}
