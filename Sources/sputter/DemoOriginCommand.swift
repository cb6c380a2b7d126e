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
        abstract: "Run the demo origin and Sputter in front of it, in one process.")

    @Option(name: .long, help: "Where Sputter listens.")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .long, help: "Where the demo origin listens.")
    var origin: String = "127.0.0.1:5000"

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let (originHost, originPort) = try parseHostPort(origin, option: "--origin")
        let originThread = try LoopThread.start(name: "demo-origin") { loop in
            try DemoOrigin(loop: loop, host: originHost, port: originPort)
        }
        let serve = try Serve.parse(["--listen", listen, "--upstream", "http://\(originThread.value.address)",
                                     "--log-level", logging.logLevel, "--log-format", logging.logFormat])
        say("demo origin on http://\(originThread.value.address)")
        say("try:  curl -N http://\(listen)/events")
        try serve.run()
        originThread.stop()
    }
}
