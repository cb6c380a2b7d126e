import CLibevent
import Glibc

/// A resolved IPv4/IPv6 socket address.
public struct SocketAddress: @unchecked Sendable, CustomStringConvertible {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    public struct ResolveError: Error, CustomStringConvertible {
        public let host: String
        public let reason: String
        public var description: String { "cannot resolve \(host): \(reason)" }
    }

    /// Resolves `host` (a name, an IPv4 literal, or an IPv6 literal with or without brackets).
    /// Blocking `getaddrinfo`: used for configured upstreams and loopback names, where it is immediate.
    public static func resolve(host: String, port: Int) throws -> SocketAddress {
        var bare = host
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(bare, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw ResolveError(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }
        var address = SocketAddress()
        withUnsafeMutableBytes(of: &address.storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        address.length = first.pointee.ai_addrlen
        return address
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    init() {}

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The numeric host (no port), e.g. "127.0.0.1" or "::1".
    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = withSockAddr { sa, len in
            getnameinfo(sa, len, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
        }
        return rc == 0 ? String(cString: buffer) : "?"
    }

    public var port: Int {
        withUnsafeBytes(of: storage) { raw -> Int in
            let family = raw.load(as: sa_family_t.self)
            if family == sa_family_t(AF_INET) {
                return Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            } else if family == sa_family_t(AF_INET6) {
                return Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            }
            return 0
        }
    }

    /// 127.0.0.0/8 or ::1, also as an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`).
    public var isLoopback: Bool {
        let b = ip
        if b.count == 4 { return b[0] == 127 }
        return b.count == 16 && b.prefix(15).allSatisfy { $0 == 0 } && b[15] == 1
    }

    public var description: String {
        let h = host
        return h.contains(":") ? "[\(h)]:\(port)" : "\(h):\(port)"
    }
}
