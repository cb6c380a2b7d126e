import Foundation
import XCTest

/// A tiny UDP DNS server on 127.0.0.1 for resolver tests: per name, answer an A record, answer NXDOMAIN,
/// or never answer. Every query it receives is recorded. Runs on a thread of its own.
final class FakeDNSServer: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// An A record with these 4 bytes (AAAA queries get an empty NOERROR answer).
        case address([UInt8])
        case nxdomain
        /// The query is dropped: the resolver waits for ever.
        case silent
    }

    let port: Int
    private let fd: Int32
    private let names: [String: Behaviour]
    private let lock = NSLock()
    private var seen: [(name: String, type: UInt16)] = []
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ names: [String: Behaviour]) throws {
        self.names = names
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let socketFD = fd
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SocketError(errno: errno) }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &len) }
        }
        port = Int(UInt16(bigEndian: bound.sin_port))
        Thread { [self] in serve() }.start()
    }

    deinit { stop() }

    var nameserver: String { "127.0.0.1:\(port)" }

    /// The names asked for (lowercased), A and AAAA alike, in order.
    var queries: [String] { lock.withLock { seen.map(\.name) } }

    func queries(for name: String) -> Int { queries.filter { $0 == name }.count }

    func stop() {
        let first: Bool = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        finished.wait()
        Glibc.close(fd)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 1500)
        while !lock.withLock({ stopped }) {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &peer) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            guard n > 12, let (name, type, questionEnd) = Self.question(buffer[0..<n]) else { continue }
            lock.withLock { seen.append((name, type)) }
            guard let reply = answer(to: Array(buffer[0..<n]), name: name, type: type, questionEnd: questionEnd) else { continue }
            _ = withUnsafePointer(to: &peer) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, peerLength) }
            }
        }
        finished.signal()
    }

    /// The question's name (lowercased), type, and where the question section ends.
    static func question(_ message: ArraySlice<UInt8>) -> (String, UInt16, Int)? {
        let bytes = Array(message)
        var i = 12
        var labels: [String] = []
        while i < bytes.count {
            let length = Int(bytes[i])
            if length == 0 { break }
            guard length < 64, i + 1 + length <= bytes.count else { return nil }
            labels.append(String(decoding: bytes[(i + 1)...(i + length)], as: UTF8.self).lowercased())
            i += 1 + length
        }
        guard i + 5 <= bytes.count else { return nil }
        let type = UInt16(bytes[i + 1]) << 8 | UInt16(bytes[i + 2])
        return (labels.joined(separator: "."), type, i + 5)
    }

    private func answer(to query: [UInt8], name: String, type: UInt16, questionEnd: Int) -> [UInt8]? {
        let behaviour = names[name] ?? .nxdomain
        if case .silent = behaviour { return nil }
        var reply = Array(query[0..<questionEnd])
        reply[2] = 0x81 | (query[2] & 0x01)  // QR, opcode 0, RD copied
        reply[3] = 0x80                      // RA, rcode 0
        reply[6] = 0; reply[7] = 0           // ANCOUNT
        reply[8] = 0; reply[9] = 0
        reply[10] = 0; reply[11] = 0
        switch behaviour {
        case .nxdomain:
            reply[3] = 0x83
        case .address(let ip) where type == 1:
            reply[7] = 1
            reply += [0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04] + ip
        default:
            break  // NOERROR, no answer: no AAAA record
        }
        return reply
    }
}
