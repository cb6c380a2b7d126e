import ArgumentParser
import EventLoop
import Foundation
import HTTP1
import Proxy

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Relay HTTP and SSE from clients to the upstream (the default command).")

    @Option(name: .long, help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: ArgumentHelp(
        "Upstream URL, or PREFIX=URL to route a path prefix (repeatable; the longest prefix wins, a bare URL is the default).",
        valueName: "URL"))
    var upstream: [String] = []

    @Option(name: .long, help: "Host pattern a forward-proxy (absolute-form) request may name (repeatable, * matches anything; default: loopback only).")
    var allowHost: [String] = []

    @Option(name: .long, help: "Seconds to wait for an upstream connection before answering 504.")
    var connectTimeout: Double = 10

    @Option(name: .long, help: "Close a stream after this many seconds of upstream silence (default: never).")
    var streamIdleTimeout: Double?

    @Option(name: .long, help: "Largest request head in bytes.")
    var maxHeaderBytes: Int = 64 * 1024

    @Option(name: .long, help: "Most header fields in a request.")
    var maxHeaderCount: Int = 100

    @Option(name: .long, help: "Longest request line in bytes.")
    var maxRequestLine: Int = 8 * 1024

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if upstream.isEmpty { throw ValidationError("--upstream is required, e.g. --upstream http://127.0.0.1:5000") }
        _ = try makeConfig()
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
        if !allowHost.isEmpty { config.allowHosts = allowHost }
        config.connectTimeout = Nanos(connectTimeout * 1e9)
        config.streamIdleTimeout = streamIdleTimeout.map { Nanos($0 * 1e9) }
        config.limits = HTTPLimits(maxRequestLineBytes: maxRequestLine, maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
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
        for sig in [SIGINT, SIGTERM] {
            loop.onSignal(sig) { server.shutdown { loop.stop() } }
        }
        let routes = config.routes.map { $0.prefix.isEmpty ? "\($0.upstream.scheme)://\($0.upstream.authority)\($0.upstream.basePath)" : "\($0.prefix) -> \($0.upstream.scheme)://\($0.upstream.authority)\($0.upstream.basePath)" }
        say("sputter listening on http://\(server.address) -> \(routes.joined(separator: ", "))")
        loop.run()
        server.tearDown()
    }
}
