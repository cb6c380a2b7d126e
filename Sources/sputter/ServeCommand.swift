import ArgumentParser
import EventLoop
import Faults
import Foundation
import HTTP1
import Ledger
import Profiles
import Proxy

/// `--threads N`: a loop's server is handed to its thread and shut down through its handle.
extension ProxyServer: @unchecked Sendable {}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Relay HTTP and SSE from clients to the upstream (the default command).")

    @Option(name: .long, help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: ArgumentHelp(
        "Upstream URL, or PREFIX=URL to route a path prefix (repeatable; the longest prefix wins, a bare URL is the default).",
        valueName: "URL"))
    var upstream: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "More targets a forward-proxy (absolute-form) request may name, besides the upstreams' host:port (repeatable): a host name (api.test), a name pattern (*.internal: never resolving to this host or link-local), an address, network or address pattern (10.0.0.7, 10.0.0.0/8, 127.*), each with an optional :PORT.",
        valueName: "PATTERN[:PORT]"))
    var allowHost: [String] = []

    @Option(name: .long, help: "Seconds an upstream name lookup may take before 502 (lookups never block the event loop; answers are reused for 30 s, failures for 5 s).")
    var resolveTimeout: Double = 5

    @Option(name: .long, help: "PEM file of CA certificates to trust for https:// upstreams (default: the system's).")
    var upstreamCA: String?

    @Flag(name: .long, help: "Do not verify https:// upstreams' certificates (self-signed test servers).")
    var insecure = false

    @Option(name: .long, help: "Seconds to wait for an upstream connection before answering 504.")
    var connectTimeout: Double = 10

    @Option(name: .long, help: "Close a stream after this many seconds of upstream silence (default: never).")
    var streamIdleTimeout: Double?

    @Option(name: .long, help: "Seconds the upstream has to send its response head once it has the request, then 504; 0: no limit.")
    var responseHeadTimeout: Double = 60

    @Option(name: .long, help: "Seconds a request body may pause before the client gets 408; 0: no limit.")
    var requestBodyTimeout: Double = 30

    @Option(name: .long, help: "Largest request head in bytes.")
    var maxHeaderBytes: Int = 64 * 1024

    @Option(name: .long, help: "Most header fields in a request.")
    var maxHeaderCount: Int = 100

    @Option(name: .long, help: "Longest request line in bytes.")
    var maxRequestLine: Int = 8 * 1024

    @Option(name: .long, help: "Profile for requests that name none (default: passthrough). See `sputter profiles list`.")
    var profile: String?

    @Option(name: .long, help: "Directory of profile files (*.yaml, *.json). Default: the shipped Profiles/ directory.")
    var profiles: String?

    @Option(name: .long, help: "Seed for fault decisions when a request gives none (default: chosen at start-up and printed).")
    var seed: UInt64?

    @Option(name: .long, help: "Client contract the ledger judges by when neither the request (Sputter-Contract) nor the profile (client:) names one: eventsource, resume or once (default: GET → eventsource, POST → once, MCP-style requests → resume). See docs/LEDGER.md.")
    var contract: String?

    @Flag(name: .long, help: "Ignore Sputter-Profile/Sputter-Seed headers and sputter_profile/sputter_seed parameters.")
    var lockProfile = false

    @Option(name: .long, help: "Largest SSE block (bytes) that faults act on; larger ones pass through in pieces.")
    var maxEventBytes: Int = 4 << 20

    @Option(name: .long, help: "Write the ledger to this file as JSON Lines (one record per happening, flushed at each connection end).")
    var ledger: String?

    @Option(name: .long, help: "Ledger detail: events (every frame and write), summary (counts, id ranges, faulted frames only), or off (nothing recorded: the relay and the faults alone).")
    var ledgerLevel: String = "events"

    @Option(name: .long, help: "Control API address HOST:PORT, or 'off' (default: 127.0.0.1 (or the --listen host when it is loopback), the --listen port + 1; port 0 when --listen uses 0). An address that is not loopback needs --control-token.")
    var control: String?

    @Option(name: .long, help: "Bearer token the control API requires (Authorization: Bearer TOKEN); default: the SPUTTER_CONTROL_TOKEN environment variable. Required when --control is not a loopback address.")
    var controlToken: String?

    @Option(name: .long, help: ArgumentHelp(
        "Event loops, one per thread, sharing the port with SO_REUSEPORT (for machines with more cores). The loops share one ledger, the attempt counters, the settings and the control API.",
        valueName: "N"))
    var threads: Int = 1

    @OptionGroup var logging: LoggingOptions

    /// Where the control API listens: loopback unless `--control` says otherwise, whatever `--listen` says.
    func controlAddress(_ config: ProxyConfig) throws -> (String, Int)? {
        guard let control else {
            let host = ProxyConfig.isLoopback(host: config.listenHost) ? config.listenHost : "127.0.0.1"
            return (host, config.listenPort == 0 ? 0 : config.listenPort + 1)
        }
        if control == "off" { return nil }
        return try parseHostPort(control, option: "--control")
    }

    /// `--control-token`, else SPUTTER_CONTROL_TOKEN (an empty one counts as none).
    var effectiveControlToken: String? {
        if let controlToken { return controlToken }
        let fromEnvironment = ProcessInfo.processInfo.environment["SPUTTER_CONTROL_TOKEN"] ?? ""
        return fromEnvironment.isEmpty ? nil : fromEnvironment
    }

    func validate() throws {
        if upstream.isEmpty { throw ValidationError("--upstream is required, e.g. --upstream http://127.0.0.1:5000") }
        let config = try makeConfig()
        if let controlToken, controlToken.isEmpty { throw ValidationError("--control-token: the token is empty") }
        if let (host, port) = try controlAddress(config), !ProxyConfig.isLoopback(host: host), effectiveControlToken == nil {
            throw ValidationError("--control \(host):\(port) is not a loopback address: anyone who can reach it could drive the control API. "
                + "Set a token with --control-token TOKEN or the SPUTTER_CONTROL_TOKEN environment variable (clients send Authorization: Bearer TOKEN), or use --control 127.0.0.1:\(port)")
        }
    }

    func makeConfig() throws -> ProxyConfig {
        var config = ProxyConfig()
        (config.listenHost, config.listenPort) = try parseHostPort(listen, option: "--listen")
        do {
            config.routes = try upstream.map { try ProxyConfig.Route(parsing: $0) }
        } catch let error as ProxyConfig.Route.ParseError {
            throw ValidationError("--upstream: \(error)")
        }
        let prefixes = config.routes.map(\.prefix)
        if Set(prefixes).count != prefixes.count { throw ValidationError("--upstream: the same prefix is given twice") }
        do {
            config.allowHosts = try allowHost.map { try AllowedTarget(parsing: $0) }
        } catch let error as AllowedTarget.ParseError {
            throw ValidationError("--allow-host \(error)")
        }
        config.resolveTimeout = try seconds(resolveTimeout, option: "--resolve-timeout")
        if config.resolveTimeout == 0 { throw ValidationError("--resolve-timeout 0: expected more than 0 seconds") }
        config.upstreamCA = upstreamCA
        config.insecure = insecure
        if let upstreamCA, !FileManager.default.isReadableFile(atPath: upstreamCA) {
            throw ValidationError("--upstream-ca \(upstreamCA): cannot read the file")
        }
        config.connectTimeout = try seconds(connectTimeout, option: "--connect-timeout")
        config.streamIdleTimeout = try streamIdleTimeout.map { try seconds($0, option: "--stream-idle-timeout") }
        let headWait = try seconds(responseHeadTimeout, option: "--response-head-timeout")
        config.responseHeadTimeout = headWait > 0 ? headWait : nil
        let bodyWait = try seconds(requestBodyTimeout, option: "--request-body-timeout")
        config.requestBodyTimeout = bodyWait > 0 ? bodyWait : nil
        for (value, option) in [(maxHeaderBytes, "--max-header-bytes"), (maxHeaderCount, "--max-header-count"),
                                (maxRequestLine, "--max-request-line"), (maxEventBytes, "--max-event-bytes")] where value < 1 {
            throw ValidationError("\(option) \(value): expected a positive whole number")
        }
        config.limits = HTTPLimits(maxRequestLineBytes: maxRequestLine, maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
        config.maxFrameBytes = maxEventBytes
        if ledgerLevel == "off" {
            if let ledger { throw ValidationError("--ledger \(ledger) with --ledger-level off: nothing would be written; drop one of them") }
            config.recordLedger = false
        } else {
            guard let level = LedgerLevel(rawValue: ledgerLevel) else {
                throw ValidationError("--ledger-level '\(ledgerLevel)': expected events, summary or off")
            }
            config.ledgerLevel = level
        }
        config.ledgerPath = ledger
        // Several loops share one ledger, the attempt counters and the settings (ProxyServer.shared): a
        // client's reconnect may land on any loop.
        guard (1...256).contains(threads) else { throw ValidationError("--threads \(threads): expected 1 to 256") }
        if threads > 1 { config.reusePort = true }
        let directory: String?
        do {
            directory = try ProfileDirectory.resolve(profiles)
            config.profiles = try ProfileDirectory.load(directory)
        } catch let error as ProfileLoadError {
            throw ValidationError("--profiles: the profiles in \(profiles ?? "Profiles/") are invalid:\n\(error)")
        }
        config.profilesDirectory = directory
        if let profile, config.profiles[profile] == nil {
            throw ValidationError("--profile '\(profile)': unknown profile; known profiles: \(config.profiles.names.joined(separator: ", "))")
        }
        config.profile = profile
        config.seed = seed
        config.lockProfile = lockProfile
        if let contract {
            do throws(ContractError) { config.contract = try ClientContract.parse(contract) } catch {
                throw ValidationError("--contract: \(error.message)")
            }
        }
        var rng = SystemRandomNumberGenerator()
        config.startupSeed = UInt64.random(in: 0...UInt64(UInt32.max), using: &rng)
        return config
    }

    func run() throws {
        let logger = logging.bootstrap()
        let config = try makeConfig()
        if raiseFileDescriptorLimit() == nil {
            logger.warning("could not raise the open-file limit; many concurrent streams may fail (ulimit -n)")
        }
        signal(SIGPIPE, SIG_IGN)
        let loop = EventLoop()
        let server: ProxyServer
        do {
            server = try ProxyServer(config: config, loop: loop, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        if let (host, port) = try controlAddress(config) {
            do {
                try server.startControl(host: host, port: port, token: effectiveControlToken)
            } catch {
                throw ValidationError("--control: \(error) (use --control HOST:PORT or --control off)")
            }
        }
        // --threads N: the other loops listen on the port the first one got, each on its own thread.
        var others: [LoopThread<ProxyServer>] = []
        if threads > 1 {
            var sameConfig = server.config  // with the first loop's listeners: no loop relays to them
            sameConfig.listenPort = server.port
            let frozen = sameConfig, shared = server.shared
            for i in 1..<threads {
                var loopLogger = logger
                loopLogger[metadataKey: "loop"] = "\(i)"  // connection numbers are per loop
                do {
                    others.append(try LoopThread.start(name: "sputter-loop-\(i)") { [loopLogger] loop in
                        try ProxyServer(config: frozen, loop: loop, logger: loopLogger, sharing: shared)
                    })
                } catch {
                    throw ValidationError("--threads: \(error)")
                }
            }
        }
        for sig in [SIGINT, SIGTERM] {
            loop.onSignal(sig) {
                server.shutdown { loop.stop() }
                for other in others {
                    let proxy = other.value, handle = other.handle
                    handle.execute { proxy.shutdown { handle.stop() } }
                }
            }
        }
        let routes = config.routes.map { $0.prefix.isEmpty ? "\($0.upstream.scheme)://\($0.upstream.authority)\($0.upstream.basePath)" : "\($0.prefix) -> \($0.upstream.scheme)://\($0.upstream.authority)\($0.upstream.basePath)" }
        say("sputter listening on http://\(server.address) -> \(routes.joined(separator: ", "))\(threads > 1 ? " (\(threads) event loops)" : "")")
        say(server.controlAddress == "off" ? "control API off" : "control API on http://\(server.controlAddress)\(effectiveControlToken == nil ? "" : " (Authorization: Bearer token required)")")
        if !config.recordLedger {
            say("ledger off")
        } else if let ledger = config.ledgerPath {
            say("ledger (\(config.ledgerLevel.rawValue)) -> \(ledger)")
        }
        say("profile \(config.profile ?? "passthrough") (\(config.profiles.names.count) profiles from \(config.profilesDirectory ?? "built-in")), seed \(config.seed.map(String.init) ?? "\(config.startupSeed) (chosen at start-up; pass --seed \(config.startupSeed) to repeat)")")
        loop.run()
        // The first loop owns the shared ledger: it finishes it once every other loop has ended.
        for other in others { other.waitUntilFinished() }
        server.tearDown()
    }
}
