import ArgumentParser
import DemoOrigin
import EventLoop
import Foundation

struct DemoOriginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-origin",
        abstract: "Run the built-in SSE origin (stream with ids, named events, JSON data, heartbeats; honours Last-Event-ID).")

    @Option(name: .long, help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:5000"

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        _ = logging.bootstrap()
        let (host, port) = try parseHostPort(listen, option: "--listen")
        signal(SIGPIPE, SIG_IGN)
        let loop = EventLoop()
        let origin = try DemoOrigin(loop: loop, host: host, port: port)
        for sig in [SIGINT, SIGTERM] { loop.onSignal(sig) { loop.stop() } }
        say("demo origin listening on http://\(origin.address) (try /events, /json, /echo)")
        loop.run()
        origin.tearDown()
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the demo origin and Sputter in front of it, in one process.",
        discussion: """
        Every `sputter serve` option works here too (see `sputter serve --help`); the demo origin is the
        upstream. Example: sputter demo --profile reconnect-ladder --seed 1 --ledger run.jsonl
        """)

    @Option(name: .long, help: "Where Sputter listens.")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: "Where the demo origin listens.")
    var origin: String = "127.0.0.1:5000"

    @OptionGroup var logging: LoggingOptions

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp(
        "Any other `sputter serve` option (--profile NAME, --seed N, --ledger FILE, --control HOST:PORT, …).",
        valueName: "serve-option"))
    var serveOptions: [String] = []

    /// `sputter serve`'s arguments with the demo origin at `originAddress` as the upstream.
    func serveArguments(originAddress: String) -> [String] {
        ["--listen", listen, "--upstream", "http://\(originAddress)",
         "--log-level", logging.logLevel, "--log-format", logging.logFormat] + serveOptions
    }

    /// `sputter serve` parsed with these arguments; its errors (unknown option, bad value) as serve words them.
    func serve(originAddress: String) throws -> Serve {
        do {
            return try Serve.parse(serveArguments(originAddress: originAddress))
        } catch {
            throw ValidationError(Serve.message(for: error))
        }
    }

    func validate() throws {
        _ = try parseHostPort(origin, option: "--origin")
        // Serve's own checks, with a stand-in origin address: a bad option fails before anything starts.
        _ = try serve(originAddress: "127.0.0.1:1")
    }

    func run() throws {
        let (originHost, originPort) = try parseHostPort(origin, option: "--origin")
        let originThread = try LoopThread.start(name: "demo-origin") { loop in
            try DemoOrigin(loop: loop, host: originHost, port: originPort)
        }
        let serve = try serve(originAddress: originThread.value.address)
        say("demo origin on http://\(originThread.value.address)")
        say("try:  curl -N http://\(listen)/events")
        try serve.run()
        originThread.stop()
    }
}
