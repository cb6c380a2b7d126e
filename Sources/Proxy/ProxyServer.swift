import EventLoop
import Ledger
import Logging
import MiniServer
import Profiles

/// The proxy on one event loop: a listener, its client sessions, and orderly shutdown.
/// Loop-confined: create it in the loop's thread (or through `LoopThread`).
public final class ProxyServer: LoopResident {
    /// The payload of one read of a passthrough stream, held for its observer until the bytes are sent.
    var relayScratch: [UInt8] = []
    /// What `sputter serve` was told, plus the listeners bound so far (`ownListeners`).
    public private(set) var config: ProxyConfig
    let loop: EventLoop
    let logger: Logger
    private var listener: Listener?
    private var control: MiniServer?
    private var controlAPI: ControlAPI?
    private var sessions: [UInt64: ClientSession] = [:]
    private var nextID: UInt64 = 0
    private lazy var resolver = UpstreamResolver(loop: loop)
    private var shuttingDown = false
    private var onIdleAfterShutdown: (() -> Void)?
    private var graceTimer: Timer?
    /// The ledger, profiles, settings and attempt counters: this loop's own, or shared with the other
    /// loops of `--threads N` (the first loop owns them and finishes the ledger at its tear-down).
    public let shared: SharedState
    private let ownsShared: Bool
    var ledger: SharedLedger { shared.ledger }
    var settings: SharedSettings { shared.settings }
    let metrics: ProxyMetrics
    /// For https:// upstreams (nil when no route uses https).
    let tlsContext: TLSClientContext?

    /// Connections currently open (for tests and metrics).
    public var openSessions: Int { sessions.count }
    public private(set) var acceptedTotal: UInt64 = 0
    /// Bytes held in all sessions' buffers: what back-pressure keeps bounded.
    public var bufferedBytes: Int { sessions.values.reduce(0) { $0 + $1.bufferedBytes } }
    /// Bytes the sessions hold for their exchanges (`ClientSession.heldBytes`: buffers, parsers, ledger share).
    public var heldBytes: Int { sessions.values.reduce(0) { $0 + $1.heldBytes } }

    /// - Parameter sharing: the state of the proxy's first loop, for the other loops of `--threads N`;
    ///   nil for the first (or only) loop, which makes it (and opens the ledger file).
    public init(config: ProxyConfig, loop: EventLoop, logger: Logger = Logger(label: "sputter"), sharing: SharedState? = nil) throws {
        self.config = config
        self.loop = loop
        self.logger = logger
        tlsContext = config.routes.contains { $0.upstream.scheme == "https" }
            ? try TLSClientContext(verify: !config.insecure, caFile: config.upstreamCA) : nil
        ownsShared = sharing == nil
        shared = try sharing ?? SharedState(config: config)
        metrics = ProxyMetrics(registry: shared.registry)
        let listener = try Listener(loop: loop, host: config.listenHost, port: config.listenPort, reusePort: config.reusePort) { [unowned self] fd, peer in
            self.accept(fd: fd, peer: peer)
        }
        self.listener = listener
        try addOwnListener("proxy port", listener.address)
    }

    /// Records one of Sputter's own listeners (the proxy port, the control API, a metrics endpoint): no
    /// request through the proxy reaches it. Throws when a configured upstream is that listener.
    public func addOwnListener(_ role: String, _ address: SocketAddress) throws {
        config.ownListeners.add(role, address)
        let policy = ForwardPolicy(config: config)
        for route in config.routes {
            if let why = policy.ownListenerCheck(host: route.upstream.host, port: route.upstream.port) {
                throw ControlError(description: "--upstream \(route.upstream.scheme)://\(route.upstream.authority): \(why)")
            }
        }
    }

    /// Starts the control API on its own listener.
    /// - Parameter token: when set, every request must carry `Authorization: Bearer TOKEN` (else 401). A
    ///   control address that is not loopback requires one.
    public func startControl(host: String, port: Int, token: String? = nil) throws {
        let server = try ControlAPI.listen(proxy: self, host: host, port: port, token: token)
        controlAPI = server.api
        control = server.server
        try addOwnListener("control API", server.server.listenAddress)
    }

    /// A start-up problem of the control plane or the routes, said in words.
    public struct ControlError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where the control API listens ("off" when it does not).
    public var controlAddress: String { control?.address ?? "off" }
    public var controlPort: Int { control?.port ?? 0 }

    /// The profile requests get when they name none.
    var effectiveProfileName: String { settings.runtime.profile ?? config.profile ?? "passthrough" }

    /// Re-reads the profile directory. On errors the previous profiles stay in force.
    func reloadProfiles() throws -> [String] {
        guard let directory = config.profilesDirectory else { return settings.profiles.names }
        try ProfileDirectoryError.check(directory)
        let library = try Self.loadProfiles(directory: directory)
        // Runtime profiles (POST /profiles) are laid over the files' again.
        let names = settings.with { s in
            s.fileProfiles = library
            s.mergeProfiles()
            return s.profiles.names
        }
        logger.info("profiles reloaded", metadata: ["count": "\(library.names.count)"])
        return names
    }

    /// The profiles of `directory`; `passthrough` is always among them.
    public static func loadProfiles(directory: String?) throws -> ProfileLibrary {
        guard let directory else { return ProfileLibrary(profiles: [.passthrough]) }
        let library = try ProfileLibrary.load(directory: directory)
        return library["passthrough"] == nil ? ProfileLibrary(profiles: library.all + [.passthrough]) : library
    }

    /// Forgets attempt counters, queued next-attempt faults and the ledger (a new test starts from attempt 1).
    func resetRunState() {
        settings.with {
            $0.attempts.removeAll()
            $0.nextAttempts.removeAll()
        }
        ledger.reset()
    }

    /// `POST /reset` for in-process users.
    public func resetForTests() { resetRunState() }

    /// Reads the ledger (any thread: it is behind its lock).
    public func withLedger<T>(_ body: (Ledger) throws -> T) rethrows -> T { try ledger.with(body) }

    /// The port clients connect to (the real one when `listenPort` was 0).
    public var port: Int { listener?.port ?? 0 }
    public var address: String { listener.map { "\($0.address)" } ?? "closed" }

    private func accept(fd: Int32, peer: SocketAddress) {
        nextID += 1
        acceptedTotal += 1
        let connection = Connection(loop: loop, fd: fd, peer: peer)
        let session = ClientSession(server: self, id: nextID, client: connection)
        sessions[nextID] = session
        logger.info("connection open", metadata: ["conn": "\(nextID)", "peer": "\(peer)"])
        if shuttingDown { session.beginShutdown() }
    }

    func sessionClosed(_ session: ClientSession, reason: String, requests: Int) {
        sessions[session.id] = nil
        logger.info("connection closed", metadata: ["conn": "\(session.id)", "requests": "\(requests)", "reason": "\(reason)"])
        if shuttingDown, sessions.isEmpty { finishShutdown() }
    }

    /// The address to connect to for `host:port`, never blocking the loop: `done` is called at once (a cache hit,
    /// an IP literal, localhost) or later on the loop thread (evdns), with `.forbidden` when the address is
    /// Sputter's own listener or outside the forward-proxy allow-list. Answers and failures are cached briefly.
    func resolve(host: String, port: Int, _ done: @escaping (Result<SocketAddress, ResolveFailure>) -> Void) {
        resolver.resolve(host: host, port: port, config: config, policy: ForwardPolicy(config: config), done)
    }

    /// The blocking form (getaddrinfo on the loop), with the same cache and checks; kept until every caller
    /// uses `resolve(host:port:_:)`.

    /// Names with a lookup in flight on this loop (for tests).
    var lookupsInFlight: Int { resolver.namesInFlight }

    /// Stops accepting, ends streams and idle connections, lets plain exchanges finish for
    /// `config.shutdownGrace`, then calls `done` (on the loop thread).
    public func shutdown(done: @escaping () -> Void) {
        guard !shuttingDown else { return }
        shuttingDown = true
        onIdleAfterShutdown = done
        listener?.close()
        listener = nil
        control?.tearDown()
        control = nil
        logger.info("shutting down", metadata: ["open": "\(sessions.count)"])
        for session in Array(sessions.values) { session.beginShutdown() }
        if sessions.isEmpty {
            finishShutdown()
            return
        }
        let timer = loop.makeTimer { [unowned self] in
            for session in Array(self.sessions.values) { session.finish(reason: "shutdown grace over", end: .shutdown) }
        }
        timer.arm(after: config.shutdownGrace)
        graceTimer = timer
    }

    private func finishShutdown() {
        graceTimer?.cancel()
        graceTimer = nil
        let done = onIdleAfterShutdown
        onIdleAfterShutdown = nil
        done?()
    }

    public func tearDown() {
        listener?.close()
        listener = nil
        control?.tearDown()
        control = nil
        for session in Array(sessions.values) { session.finish(reason: "loop stopped", clientClose: .rstNow, end: .shutdown) }
        graceTimer = nil
        resolver.tearDown()
        if ownsShared { ledger.finish() }
    }
}
