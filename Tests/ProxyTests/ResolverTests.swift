import EventLoop
import Foundation
@testable import Proxy
import SputterTesting
import XCTest

/// `ProxyServer.resolve(host:port:_:)` against a fake DNS server on 127.0.0.1: answers come back on the
/// loop without blocking it, a lookup that gets no answer times out without delaying anything else, answers
/// and failures are cached, and the allow-list is applied to the address.
final class ResolverTests: XCTestCase {
    /// What came back, in order, from the loop thread.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(label: String, result: Result<SocketAddress, ResolveFailure>?, at: Nanos)] = []
        func add(_ label: String, _ result: Result<SocketAddress, ResolveFailure>? = nil) {
            lock.withLock { items.append((label, result, monotonicNanos())) }
        }
        var labels: [String] { lock.withLock { items.map(\.label) } }
        func result(_ label: String) -> Result<SocketAddress, ResolveFailure>? { lock.withLock { items.first { $0.label == label }?.result } }
        func time(_ label: String) -> Nanos? { lock.withLock { items.first { $0.label == label }?.at } }
    }

    final class TimerBox: @unchecked Sendable { var timer: AnyObject? }

    func makeProxy(_ dns: FakeDNSServer, timeout: Nanos = 1_500_000_000, allow: [String] = ["*.test"]) throws -> LoopThread<ProxyServer> {
        var config = ProxyConfig()
        config.listenPort = 0
        config.routes = [try ProxyConfig.Route(parsing: "http://127.0.0.1:9")]
        config.allowHosts = try allow.map { try AllowedTarget(parsing: $0) }
        config.nameservers = [dns.nameserver]
        config.resolveTimeout = timeout
        let frozen = config
        return try LoopThread.start(name: "resolver-test") { loop in
            let server = try ProxyServer(config: frozen, loop: loop, logger: SputterInstance.quietLogger)
            try server.startControl(host: "127.0.0.1", port: 0)
            return server
        }
    }

    /// Runs `body` on the loop; returns once it has returned there.
    func onLoop(_ proxy: LoopThread<ProxyServer>, _ body: @escaping @Sendable (ProxyServer) -> Void) {
        let done = DispatchSemaphore(value: 0)
        let server = proxy.value
        proxy.handle.execute {
            body(server)
            done.signal()
        }
        done.wait()
    }

    /// Resolves on the loop; returns the result if `done` was called before `resolve` returned (a cache hit, a literal).
    func resolveSynchronously(_ proxy: LoopThread<ProxyServer>, _ host: String, _ port: Int) -> Result<SocketAddress, ResolveFailure>? {
        nonisolated(unsafe) var immediate: Result<SocketAddress, ResolveFailure>?
        onLoop(proxy) { server in server.resolve(host: host, port: port) { immediate = $0 } }
        return immediate
    }

    func testAStalledLookupDelaysNeitherAnotherLookupNorATimerAndTimesOutThenIsCached() throws {
        let dns = try FakeDNSServer(["stall.test": .silent, "good.test": .address([192, 0, 2, 10])])
        defer { dns.stop() }
        let proxy = try makeProxy(dns)
        defer { proxy.stop() }
        let recorder = Recorder()
        let box = TimerBox()
        let started = monotonicNanos()
        onLoop(proxy) { server in
            server.resolve(host: "stall.test", port: 80) { recorder.add("stall", $0) }
            server.resolve(host: "good.test", port: 8080) { recorder.add("good", $0) }
            let timer = server.loop.makeTimer { recorder.add("timer") }
            timer.arm(after: 50_000_000)
            box.timer = timer
        }
        eventually("all three callbacks") { recorder.labels.count == 3 }
        XCTAssertEqual(recorder.labels.last, "stall", "the stalled lookup must come last: \(recorder.labels)")
        XCTAssertEqual(Set(recorder.labels.prefix(2)), ["good", "timer"])
        let good = try XCTUnwrap(recorder.result("good")).get()
        XCTAssertEqual(good.host, "192.0.2.10")
        XCTAssertEqual(good.port, 8080)
        XCTAssertEqual(recorder.result("stall").map { "\($0)" }, "\(Result<SocketAddress, ResolveFailure>.failure(.timedOut(1500)))")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(recorder.time("stall")) - started, 1_500_000_000, "the timeout fired early")
        XCTAssertEqual(proxy.value.lookupsInFlight, 0)

        // The failure is cached: answered at once, no new query.
        let asked = dns.queries(for: "stall.test")
        XCTAssertGreaterThan(asked, 0)
        guard case .failure(.timedOut(1500))? = resolveSynchronously(proxy, "stall.test", 80) else {
            return XCTFail("a cached timeout should be answered at once")
        }
        XCTAssertEqual(dns.queries(for: "stall.test"), asked)
        onLoop(proxy) { _ in box.timer = nil }
    }

    func testNXDOMAINFailsAndIsCachedAndConcurrentLookupsShareOneQuery() throws {
        let dns = try FakeDNSServer(["good.test": .address([192, 0, 2, 10])])
        defer { dns.stop() }
        let proxy = try makeProxy(dns)
        defer { proxy.stop() }
        let recorder = Recorder()
        onLoop(proxy) { server in
            server.resolve(host: "missing.test", port: 80) { recorder.add("missing", $0) }
            server.resolve(host: "good.test", port: 80) { recorder.add("good80", $0) }
            server.resolve(host: "GOOD.test", port: 81) { recorder.add("good81", $0) }
        }
        eventually("three answers") { recorder.labels.count == 3 }
        guard case .failure(.failed(let reason))? = recorder.result("missing") else {
            return XCTFail("NXDOMAIN should fail: \(String(describing: recorder.result("missing")))")
        }
        XCTAssertFalse(reason.isEmpty)
        XCTAssertEqual(try recorder.result("good80")?.get().port, 80)
        XCTAssertEqual(try recorder.result("good81")?.get().port, 81)
        // One A and one AAAA query for both lookups of good.test.
        XCTAssertLessThanOrEqual(dns.queries(for: "good.test"), 2, "\(dns.queries)")

        let asked = dns.queries.count
        guard case .failure(.failed)? = resolveSynchronously(proxy, "missing.test", 80) else {
            return XCTFail("a cached NXDOMAIN should be answered at once")
        }
        XCTAssertEqual(try resolveSynchronously(proxy, "good.test", 80)?.get().host, "192.0.2.10")
        XCTAssertEqual(dns.queries.count, asked, "cached answers must not query again")
    }

    func testANameResolvingOutsideTheAllowListIsForbidden() throws {
        let dns = try FakeDNSServer(["rebind.test": .address([127, 0, 0, 1]), "meta.test": .address([169, 254, 169, 254]),
                                     "mine.example": .address([127, 0, 0, 1]), "ok.test": .address([192, 0, 2, 7])])
        defer { dns.stop() }
        let proxy = try makeProxy(dns, allow: ["*.test", "mine.example"])
        defer { proxy.stop() }
        let controlPort = proxy.value.controlPort
        let recorder = Recorder()
        onLoop(proxy) { server in
            server.resolve(host: "rebind.test", port: 22) { recorder.add("rebind", $0) }
            server.resolve(host: "meta.test", port: 80) { recorder.add("meta", $0) }
            server.resolve(host: "mine.example", port: controlPort) { recorder.add("mine", $0) }
            server.resolve(host: "ok.test", port: 80) { recorder.add("ok", $0) }
        }
        eventually("four answers") { recorder.labels.count == 4 }
        for (label, name, address) in [("rebind", "rebind.test", "127.0.0.1"), ("meta", "meta.test", "169.254.169.254")] {
            guard case .failure(.forbidden(let why))? = recorder.result(label) else {
                XCTFail("\(name) should be forbidden: \(String(describing: recorder.result(label)))")
                continue
            }
            XCTAssertTrue(why.contains(name) && why.contains(address), why)
        }
        // An exact name may resolve to loopback, but never to Sputter's own control API.
        guard case .failure(.forbidden(let why))? = recorder.result("mine") else {
            return XCTFail("mine.example:\(controlPort) should be forbidden: \(String(describing: recorder.result("mine")))")
        }
        XCTAssertTrue(why.contains("control API"), why)
        XCTAssertEqual(try recorder.result("ok")?.get().host, "192.0.2.7")
    }

    func testAnAddressEntryLetsANameResolveThere() throws {
        let dns = try FakeDNSServer(["rebind.test": .address([127, 0, 0, 1])])
        defer { dns.stop() }
        let proxy = try makeProxy(dns, allow: ["*.test", "127.0.0.1:7000"])
        defer { proxy.stop() }
        let recorder = Recorder()
        onLoop(proxy) { server in
            server.resolve(host: "rebind.test", port: 7000) { recorder.add("7000", $0) }
            server.resolve(host: "rebind.test", port: 7001) { recorder.add("7001", $0) }
        }
        eventually("two answers") { recorder.labels.count == 2 }
        XCTAssertEqual(try recorder.result("7000")?.get().description, "127.0.0.1:7000")
        guard case .failure(.forbidden)? = recorder.result("7001") else { return XCTFail("port 7001 is not allowed") }
    }

    func testLiteralsAndLocalhostAreAnsweredAtOnceWithoutDNS() throws {
        let dns = try FakeDNSServer([:])
        defer { dns.stop() }
        let proxy = try makeProxy(dns, allow: ["127.0.0.1", "::1", "localhost"])
        defer { proxy.stop() }
        XCTAssertEqual(try resolveSynchronously(proxy, "127.0.0.1", 9)?.get().description, "127.0.0.1:9")
        XCTAssertEqual(try resolveSynchronously(proxy, "[::1]", 5000)?.get().description, "[::1]:5000")
        XCTAssertEqual(try resolveSynchronously(proxy, "localhost", 5000)?.get().host, "127.0.0.1")
        guard case .failure(.forbidden(let why))? = resolveSynchronously(proxy, "127.0.0.1", proxy.value.port) else {
            return XCTFail("the proxy's own port must be forbidden")
        }
        XCTAssertTrue(why.contains("proxy port"), why)
        XCTAssertEqual(dns.queries, [])
    }

    func testTheCacheIsBounded() {
        var cache = ResolveCache(capacity: 3)
        let address = SocketAddress(ip: [192, 0, 2, 1], port: 80)
        for i in 0..<10 { cache.store("h\(i):80", .success(address), until: 100, now: 0) }
        XCTAssertLessThanOrEqual(cache.count, 3)
        XCTAssertNotNil(cache.lookup("h9:80", now: 50))
        XCTAssertNil(cache.lookup("h9:80", now: 100), "an entry is not used at or after its deadline")
    }

    /// The system configuration honours /etc/hosts: a name listed there is answered without any nameserver.
    func testTheSystemResolverHonoursTheHostsFile() throws {
        let hosts = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? ""
        var entry: (String, String)?
        for line in hosts.split(separator: "\n") where entry == nil {
            let content = line.prefix { $0 != "#" }
            let fields: [String] = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.count >= 2, SocketAddress(numericHost: fields[0], port: 0)?.ip.count == 4 { entry = (fields[0], fields[1]) }
        }
        let (address, name) = try XCTUnwrap(entry, "/etc/hosts has no IPv4 entry")
        let recorder = Recorder()
        let thread = try LoopThread.start(name: "hosts-test") { loop in ResolverBox(try DNSResolver(loop: loop, .system)) }
        defer { thread.stop() }
        let box = thread.value
        thread.handle.execute {
            box.resolver.lookup(host: name, port: 80, timeout: 10_000_000_000) { result in
                switch result {
                case .success(let addresses) where !addresses.isEmpty: recorder.add("hosts", .success(addresses[0]))
                case .success: recorder.add("hosts", .failure(.failed("no address")))
                case .failure(let failure): recorder.add("hosts", .failure(.failed("\(failure)")))
                }
            }
        }
        eventually("the hosts-file answer") { recorder.labels.count == 1 }
        XCTAssertEqual(try recorder.result("hosts")?.get().host, address, "\(name) from /etc/hosts")
    }
}

/// A resolver on a loop thread of its own (torn down with the loop).
final class ResolverBox: LoopResident, @unchecked Sendable {
    let resolver: DNSResolver
    init(_ resolver: DNSResolver) { self.resolver = resolver }
    func tearDown() { resolver.tearDown() }
}
