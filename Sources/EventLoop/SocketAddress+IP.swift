import CLibevent
import Glibc

/// IP-level facts about a `SocketAddress`, for checks such as "is this one of our own listeners"
/// or "may a forward-proxy request go there".
extension SocketAddress {
    /// A numeric host ("10.0.0.1", "::1", "[::1]") with `port`; nil when `host` is not an IP literal.
    /// Never touches DNS.
    public init?(numericHost host: String, port: Int) {
        var bare = host
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            self.init(ip: withUnsafeBytes(of: v4) { Array($0) }, port: port)
        } else if inet_pton(AF_INET6, bare, &v6) == 1 {
            self.init(ip: withUnsafeBytes(of: v6) { Array($0) }, port: port)
        } else {
            return nil
        }
    }

    /// An address from its 4 (IPv4) or 16 (IPv6) bytes, in network order.
    public init(ip: [UInt8], port: Int) {
        self.init()
        let networkPort = UInt16(truncatingIfNeeded: port).bigEndian
        if ip.count == 4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = networkPort
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: ip) }
            store(sin)
        } else {
            precondition(ip.count == 16, "an IP address has 4 or 16 bytes")
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = networkPort
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: ip) }
            store(sin6)
        }
    }

    private mutating func store<Address>(_ address: Address) {
        withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: address) { dst.copyMemory(from: $0) } }
        length = socklen_t(MemoryLayout<Address>.size)
    }

    /// The address bytes: 4 for IPv4 (an IPv4-mapped IPv6 address `::ffff:a.b.c.d` counts as IPv4),
    /// 16 for IPv6, empty for anything else.
    public var ip: [UInt8] {
        withUnsafeBytes(of: storage) { raw -> [UInt8] in
            let family = raw.load(as: sa_family_t.self)
            if family == sa_family_t(AF_INET) {
                var a = raw.load(as: sockaddr_in.self).sin_addr
                return withUnsafeBytes(of: &a) { Array($0) }
            } else if family == sa_family_t(AF_INET6) {
                var a6 = raw.load(as: sockaddr_in6.self).sin6_addr
                let bytes = withUnsafeBytes(of: &a6) { Array($0) }
                let mapped = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
                return mapped ? Array(bytes[12...]) : bytes
            }
            return []
        }
    }

    /// The same address with another port.
    public func with(port: Int) -> SocketAddress { SocketAddress(ip: ip, port: port) }

    /// 0.0.0.0 or :: (a connection to it reaches this host).
    public var isUnspecified: Bool { let b = ip; return !b.isEmpty && b.allSatisfy { $0 == 0 } }

    /// 169.254.0.0/16 or fe80::/10 (cloud metadata services live here).
    public var isLinkLocal: Bool {
        let b = ip
        if b.count == 4 { return b[0] == 169 && b[1] == 254 }
        return b.count == 16 && b[0] == 0xFE && b[1] & 0xC0 == 0x80
    }

    /// The addresses of this host's network interfaces (no ports), from `getifaddrs`.
    public static func localInterfaceAddresses() -> [SocketAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [SocketAddress] = []
        var next = list
        while let entry = next {
            if let sa = entry.pointee.ifa_addr {
                let family = Int32(sa.pointee.sa_family)
                let size = family == AF_INET ? MemoryLayout<sockaddr_in>.size : family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : 0
                if size > 0 {
                    var storage = sockaddr_storage()
                    withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: size)) }
                    out.append(SocketAddress(storage: storage, length: socklen_t(size)))
                }
            }
            next = entry.pointee.ifa_next
        }
        return out
    }
}
