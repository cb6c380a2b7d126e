import EventLoop
import Faults

/// One `--allow-host` entry: a target a forward-proxy request (`GET http://host:port/…`) may name, on
/// any port or on one.
///
/// - an address (`10.0.0.7`, `::1`), a network (`10.0.0.0/8`, `fd00::/8`) or an address pattern
///   (`127.*`): matches IP-literal targets, and names that resolve to a matching address. An address
///   pattern never matches a name: `127.evil.example` is not `127.*`.
/// - a host name (`api.test`): that name, wherever it resolves.
/// - a name pattern (`*.internal`, `*`): names (and IP literals) that match, as long as they resolve to
///   an address that is not this host's (loopback, one of its interfaces, unspecified) or link-local,
///   unless an address entry allows that address too.
public struct AllowedTarget: Sendable, Equatable, CustomStringConvertible {
    public enum Pattern: Sendable, Equatable {
        case name(String)
        case nameGlob(String)
        case address([UInt8])
        case network([UInt8], prefixLength: Int)
        case addressGlob(String)
    }

    public var pattern: Pattern
    /// nil: any port.
    public var port: Int?
    public let description: String

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        description = text
        let bad = { (why: String) in
            ParseError(description: "'\(text)': \(why); expected a host name (api.test), a name pattern (*.internal), an address (10.0.0.7, ::1), a network (10.0.0.0/8) or an address pattern (127.*), with an optional :PORT ([::1]:8080 for IPv6)")
        }
        var host = text.lowercased()
        port = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw bad("no closing ']'") }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (1...65535).contains(p) else { throw bad("expected :PORT (1-65535) after ']'") }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw bad("the port must be 1-65535") }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw bad("no host") }
        if let slash = host.firstIndex(of: "/") {
            guard let ip = SocketAddress(numericHost: String(host[..<slash]), port: 0)?.ip,
                  let length = Int(host[host.index(after: slash)...]), (0...ip.count * 8).contains(length) else {
                throw bad("a network is ADDRESS/LENGTH (10.0.0.0/8, fd00::/8)")
            }
            pattern = .network(ip, prefixLength: length)
        } else if let ip = SocketAddress(numericHost: host, port: 0)?.ip {
            pattern = .address(ip)
        } else if host.contains(where: { "*?[".contains($0) }) {
            let addressLike = host.contains(":") || (host.contains(where: \.isNumber) && host.allSatisfy { "0123456789.*?[]!-".contains($0) })
            pattern = addressLike ? .addressGlob(host) : .nameGlob(host)
        } else {
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else { throw bad("not a host name") }
            pattern = .name(host)
        }
    }

    var isAddressEntry: Bool {
        switch pattern {
        case .address, .network, .addressGlob: return true
        case .name, .nameGlob: return false
        }
    }

    func matches(port: Int) -> Bool { self.port == nil || self.port == port }

    /// The target's own text matches: a name entry (exact or pattern) by name; an address entry by an IP literal.
    func matchesTarget(host: String, literal: [UInt8]?, port: Int) -> Bool {
        guard matches(port: port) else { return false }
        switch pattern {
        case .name(let name): return host == name
        case .nameGlob(let glob): return Glob(glob).matches(host)
        case .address, .network, .addressGlob: return literal.map { matchesAddress($0) } ?? false
        }
    }

    /// An address entry matches `ip` (name entries never do).
    func matchesAddress(_ ip: [UInt8]) -> Bool {
        switch pattern {
        case .address(let a): return a == ip
        case .network(let net, let length):
            guard net.count == ip.count else { return false }
            for bit in 0..<length where (net[bit / 8] ^ ip[bit / 8]) & (0x80 >> UInt8(bit % 8)) != 0 { return false }
            return true
        case .addressGlob(let glob): return Glob(glob).matches(SocketAddress(ip: ip, port: 0).host)
        case .name, .nameGlob: return false
        }
    }
}

/// Sputter's own listening sockets, which no request through the proxy may reach.
public struct OwnListeners: Sendable {
    public struct Listener: Sendable {
        /// "proxy port", "control API", "metrics"…
        public var role: String
        public var address: SocketAddress
    }

    public private(set) var listeners: [Listener] = []
    /// This host's interface addresses: a listener on 0.0.0.0 is reachable through any of them.
    var localIPs: [[UInt8]] = []

    public init() {}

    public mutating func add(_ role: String, _ address: SocketAddress) {
        if localIPs.isEmpty { localIPs = SocketAddress.localInterfaceAddresses().map(\.ip) }
        listeners.append(Listener(role: role, address: address))
    }

    /// An address of this host: loopback, unspecified, or one of its interfaces.
    func isThisHost(_ address: SocketAddress) -> Bool {
        address.isLoopback || address.isUnspecified || localIPs.contains(address.ip)
    }

    /// The listener a connection to `address` would reach, if it is one of ours.
    func listener(at address: SocketAddress) -> Listener? {
        listeners.first { $0.address.port == address.port && (isThisHost(address) || $0.address.ip == address.ip) }
    }
}

/// Where a request may go: the checks on a forward-proxy target's name (before any lookup) and on every
/// upstream address (after it). The configured upstreams' host:port are always allowed; `--allow-host`
/// entries add more; Sputter's own listeners are never allowed.
struct ForwardPolicy {
    var upstreams: [(host: String, port: Int)]
    var allowed: [AllowedTarget]
    var own: OwnListeners

    init(config: ProxyConfig) {
        upstreams = config.routes.map { (Self.bare($0.upstream.host), $0.upstream.port) }
        allowed = config.allowHosts
        own = config.ownListeners
    }

    static func bare(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return h
    }

    func isUpstream(host: String, port: Int) -> Bool {
        let h = Self.bare(host)
        return upstreams.contains { $0.host == h && $0.port == port }
    }

    /// Why a connection to `address` is refused when it is one of Sputter's own listeners.
    func ownListenerRefusal(_ address: SocketAddress, target: String) -> String? {
        guard let listener = own.listener(at: address) else { return nil }
        return "\(target) is Sputter's own \(listener.role) (\(listener.address)): requests through the proxy never reach Sputter's own listeners"
    }

    /// The addresses a target names without a lookup: an IP literal, or localhost.
    static func literalAddresses(host: String, port: Int) -> [SocketAddress]? {
        let h = bare(host)
        if h == "localhost" { return [SocketAddress(ip: [127, 0, 0, 1], port: port), SocketAddress(ip: Array(repeating: 0, count: 15) + [1], port: port)] }
        return SocketAddress(numericHost: h, port: port).map { [$0] }
    }

    /// Any request (origin-form routes too): nil when allowed, else the reason. Names are checked by `address`.
    func ownListenerCheck(host: String, port: Int) -> String? {
        for address in Self.literalAddresses(host: host, port: port) ?? [] {
            if let why = ownListenerRefusal(address, target: "\(host):\(port)") { return why }
        }
        return nil
    }

    /// A forward-proxy target, before any lookup: nil when allowed, else the reason.
    func nameCheck(host: String, port: Int) -> String? {
        if let why = ownListenerCheck(host: host, port: port) { return why }
        if isUpstream(host: host, port: port) { return nil }
        let h = Self.bare(host)
        let literal = SocketAddress(numericHost: h, port: port)?.ip
        if allowed.contains(where: { $0.matchesTarget(host: h, literal: literal, port: port) }) { return nil }
        let upstreamList = upstreams.map { $0.host.contains(":") ? "[\($0.host)]:\($0.port)" : "\($0.host):\($0.port)" }
        let extra = allowed.isEmpty ? "" : "; --allow-host: \(allowed.map(\.description).joined(separator: ", "))"
        return "forward-proxy requests to \(host):\(port) are not allowed; allowed: the upstreams (\(upstreamList.joined(separator: ", ")))\(extra) (see --allow-host)"
    }

    /// Every upstream connection, after the lookup: nil when `address` may be used for `host:port`, else the reason.
    func addressCheck(host: String, port: Int, address: SocketAddress) -> String? {
        if let why = ownListenerRefusal(address, target: "\(host):\(port) (\(address.host))") { return why }
        if isUpstream(host: host, port: port) { return nil }
        let h = Self.bare(host)
        let ip = address.ip
        let candidates = allowed.filter { $0.matches(port: port) }
        if candidates.contains(where: { $0.isAddressEntry && $0.matchesAddress(ip) }) { return nil }
        if candidates.contains(where: { $0.pattern == .name(h) }) { return nil }
        let special = own.isThisHost(address) || address.isLinkLocal
        if !special, candidates.contains(where: { if case .nameGlob(let g) = $0.pattern { return Glob(g).matches(h) } else { return false } }) {
            return nil
        }
        let why = special ? "an address of this host, link-local or unspecified, which a name pattern does not allow" : "outside the forward-proxy allow-list"
        return "\(host) resolves to \(address.host), \(why); allow the address itself with --allow-host \(address.host) if that is meant"
    }
}
