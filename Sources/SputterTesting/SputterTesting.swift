import DemoOrigin
import EventLoop
import Foundation
import Logging
@_exported import Ledger
@_exported import Profiles
@_exported import Faults
@_exported import struct Proxy.ProxyConfig
import Proxy
@_exported import enum Session.LiveCommand

/// Sputter in-process for Swift test suites: a proxy on an ephemeral loopback port, on a loop
/// thread of its own, with the ledger available as values.
///
/// ```swift
/// let sputter = try SputterInstance.start(upstream: "http://127.0.0.1:5000", profile: "reconnect-ladder")
/// defer { sputter.stop() }
/// // point the client under test at sputter.url("/events", client: "test-1") …
/// XCTAssertEqual(sputter.waitUntilSettled("test-1")?.summary.missing, 0)
/// ```
public final class SputterInstance: @unchecked Sendable {
    private let thread: LoopThread<ProxyServer>
    /// Where clients connect.
    public let port: Int
    /// Where the control API listens (the same JSON API as `sputter serve`'s).
    public let controlPort: Int
    private let stopLock = NSLock()
    private var stopped = false

    /// Starts Sputter in front of `upstream` (a URL, or `PREFIX=URL`; several allowed).
    /// - Parameters:
    ///   - profile: the default profile for requests that name none (`--profile`).
    ///   - seed: the seed for requests that name none (`--seed`).
    ///   - profilesDirectory: profile files to load (default: none, so only `profiles` and passthrough).
    ///   - profiles: profiles built in code, added to those of the directory.
    ///   - ledgerLevel: `--ledger-level` (`.events` records every frame and write).
    ///   - ledgerFile: `--ledger FILE`: the ledger also written as JSON Lines.
    ///   - logger: where Sputter logs (default: errors only, on standard error).
    public static func start(upstream: [String], profile: String? = nil, seed: UInt64? = nil,
                             profilesDirectory: String? = nil, profiles: [Profile] = [],
                             ledgerLevel: LedgerLevel = .events, ledgerFile: String? = nil,
                             logger: Logger = SputterInstance.quietLogger) throws -> SputterInstance {
        var config = ProxyConfig()
        config.routes = try upstream.map { try ProxyConfig.Route(parsing: $0) }
        let loaded = try ProxyServer.loadProfiles(directory: profilesDirectory)
        config.profiles = ProfileLibrary(profiles: loaded.all + profiles)
        config.profilesDirectory = profilesDirectory
        config.profile = profile
        config.seed = seed
        config.ledgerLevel = ledgerLevel
        config.ledgerPath = ledgerFile
        return try start(configuration: config, logger: logger)
    }

    /// Starts Sputter in front of one upstream URL (or `PREFIX=URL`); see `start(upstream: [String], …)`.
    public static func start(upstream: String, profile: String? = nil, seed: UInt64? = nil,
                             profilesDirectory: String? = nil, profiles: [Profile] = [],
                             ledgerLevel: LedgerLevel = .events, ledgerFile: String? = nil,
                             logger: Logger = SputterInstance.quietLogger) throws -> SputterInstance {
        try start(upstream: [upstream], profile: profile, seed: seed, profilesDirectory: profilesDirectory, profiles: profiles,
                  ledgerLevel: ledgerLevel, ledgerFile: ledgerFile, logger: logger)
    }

    /// Starts Sputter with every setting `sputter serve` has (routes, profiles, limits, timeouts, TLS,
    /// ledger…), as a `ProxyConfig`. Whatever its listen address says, the proxy and its control API
    /// listen on 127.0.0.1 on ports the kernel picks (`port`, `controlPort`).
    ///
    /// ```swift
    /// var config = ProxyConfig()
    /// config.routes = [try ProxyConfig.Route(parsing: "http://127.0.0.1:5000")]
    /// config.streamIdleTimeout = 2_000_000_000
    /// let sputter = try SputterInstance.start(configuration: config)
    /// ```
    public static func start(configuration: ProxyConfig, logger: Logger = SputterInstance.quietLogger) throws -> SputterInstance {
        var config = configuration
        config.listenHost = "127.0.0.1"
        config.listenPort = 0
        let frozen = config
        let thread = try LoopThread.start(name: "sputter") { loop in
            let server = try ProxyServer(config: frozen, loop: loop, logger: logger)
            try server.startControl(host: "127.0.0.1", port: 0)
            return server
        }
        return SputterInstance(thread: thread)
    }

    /// The default logger: errors only, so a test's output shows what went wrong and nothing else.
    public static var quietLogger: Logger {
        var logger = Logger(label: "sputter")
        logger.logLevel = .error
        return logger
    }

    private init(thread: LoopThread<ProxyServer>) {
        self.thread = thread
        port = thread.value.port
        controlPort = thread.value.controlPort
    }

    deinit { stop() }

    /// `http://127.0.0.1:PORT`, where clients connect.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// `http://127.0.0.1:PORT` of the control API.
    public var controlURL: String { "http://127.0.0.1:\(controlPort)" }

    /// A URL through Sputter, with the profile and client key as query parameters (EventSource can't set headers).
    public func url(_ path: String, profile: String? = nil, client: String? = nil, seed: UInt64? = nil) -> String {
        var params: [String] = []
        if let profile { params.append("sputter_profile=\(profile)") }
        if let client { params.append("sputter_client=\(client)") }
        if let seed { params.append("sputter_seed=\(seed)") }
        guard !params.isEmpty else { return baseURL + path }
        return baseURL + path + (path.contains("?") ? "&" : "?") + params.joined(separator: "&")
    }

    // MARK: The ledger

    /// Every client the ledger knows.
    public func clients() -> [ClientSummary] { onLoop { $0.withLedger { $0.clients() } } }
    /// One client's summary, connections (with predictions) and findings.
    public func client(_ key: String) -> ClientReport? { onLoop { $0.withLedger { $0.client(key) } } }
    public func findings(_ key: String) -> [Finding] { onLoop { $0.withLedger { $0.findings(for: key) } } }
    /// Forgets the ledger and attempt counters.
    public func reset() { onLoop { $0.resetForTests() } }

    /// The client's report once the ledger has at least `connections` of its connections and none is
    /// still open; nil if that does not happen within `timeout` seconds. Use it after the client under
    /// test has stopped: Sputter may not have seen its close yet.
    public func waitUntilSettled(_ key: String, connections: Int = 1, timeout: TimeInterval = 20) -> ClientReport? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let report = client(key), report.summary.openConnections == 0, report.connections.count >= connections {
                return report
            }
            if Date() >= deadline { return nil }
            usleep(5_000)
        }
    }

    // MARK: Driving faults as the test goes

    /// Defines (or replaces) a runtime profile: connections that name it get it from now on.
    public func defineProfile(_ profile: Profile) { _ = thread.value.defineProfile(profile) }

    /// Defines a runtime profile from YAML or JSON text (a profile file's contents).
    /// - Throws: `ProfileError` naming the line and field.
    public func defineProfile(yaml: String) throws {
        defineProfile(try ProfileLibrary.parse(yaml: yaml, file: "defineProfile"))
    }

    /// Removes a runtime profile (a file's profile of the same name is in force again).
    public func deleteProfile(_ name: String) throws { try thread.value.deleteProfile(name) }

    /// The client's next `count` attempts take `faults` instead of their profile's (e.g. a `respond` 503,
    /// or a `disconnect`); their ledger profile is `NAME+next`. Returns how many attempts are queued now.
    @discardableResult
    public func next(_ key: String, faults: [FaultSpec], count: Int = 1) -> Int {
        thread.value.queueNext(client: key, faults: faults, count: count)
    }

    /// Forgets what `next` queued for the client.
    @discardableResult
    public func clearNext(_ key: String) -> Int { thread.value.clearNext(client: key) }

    /// How far the client has got (nil: the ledger has not seen it).
    public func progress(_ key: String) -> ClientProgress? { thread.value.progress(of: key) }

    /// Waits until `condition` holds for the client (messages received, reconnects, settled) and returns
    /// its progress; nil when `timeout` seconds pass first. No fixed sleeps: it looks every few milliseconds.
    public func wait(_ key: String, until condition: WaitCondition, timeout: TimeInterval = 10) -> ClientProgress? {
        var tracker = WaitTracker(condition: condition, startedAt: monotonicNanos(), timeout: UInt64(timeout * 1e9))
        while true {
            let progress = self.progress(key)
            switch tracker.step(progress, now: monotonicNanos()) {
            case .met: return progress
            case .timedOut: return nil
            case .pending: usleep(5_000)
            }
        }
    }

    // MARK: Live actions on a client's open streams

    /// Ends the client's open streams: now, or after `afterEvents` more events reach the client. Returns the
    /// connections acted on; throws `ProxyServer.LiveActionError` when the client has no open stream.
    @discardableResult
    public func cut(_ key: String, kind: LiveAction.CutKind = .rst, afterEvents: Int? = nil) throws -> [UInt64] {
        try live(key, .cut(kind, afterEvents: afterEvents))
    }

    /// Holds the client's open streams, sockets open (comment-only frames pass with `heartbeats`).
    @discardableResult
    public func stall(_ key: String, heartbeats: Bool = false) throws -> [UInt64] { try live(key, .stall(heartbeats: heartbeats)) }

    /// Lets stalled streams go on: what was held is written in order.
    @discardableResult
    public func resume(_ key: String) throws -> [UInt64] { try live(key, .resume) }

    /// Writes one event into the client's open streams, between frames.
    @discardableResult
    public func inject(_ key: String, event type: String? = nil, data: String, id: String? = nil) throws -> [UInt64] {
        try live(key, .inject(LiveCommand.eventBytes(type: type, data: data, id: id)))
    }

    /// Writes `raw` (one whole event, ending with a blank line) into the client's open streams, between frames.
    @discardableResult
    public func inject(_ key: String, raw: String) throws -> [UInt64] { try live(key, .inject(Array(raw.utf8))) }

    /// The client's open streams take `faults` from now on.
    @discardableResult
    public func setFaults(_ key: String, _ faults: [FaultSpec]) throws -> [UInt64] { try live(key, .faults(faults)) }

    private func live(_ key: String, _ command: LiveCommand) throws -> [UInt64] {
        try onLoop { server in
            Result { () throws(ProxyServer.LiveActionError) -> [UInt64] in try server.live(client: key, command, peer: "SputterTesting") }
        }.get()
    }

    // MARK: The proxy's own state

    /// Client connections open now.
    public var openConnections: Int { onLoop { $0.openSessions } }
    /// Client connections accepted since the start.
    public var acceptedConnections: UInt64 { onLoop { $0.acceptedTotal } }
    /// Bytes held in all connections' buffers, both directions: what back-pressure keeps bounded.
    public var bufferedBytes: Int { onLoop { $0.bufferedBytes } }

    // MARK: Stopping

    /// What SIGTERM does to `sputter serve`: stop accepting, end streams and idle connections, let plain
    /// exchanges finish within the grace period. Returns at once; `completion` runs (on Sputter's thread)
    /// when every connection is gone. Call `stop()` afterwards to end the thread.
    public func shutdown(completion: @escaping @Sendable () -> Void) {
        let server = thread.value
        thread.handle.execute { server.shutdown(done: completion) }
    }

    /// Stops the proxy (streams are cut) and waits for its thread.
    public func stop() {
        let first = stopLock.withLock {
            defer { stopped = true }
            return !stopped
        }
        if first { thread.stop() }
    }

    private func onLoop<T>(_ body: @escaping (ProxyServer) -> T) -> T {
        nonisolated(unsafe) var result: T?
        let done = DispatchSemaphore(value: 0)
        let server = thread.value
        thread.handle.execute {
            result = body(server)
            done.signal()
        }
        done.wait()
        return result!
    }

    /// Waits until the client is settled (no change for `quietMs`) and any reconnect its contract still
    /// owes is overdue, then judges it (`gaveUp`) and returns its report; nil after `timeout` seconds.
    public func settle(_ key: String, quietMs: UInt64 = 250, timeout: TimeInterval = 30) -> ClientReport? {
        let deadline = Date().addingTimeInterval(timeout)
        guard wait(key, until: .settled(quietMs: quietMs), timeout: timeout) != nil else { return nil }
        while let due = onLoop({ $0.withLedger { $0.gaveUpDue(key: key) } }), monotonicNanos() < due {
            if Date() >= deadline { return nil }
            usleep(5_000)
        }
        return onLoop { $0.withLedger { $0.judge(key: key, at: monotonicNanos()) } }
    }
}

/// A request the demo origin received.
public typealias DemoOriginRequest = DemoOrigin.SeenRequest

/// The built-in demo origin in-process, for tests that have no backend of their own: SSE at `/events`
/// (ids 1, 2, 3…, resumes after `Last-Event-ID`; `count`, `interval_ms`, `heartbeat_ms`, `retry`
/// parameters), `/json`, `/echo`, `/bytes`, `/status/NNN` (see the README's "The demo origin").
public final class DemoOriginInstance: @unchecked Sendable {
    private let thread: LoopThread<DemoOrigin>
    public let port: Int
    private let stopLock = NSLock()
    private var stopped = false

    /// Starts the origin on 127.0.0.1 on a port the kernel picks.
    /// - Parameter logger: where it logs (default: errors only).
    public static func start(logger: Logger = SputterInstance.quietLogger) throws -> DemoOriginInstance {
        DemoOriginInstance(thread: try LoopThread.start(name: "demo-origin") { loop in
            try DemoOrigin(loop: loop, host: "127.0.0.1", port: 0, logger: logger)
        })
    }

    private init(thread: LoopThread<DemoOrigin>) {
        self.thread = thread
        port = thread.value.port
    }

    deinit { stop() }

    /// `http://127.0.0.1:PORT`: give it to Sputter as its upstream.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Every request the origin has received, in order (method, path, the `Last-Event-ID` it carried):
    /// what reached the upstream after Sputter's faults and header removals.
    public func requests() -> [DemoOriginRequest] {
        nonisolated(unsafe) var result: [DemoOriginRequest] = []
        let done = DispatchSemaphore(value: 0)
        let origin = thread.value
        thread.handle.execute {
            result = origin.seen
            done.signal()
        }
        done.wait()
        return result
    }

    /// Stops the origin and waits for its thread.
    public func stop() {
        let first = stopLock.withLock {
            defer { stopped = true }
            return !stopped
        }
        if first { thread.stop() }
    }
}

// MARK: What the client says it got

extension SputterInstance {
    /// The messages the client under test dispatched, diffed against what a spec-exact client dispatched from
    /// the bytes delivered (as `POST /clients/KEY/observed`); nil for an unknown key. Needs `--ledger-level events`.
    public func observed(_ key: String, messages: [ObservedMessage]) -> ObservedDiff? {
        onLoop { $0.withLedger { $0.observedDiff(key: key, messages: messages) } }
    }
}
