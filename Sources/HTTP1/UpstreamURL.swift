/// Where the proxy sends requests: `http://host[:port][/prefix]` or `https://…`.
public struct UpstreamURL: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// "http" or "https".
    public var scheme: String
    /// As written; IPv6 keeps its brackets (`[::1]`).
    public var host: String
    public var port: Int
    /// "" or a path prefix such as "/prefix" (never a trailing slash), to put before each request's path.
    public var basePath: String

    public init(scheme: String, host: String, port: Int, basePath: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses `http://h:5000/prefix/`. Throws (status 400, with a message naming the problem) for
    /// another scheme, a missing host, userinfo, a bad port, a query or a fragment, or anything but
    /// visible ASCII. A lone trailing slash is dropped: `http://h/` has basePath "".
    public init(parsing string: String) throws(HTTPParseError) {
        let bytes = Array(string.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .badRequest("upstream URL must be non-empty visible ASCII: \(string)")
        }
        let uri: AbsoluteURI
        do throws(HTTPParseError) {
            uri = try AbsoluteURI.parse(bytes)
        } catch {
            throw .badRequest("upstream URL must look like http://host[:port][/path] (\(error.reason)): \(string)")
        }
        if uri.rest.utf8.contains(ASCII.question) || uri.rest.utf8.contains(0x23) {
            throw .badRequest("upstream URL must not have a query or fragment: \(string)")
        }
        var path = Substring(uri.rest)
        while path.hasSuffix("/") { path = path.dropLast() }
        self.init(scheme: uri.scheme, host: uri.host, port: uri.port, basePath: String(path))
    }

    public var defaultPort: Int { scheme == "https" ? 443 : 80 }

    /// For the Host header: `host` when the port is the scheme's default, else `host:port`.
    public var authority: String { port == defaultPort ? host : "\(host):\(port)" }

    /// `scheme://authority basePath`
    public var description: String { "\(scheme)://\(authority)\(basePath)" }
}
