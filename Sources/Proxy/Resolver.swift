import EventLoop

/// Answers and failures of upstream lookups, by `host:port`, each until its deadline. Bounded: when full,
/// expired entries go first, then everything (a flood of distinct names cannot grow it).
/// Pure: the caller passes the time.
struct ResolveCache {
    private var entries: [String: (result: Result<SocketAddress, ResolveFailure>, expires: Nanos)] = [:]
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    var count: Int { entries.count }

    static func key(host: String, port: Int) -> String { "\(ForwardPolicy.bare(host)):\(port)" }

    func lookup(_ key: String, now: Nanos) -> Result<SocketAddress, ResolveFailure>? {
        guard let entry = entries[key], entry.expires > now else { return nil }
        return entry.result
    }

    mutating func store(_ key: String, _ result: Result<SocketAddress, ResolveFailure>, until expires: Nanos, now: Nanos) {
        if entries.count >= capacity, entries[key] == nil {
            entries = entries.filter { $0.value.expires > now }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[key] = (result, expires)
    }

    mutating func removeAll() { entries.removeAll() }
}

/// Upstream names to addresses without blocking the loop: IP literals and `localhost` at once, the rest
/// through `DNSResolver` (evdns) with a deadline, answers cached for `resolveCacheTime` and failures for
/// `resolveFailureCacheTime`. Lookups of one name wait on one query. Every address is checked against
/// `ForwardPolicy` (own listeners never; forward-proxy targets only where the allow-list says).
/// Loop-confined.
final class UpstreamResolver {
    private let loop: EventLoop
    private var dns: DNSResolver?
    private var cache = ResolveCache()
    /// Callers waiting for a query in flight, by bare host name.
    private var waiting: [String: [(port: Int, done: (Result<SocketAddress, ResolveFailure>) -> Void)]] = [:]
    private var tornDown = false

    init(loop: EventLoop) { self.loop = loop }

    /// Names with a query in flight (for tests).
    var namesInFlight: Int { waiting.count }

    func resolve(host: String, port: Int, config: ProxyConfig, policy: @autoclosure () -> ForwardPolicy,
                 _ done: @escaping (Result<SocketAddress, ResolveFailure>) -> Void) {
        let key = ResolveCache.key(host: host, port: port)
        let now = monotonicNanos()
        if let hit = cache.lookup(key, now: now) { return done(hit) }
        let policy = policy()
        if let literal = ForwardPolicy.literalAddresses(host: host, port: port) {
            return done(Self.choose(literal, host: host, port: port, policy: policy))
        }
        let name = ForwardPolicy.bare(host)
        if waiting[name] != nil {
            waiting[name]!.append((port, done))
            return
        }
        waiting[name] = [(port, done)]
        let resolver: DNSResolver
        do {
            resolver = try dnsResolver(config)
        } catch {
            return finish(name: name, host: host, .failure(.failed("\(error)")), config: config, policy: policy)
        }
        resolver.lookup(host: name, port: port, timeout: config.resolveTimeout) { [weak self] answer in
            guard let self, !self.tornDown else { return }
            let mapped: Result<[SocketAddress], ResolveFailure>
            switch answer {
            case .success(let addresses): mapped = .success(addresses)
            case .failure(.timedOut(let ns)): mapped = .failure(.timedOut(Int(ns / 1_000_000)))
            case .failure(let failure): mapped = .failure(.failed(failure.description))
            }
            self.finish(name: name, host: host, mapped, config: config, policy: policy)
        }
    }

    private func finish(name: String, host: String, _ answer: Result<[SocketAddress], ResolveFailure>, config: ProxyConfig, policy: ForwardPolicy) {
        let waiters = waiting.removeValue(forKey: name) ?? []
        let now = monotonicNanos()
        for waiter in waiters {
            let result: Result<SocketAddress, ResolveFailure>
            switch answer {
            case .success(let addresses): result = Self.choose(addresses.map { $0.with(port: waiter.port) }, host: host, port: waiter.port, policy: policy)
            case .failure(let failure): result = .failure(failure)
            }
            let ttl: Nanos
            if case .success = answer { ttl = config.resolveCacheTime } else { ttl = config.resolveFailureCacheTime }
            cache.store(ResolveCache.key(host: host, port: waiter.port), result, until: now &+ ttl, now: now)
            waiter.done(result)
        }
    }

    /// The first address the policy allows, else `.forbidden` with the first refusal.
    static func choose(_ addresses: [SocketAddress], host: String, port: Int, policy: ForwardPolicy) -> Result<SocketAddress, ResolveFailure> {
        var refusal: String?
        for address in addresses {
            guard let why = policy.addressCheck(host: host, port: port, address: address) else { return .success(address) }
            refusal = refusal ?? why
        }
        return .failure(refusal.map { .forbidden($0) } ?? .failed("no address"))
    }

    private func dnsResolver(_ config: ProxyConfig) throws -> DNSResolver {
        if let dns { return dns }
        let made = try DNSResolver(loop: loop, config.nameservers.map { .nameservers($0) } ?? .system)
        dns = made
        return made
    }

    /// Once the loop has stopped: frees the resolver; waiting callers are dropped.
    func tearDown() {
        tornDown = true
        waiting.removeAll()
        dns?.tearDown()
        dns = nil
    }
}

extension ResolveFailure: CustomStringConvertible {
    var description: String {
        switch self {
        case .failed(let reason): return reason
        case .timedOut(let ms): return "the resolver did not answer within \(ms) ms"
        case .forbidden(let reason): return reason
        }
    }
}
