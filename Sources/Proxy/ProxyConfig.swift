import EventLoop
import Faults
import HTTP1
import Ledger
import Profiles

/// Everything `sputter serve` is told. Plain values with defaults; the CLI fills them in.
public struct ProxyConfig: Sendable {
    /// Where clients connect.
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    /// Upstreams by path prefix; the route with the longest matching prefix wins, "" is the default.
    public var routes: [Route] = []
    /// Targets an absolute-form (forward-proxy) request may name besides the upstreams' own host:port
    /// (`--allow-host`; see `AllowedTarget` for what an entry matches, by name and by resolved address).
    public var allowHosts: [AllowedTarget] = []
    /// Sputter's own listeners (the proxy port, the control API, metrics): no request is relayed to them.
    /// Filled in by `ProxyServer` as it binds them.
    public var ownListeners = OwnListeners()
    /// Upstream name resolution (never on the loop: evdns): the deadline of one lookup, how long an answer
    /// and a failure (an error or a timeout) are reused, and the nameservers (nil: /etc/resolv.conf and /etc/hosts).
    public var resolveTimeout: Nanos = 5_000_000_000
    public var resolveCacheTime: Nanos = 30_000_000_000
    public var resolveFailureCacheTime: Nanos = 5_000_000_000
    public var nameservers: [String]? = nil
    public var limits = HTTPLimits()
    /// Time to establish an upstream connection before answering 504.
    public var connectTimeout: Nanos = 10_000_000_000
    /// Time a client has to send a complete request head (slow-loris guard); a stream is never subject to it.
    public var headTimeout: Nanos = 30_000_000_000
    /// An idle keep-alive client connection is closed after this long.
    public var keepAliveTimeout: Nanos = 75_000_000_000
    /// Close a stream after this much silence from the upstream (nil: never; SSE streams may be quiet for hours).
    public var streamIdleTimeout: Nanos? = nil
    /// Once the upstream has the whole request, its response head must come within this, else 504 (nil: no limit).
    public var responseHeadTimeout: Nanos? = 60_000_000_000
    /// An unfinished request body may pause this long before the client gets 408 (nil: no limit).
    public var requestBodyTimeout: Nanos? = 30_000_000_000
    /// The control API closes a connection that has not sent a complete request this long after its first
    /// byte (answering 408), and one that sends nothing for `controlIdleTimeout`.
    public var controlRequestTimeout: Nanos = 10_000_000_000
    public var controlIdleTimeout: Nanos = 60_000_000_000
    /// How long in-flight plain requests may finish after SIGINT/SIGTERM.
    public var shutdownGrace: Nanos = 2_000_000_000
    /// Back-pressure: stop reading one side when the other side's unsent output passes `highWater`,
    /// resume when it drains to `lowWater`.
    public var highWater = 256 * 1024
    public var lowWater = 64 * 1024

    /// Profiles that requests may name (`Sputter-Profile`, `sputter_profile`, the control API).
    public var profiles = ProfileLibrary(profiles: [Profile.passthrough])
    /// Where `profiles` came from (reloaded from there by the control API), if a directory.
    public var profilesDirectory: String?
    /// `--profile`: used when a request names none and the control API set no default.
    public var profile: String?
    /// `--seed`: used when a request gives none and the control API set none.
    public var seed: UInt64?
    /// The seed of last resort, chosen at start-up and logged, so any run can be repeated.
    public var startupSeed: UInt64 = 0
    /// `--contract`: the client contract for requests that name none and whose profile has no `client:`
    /// (nil: `ClientContract.defaultRule`).
    public var contract: ClientContract?
    /// `--lock-profile`: requests cannot choose a profile or seed.
    public var lockProfile = false
    /// `--ledger FILE`: JSON Lines, one record per happening.
    public var ledgerPath: String?
    /// Every frame and write (`.events`), or counts and faulted frames only (`.summary`).
    public var ledgerLevel = LedgerLevel.events
    /// `--upstream-ca FILE`: trust these certificates for https:// upstreams (default: the system's).
    public var upstreamCA: String?
    /// `--insecure`: do not verify https:// upstreams' certificates (self-signed test servers).
    public var insecure = false
    /// An SSE block larger than this is passed on in pieces, untouched by faults.
    public var maxFrameBytes = 4 << 20
    /// A profile's body matchers (`match: jsonrpc_method/json`) read at most this many bytes of a request
    /// body (framing included; also bounded by `highWater`); a longer body does not match. 0: never read.
    public var maxMatchBodyBytes = 64 * 1024
    /// Listen with SO_REUSEPORT, so that several loops (`--threads N`) share the port.
    public var reusePort = false
    /// Record event streams in the ledger. Off with several loops: a ledger belongs to one loop.
    public var recordLedger = true

    public init() {}

    /// One `--upstream` value: `URL` or `PREFIX=URL`.
    public struct Route: Sendable, Equatable {
        public var prefix: String
        public var upstream: UpstreamURL

        public init(prefix: String, upstream: UpstreamURL) {
            self.prefix = prefix
            self.upstream = upstream
        }

        public struct ParseError: Error, CustomStringConvertible {
            public let description: String
        }

        /// Parses `http://host:port[/base]` or `/prefix=http://host:port[/base]`.
        public init(parsing text: String) throws {
            var prefix = ""
            var url = text
            if !text.hasPrefix("http://"), !text.hasPrefix("https://"), let eq = text.firstIndex(of: "=") {
                prefix = String(text[..<eq])
                url = String(text[text.index(after: eq)...])
                guard prefix.hasPrefix("/") else {
                    throw ParseError(description: "upstream route '\(text)': the prefix must start with '/' (e.g. /api/sse=http://127.0.0.1:8000)")
                }
            }
            do {
                self.upstream = try UpstreamURL(parsing: url)
            } catch {
                throw ParseError(description: error.reason)
            }
            self.prefix = prefix
        }
    }

    /// The upstream for `path`: the longest prefix that matches on a path-segment boundary.
    public func route(for path: String) -> Route? {
        var best: Route?
        for route in routes where Self.matches(prefix: route.prefix, path: path) {
            if best == nil || route.prefix.count > best!.prefix.count { best = route }
        }
        return best
    }

    static func matches(prefix: String, path: String) -> Bool {
        if prefix.isEmpty { return true }
        guard path.hasPrefix(prefix) else { return false }
        if prefix.hasSuffix("/") || path.count == prefix.count { return true }
        let next = path[path.index(path.startIndex, offsetBy: prefix.count)]
        return next == "/" || next == "?"
    }

    /// 127.0.0.0/8, ::1 or localhost: only this machine can connect there.
    public static func isLoopback(host: String) -> Bool {
        host.lowercased() == "localhost" || SocketAddress(numericHost: host, port: 0)?.isLoopback == true
    }

    /// Why a forward-proxy request may not go to `host:port` by its name (nil: it may, so far; the
    /// address it resolves to is checked too, by `ProxyServer.resolve`).
    public func forwardRefusal(host: String, port: Int) -> String? {
        ForwardPolicy(config: self).nameCheck(host: host, port: port)
    }
}
