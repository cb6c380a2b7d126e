import DemoOrigin
import EventLoop
import Foundation
@_exported import Ledger
@_exported import Profiles
@_exported import Faults
import Proxy

/// Sputter in-process for Swift test suites: a proxy on an ephemeral loopback port, on a loop
/// thread of its own, with the ledger available as values.
///
/// ```swift
/// let sputter = try SputterInstance.start(upstream: "http://127.0.0.1:5000", profile: "reconnect-ladder")
/// defer { sputter.stop() }
/// // point the client under test at sputter.url("/events", client: "test-1") …
/// XCTAssertEqual(sputter.client("test-1")?.summary.missing, 0)
/// ```
public final class SputterInstance: @unchecked Sendable {
    private let thread: LoopThread<ProxyServer>
    /// Where clients connect, and the control API.
    public let port: Int
    public let controlPort: Int
    private var stopped = false

    /// Starts Sputter in front of `upstream` (a URL, or `PREFIX=URL`; several allowed).
    /// - Parameters:
    ///   - profilesDirectory: profile files to load (default: none, so only `profiles` and passthrough).
    ///   - profiles: profiles built in code, added to those of the directory.
    ///   - profile: the default profile for requests that name none.
    public static func start(upstream: [String], profile: String? = nil, seed: UInt64? = nil,
                             profilesDirectory: String? = nil, profiles: [Profile] = [],
                             ledgerLevel: LedgerLevel = .events, ledgerFile: String? = nil) throws -> SputterInstance {
        var config = ProxyConfig()
        config.listenPort = 0
        config.routes = try upstream.map { try ProxyConfig.Route(parsing: $0) }
        let loaded = try ProxyServer.loadProfiles(directory: profilesDirectory)
        config.profiles = ProfileLibrary(profiles: loaded.all + profiles)
        config.profilesDirectory = profilesDirectory
        config.profile = profile
        config.seed = seed
        config.ledgerLevel = ledgerLevel
        config.ledgerPath = ledgerFile
        let frozen = config
        let thread = try LoopThread.start(name: "sputter") { loop in
            let server = try ProxyServer(config: frozen, loop: loop)
            try server.startControl(host: "127.0.0.1", port: 0)
            return server
        }
        return SputterInstance(thread: thread)
    }

    public static func start(upstream: String, profile: String? = nil, seed: UInt64? = nil,
                             profilesDirectory: String? = nil, profiles: [Profile] = []) throws -> SputterInstance {
        try start(upstream: [upstream], profile: profile, seed: seed, profilesDirectory: profilesDirectory, profiles: profiles)
    }

    private init(thread: LoopThread<ProxyServer>) {
        self.thread = thread
        port = thread.value.port
        controlPort = thread.value.controlPort
    }

    deinit { stop() }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// A URL through Sputter, with the profile and client key as query parameters (EventSource can't set headers).
    public func url(_ path: String, profile: String? = nil, client: String? = nil, seed: UInt64? = nil) -> String {
        var params: [String] = []
        if let profile { params.append("sputter_profile=\(profile)") }
        if let client { params.append("sputter_client=\(client)") }
        if let seed { params.append("sputter_seed=\(seed)") }
        guard !params.isEmpty else { return baseURL + path }
        return baseURL + path + (path.contains("?") ? "&" : "?") + params.joined(separator: "&")
    }

    /// Every client the ledger knows.
    public func clients() -> [ClientSummary] { onLoop { $0.withLedger { $0.clients() } } }
    /// One client's summary, connections (with predictions) and findings.
    public func client(_ key: String) -> ClientReport? { onLoop { $0.withLedger { $0.client(key) } } }
    public func findings(_ key: String) -> [Finding] { onLoop { $0.withLedger { $0.findings(for: key) } } }
    /// Forgets the ledger and attempt counters.
    public func reset() { onLoop { $0.resetForTests() } }

    /// Stops the proxy (streams are cut) and waits for its thread.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        thread.stop()
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
}

/// The built-in demo origin in-process, for tests that have no backend of their own.
public final class DemoOriginInstance: @unchecked Sendable {
    private let thread: LoopThread<DemoOrigin>
    public let port: Int

    public static func start() throws -> DemoOriginInstance {
        DemoOriginInstance(thread: try LoopThread.start(name: "demo-origin") { loop in try DemoOrigin(loop: loop, host: "127.0.0.1", port: 0) })
    }

    private init(thread: LoopThread<DemoOrigin>) {
        self.thread = thread
        port = thread.value.port
    }

    public var url: String { "http://127.0.0.1:\(port)" }
    public func stop() { thread.stop() }
}
