import CLibevent
import Glibc

/// Name resolution that never blocks the loop: libevent's asynchronous resolver (evdns) on the
/// loop's own `event_base`, with a deadline per lookup on the loop's timer queue.
///
/// - Nameservers come from /etc/resolv.conf and /etc/hosts is honoured (`.system`), or from an explicit
///   list (`.nameservers`, for tests against a local DNS server; no hosts file then).
/// - IP literals and names in the hosts file are answered at once (`done` is then called before
///   `lookup` returns); everything else is answered later, on the loop thread.
/// - A lookup that has no answer within its timeout ends with `.timedOut` and its query is cancelled.
///
/// Not handled here: caching (the caller's), choosing among several addresses (all are returned, in the
/// resolver's order). Loop-confined; call `tearDown()` on the loop thread before the loop is freed.
public final class DNSResolver {
    public enum Configuration: Sendable {
        /// /etc/resolv.conf (nameservers, search, options) and /etc/hosts.
        case system
        /// Only these nameservers ("127.0.0.1:5353", "[::1]:53"): no hosts file, no search domains.
        case nameservers([String])
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The resolver answered with an error (NXDOMAIN, no address, server failure…).
        case failed(String)
        /// No answer within the timeout (nanoseconds).
        case timedOut(Nanos)
        /// The resolver was torn down first.
        case cancelled

        public var description: String {
            switch self {
            case .failed(let reason): return reason
            case .timedOut(let ns): return "no answer within \(ns / 1_000_000) ms"
            case .cancelled: return "cancelled"
            }
        }
    }

    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    private let loop: EventLoop
    private var base: OpaquePointer?
    /// Lookups whose answer has not come yet (their C requests are still live).
    private var pending: [ObjectIdentifier: Lookup] = [:]

    public init(loop: EventLoop, _ configuration: Configuration = .system) throws {
        self.loop = loop
        switch configuration {
        case .system:
            guard let made = sputter_evdns_base_new(loop.base, 1) else {
                throw SetupError(description: "cannot set up the resolver from /etc/resolv.conf")
            }
            base = made
        case .nameservers(let servers):
            guard let made = sputter_evdns_base_new(loop.base, 0) else {
                throw SetupError(description: "cannot set up the resolver")
            }
            base = made
            for server in servers where evdns_base_nameserver_ip_add(made, server) != 0 {
                evdns_base_free(made, 0)
                base = nil
                throw SetupError(description: "nameserver '\(server)': expected an IP address with an optional port")
            }
        }
        // 0x20 case randomization makes some forwarders' answers look forged; answers are matched by id and name anyway.
        evdns_base_set_option(base, "randomize-case:", "0")
    }

    deinit { tearDown() }

    /// Lookups still waiting for an answer.
    public var pendingLookups: Int { pending.count }

    /// Resolves `host` (a name or an IP literal, IPv6 with or without brackets) for a TCP connection to `port`.
    /// `done` is called exactly once: maybe before this returns, else later on the loop thread.
    public func lookup(host: String, port: Int, timeout: Nanos, _ done: @escaping (Result<[SocketAddress], Failure>) -> Void) {
        guard let base else { return done(.failure(.cancelled)) }
        var bare = host
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        let lookup = Lookup(done: done)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        // The C side holds one reference until its callback, which libevent calls exactly once
        // (with EVUTIL_EAI_CANCEL when cancelled or torn down).
        let ctx = Unmanaged.passRetained(lookup).toOpaque()
        let request = evdns_getaddrinfo(base, bare, String(port), &hints, { result, answers, ctx in
            let lookup = Unmanaged<Lookup>.fromOpaque(ctx!).takeRetainedValue()
            lookup.answered(result: result, answers: answers)
            if let answers { evutil_freeaddrinfo(answers) }
        }, ctx)
        guard !lookup.finished else { return }
        guard let request else { return lookup.finish(.failure(.failed("the resolver did not take the query"))) }
        lookup.request = request
        lookup.owner = self
        pending[ObjectIdentifier(lookup)] = lookup
        let timer = loop.makeTimer { [unowned self, unowned lookup] in
            self.expire(lookup, after: timeout)
        }
        timer.arm(after: timeout)
        lookup.timer = timer
    }

    private func expire(_ lookup: Lookup, after timeout: Nanos) {
        guard !lookup.finished, let request = lookup.request else { return }
        lookup.finish(.failure(.timedOut(timeout)))
        pending[ObjectIdentifier(lookup)] = nil
        // libevent then calls back with EVUTIL_EAI_CANCEL (on a later iteration), which releases the context.
        evdns_getaddrinfo_cancel(request)
    }

    fileprivate func settled(_ lookup: Lookup) { pending[ObjectIdentifier(lookup)] = nil }

    /// Drops every pending lookup (their `done` is never called) and frees the resolver. Call it once the
    /// loop has stopped dispatching (like every `LoopResident` tear-down): libevent may have scheduled
    /// callbacks for those lookups that must never run.
    public func tearDown() {
        guard let b = base else { return }
        base = nil
        for lookup in pending.values { lookup.silence() }
        pending.removeAll()
        evdns_base_free(b, 0)
    }
}

/// One `evdns_getaddrinfo` in flight.
private final class Lookup {
    var done: ((Result<[SocketAddress], DNSResolver.Failure>) -> Void)?
    var request: OpaquePointer?
    var timer: Timer?
    weak var owner: DNSResolver?
    private(set) var finished = false

    init(done: @escaping (Result<[SocketAddress], DNSResolver.Failure>) -> Void) { self.done = done }

    func answered(result: Int32, answers: UnsafeMutablePointer<addrinfo>?) {
        request = nil  // the C request is gone once its callback runs
        owner?.settled(self)
        guard !finished else { return }
        if result == sputter_eai_cancel() { return finish(.failure(.cancelled)) }
        guard result == 0 else { return finish(.failure(.failed(String(cString: evutil_gai_strerror(result))))) }
        var addresses: [SocketAddress] = []
        var next = answers
        while let entry = next {
            if let sa = entry.pointee.ai_addr, entry.pointee.ai_addrlen <= socklen_t(MemoryLayout<sockaddr_storage>.size) {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(entry.pointee.ai_addrlen))) }
                addresses.append(SocketAddress(storage: storage, length: entry.pointee.ai_addrlen))
            }
            next = entry.pointee.ai_next
        }
        finish(addresses.isEmpty ? .failure(.failed("no address")) : .success(addresses))
    }

    func finish(_ result: Result<[SocketAddress], DNSResolver.Failure>) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        let body = done
        done = nil
        body?(result)
    }

    /// Torn down: no callback.
    func silence() {
        finished = true
        timer?.cancel()
        timer = nil
        done = nil
    }
}
