import EventLoop
import Faults
import HTTP1
import Ledger
import SSE

/// Sputter's own request controls, taken off the request before it goes upstream.
public struct SputterControls: Sendable, Equatable {
    public var profile: String?
    public var seed: String?
    public var client: String?
    /// `Sputter-Contract` / `sputter_contract`: the client contract the ledger judges this request by.
    public var contract: String?

    static let headerNames = ["Sputter-Profile", "Sputter-Seed", "Sputter-Client", "Sputter-Contract"]
    static let queryNames = ["sputter_profile", "sputter_seed", "sputter_client", "sputter_contract"]

    /// Removes the controls from `headers` and from the query of `pathAndQuery`; headers win over query parameters.
    static func extract(headers: inout HTTPHeaders, pathAndQuery: String) -> (SputterControls, String) {
        var controls = SputterControls()
        var path = pathAndQuery
        if let q = pathAndQuery.firstIndex(of: "?") {
            let query = pathAndQuery[pathAndQuery.index(after: q)...]
            var kept: [Substring] = []
            for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
                let key = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                let value = pair.contains("=") ? String(pair[pair.index(after: pair.firstIndex(of: "=")!)...]) : ""
                switch key {
                case "sputter_profile": controls.profile = percentDecoded(value)
                case "sputter_seed": controls.seed = percentDecoded(value)
                case "sputter_client": controls.client = percentDecoded(value)
                case "sputter_contract": controls.contract = percentDecoded(value)
                default: kept.append(pair)
                }
            }
            path = String(pathAndQuery[..<q]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        }
        if let v = headers.first("Sputter-Profile") { controls.profile = v }
        if let v = headers.first("Sputter-Seed") { controls.seed = v }
        if let v = headers.first("Sputter-Client") { controls.client = v }
        if let v = headers.first("Sputter-Contract") { controls.contract = v }
        for name in headerNames { headers.remove(name) }
        return (controls, path)
    }
}

func percentDecoded(_ s: String) -> String {
    guard s.contains("%") || s.contains("+") else { return s }
    var out: [UInt8] = []
    var bytes = Array(s.utf8)[...]
    while let b = bytes.popFirst() {
        if b == UInt8(ascii: "+") {
            out.append(UInt8(ascii: " "))
        } else if b == UInt8(ascii: "%"), bytes.count >= 2,
                  let hi = hexValue(bytes[bytes.startIndex]), let lo = hexValue(bytes[bytes.startIndex + 1]) {
            out.append(hi << 4 | lo)
            bytes = bytes.dropFirst(2)
        } else {
            out.append(b)
        }
    }
    return String(decoding: out, as: UTF8.self)
}

private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Where a request goes and the head it goes with: routing, forward-proxy checks, header rewriting.
struct ExchangePlan {
    var upstreamHost: String
    var upstreamPort: Int
    /// Connect with TLS (an https:// route).
    var upstreamTLS = false
    /// For messages: "http://127.0.0.1:5000".
    var upstreamLabel: String
    var upstreamHead: RequestHead
    var controls: SputterControls
    /// The request path as the client sent it, without Sputter's parameters.
    var path: String

    init(request: RequestHead, client: SocketAddress, config: ProxyConfig) throws {
        let target: RequestTarget
        do {
            target = try RequestTarget.parse(request.target, method: request.method)
        } catch {
            throw ErrorResponse(status: error.status, kind: "bad-request", message: error.reason)
        }
        var headers = request.headers
        let originalHost = headers.first("Host")
        let pathAndQuery: String
        let authority: String
        var basePath = ""
        switch target {
        case .authority:
            throw ErrorResponse(status: 405, kind: "connect-refused",
                                message: "CONNECT is not supported: a TLS tunnel cannot be faulted at the event level; send plain http:// requests through Sputter",
                                extraHeaders: [HTTPField(name: "Allow", value: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")])
        case .absolute(let scheme, let auth, let host, let port, let pq):
            guard scheme == "http" else {
                throw ErrorResponse(status: 400, kind: "bad-request", message: "only http:// targets can be proxied (got \(scheme)://)")
            }
            // Never to Sputter's own listeners; else an upstream's host:port or an --allow-host entry (names are
            // checked again on the address they resolve to).
            let policy = ForwardPolicy(config: config)
            if let refusal = policy.ownListenerCheck(host: host, port: port) {
                throw ErrorResponse(status: 403, kind: "own-listener", message: refusal)
            }
            if let refusal = policy.nameCheck(host: host, port: port) {
                throw ErrorResponse(status: 403, kind: "host-not-allowed", message: refusal)
            }
            upstreamHost = host
            upstreamPort = port
            upstreamLabel = "http://\(auth)"
            authority = auth
            pathAndQuery = pq
        case .origin(let path, let query):
            pathAndQuery = query.map { "\(path)?\($0)" } ?? path
            guard let route = config.route(for: path) else {
                throw ErrorResponse(status: 502, kind: "no-upstream", message: "no upstream is configured for \(path)")
            }
            upstreamHost = route.upstream.host
            upstreamPort = route.upstream.port
            upstreamLabel = "\(route.upstream.scheme)://\(route.upstream.authority)"
            upstreamTLS = route.upstream.scheme == "https"
            authority = route.upstream.authority
            basePath = route.upstream.basePath
        case .asterisk:
            pathAndQuery = "*"
            guard let route = config.route(for: "") ?? config.routes.first else {
                throw ErrorResponse(status: 502, kind: "no-upstream", message: "no upstream is configured")
            }
            upstreamHost = route.upstream.host
            upstreamPort = route.upstream.port
            upstreamLabel = "\(route.upstream.scheme)://\(route.upstream.authority)"
            upstreamTLS = route.upstream.scheme == "https"
            authority = route.upstream.authority
        }
        let (controls, strippedTarget) = SputterControls.extract(headers: &headers, pathAndQuery: pathAndQuery)
        self.controls = controls
        self.path = String(strippedTarget.prefix { $0 != "?" })

        headers.removeHopByHop()
        headers.remove("Host")
        let forwardedFor = headers.values("X-Forwarded-For").joined(separator: ", ")
        headers.remove("X-Forwarded-For")
        var fields = [HTTPField(name: "Host", value: authority)]
        fields.append(contentsOf: headers.fields)
        headers.fields = fields
        headers.add("X-Forwarded-For", forwardedFor.isEmpty ? client.host : "\(forwardedFor), \(client.host)")
        if !headers.contains("X-Forwarded-Proto") { headers.add("X-Forwarded-Proto", "http") }
        if let originalHost, !headers.contains("X-Forwarded-Host") { headers.add("X-Forwarded-Host", originalHost) }
        headers.add("Via", "\(request.version.major).\(request.version.minor) sputter")
        // One upstream connection per exchange: simple, and every exchange sees a fresh upstream.
        headers.add("Connection", "close")
        let upstreamTarget = strippedTarget == "*" ? "*" : basePath + strippedTarget
        upstreamHead = RequestHead(method: request.method, target: upstreamTarget, version: .http11, headers: headers)
    }
}

/// The byte-level state of one exchange, beside the session machine's decisions: the upstream head
/// to send, the body trackers, how the response body travels, and the ledger's id.
final class Exchange {
    let request: RequestHead
    var plan: ExchangePlan
    /// Profile, seed, client key and attempt for this exchange.
    var selection: Selection?
    /// The ledger's id for this exchange, when it is recorded (event streams only).
    var ledgerID: UInt64?
    var ledger: SharedLedger?
    var metrics: ProxyMetrics?
    var wallMs: UInt64 = 0
    var requestBody: BodyTracker
    let requestFraming: BodyFraming
    /// The request body read ahead for body matchers (it stays in the client's input for the upstream).
    var bodyPeek: BodyPeek?
    var responseBody = BodyTracker(.none, limits: HTTPLimits())
    /// How the response body travels (one of them, chosen by the machine with the response head).
    enum Body {
        case plain
        /// A chunked response to an HTTP/1.0 client: send the payload, end with the connection.
        case dechunk
        /// A passthrough event stream is still parsed as it passes (frames for the ledger and logs);
        /// the bytes go to the client unchanged and are never held for the parse.
        case observed(Observer)
        /// An event stream under faults.
        case shaped(StreamShaper)
    }
    var body = Body.plain
    /// The parser of an observed stream, in a box so that it is fed in place. The bytes reach the client
    /// unchanged; the parser holds a block only to make a frame of it, and at most `smallBlockBytes` of
    /// one when nothing needs the whole block: when the ledger does not record the stream (a larger block
    /// passes as pieces, counted as no frame), and when it records it from the client model
    /// (`Ledger.recordsOversizedBlocks`: a larger block is recorded from its pieces). Only a recorded
    /// stream without a client model (its response fails a spec-exact client) holds blocks up to
    /// `--max-event-bytes`, and counts a larger one as passed through unparsed.
    final class Observer {
        var parser: SSEParser
        /// Blocks over the parser's limit are ones `--max-event-bytes` names (the warning at the end).
        let countsOversized: Bool
        static let smallBlockBytes = 64 << 10
        init(maxFrameBytes: Int, holdsWholeBlocks: Bool) {
            countsOversized = holdsWholeBlocks
            parser = SSEParser(maxFrameBytes: holdsWholeBlocks ? maxFrameBytes : min(maxFrameBytes, Self.smallBlockBytes))
        }
    }
    var shaper: StreamShaper? { if case .shaped(let s) = body { return s } else { return nil } }
    private(set) var framesObserved = 0
    /// SSE blocks larger than the limit: passed on, not parsed into frames; logged at the end.
    private(set) var oversizedBlocks = 0
    var totalOversizedBlocks: Int { oversizedBlocks + (shaper?.oversizedBlocks ?? 0) }

    /// One read's payload, once it is on its way: parsed once, and given to the ledger (when recorded) in
    /// one call under one lock (`Ledger.relayed`: the frames sent and the same bytes delivered).
    func observe(_ payload: UnsafeRawBufferPointer) {
        guard case .observed(let observer) = body else { return }
        var read = Ledger.RelayedRead()
        if let ledgerID, let ledger {
            let now = monotonicNanos()
            read = ledger.with { $0.relayed(id: ledgerID, bytes: payload, at: now, parser: &observer.parser) }
        } else {
            observer.parser.feed(payload) { read.count($0) }
        }
        framesObserved += read.frames
        if observer.countsOversized { oversizedBlocks += read.oversizedBlocks }  // else over its own, smaller limit
        if read.events > 0 { metrics?.events.increment(by: Int64(read.events)) }
    }

    /// Bytes held for the response body besides the connections' buffers: the parser's unfinished block
    /// (observed), the fault engine's queue and parser (shaped), and the ledger's share of this connection.
    var heldBytes: Int {
        var held = 0
        switch body {
        case .observed(let observer): held += observer.parser.unfinishedTail.count
        case .shaped(let shaper): held += shaper.heldBytes
        case .plain, .dechunk: break
        }
        if let ledgerID, let ledger { held += ledger.with { $0.heldBytes(id: ledgerID) } }
        return held
    }

    init(request: RequestHead, plan: ExchangePlan, requestFraming: BodyFraming, limits: HTTPLimits) {
        self.request = request
        self.plan = plan
        self.requestBody = BodyTracker(requestFraming, limits: limits)
        self.requestFraming = requestFraming
    }
}

/// A request body read ahead of selection, without taking it from the client's input: a tracker of its own
/// follows the framing (so a chunked body is de-chunked for the matchers), and the bytes stay where they are
/// to be relayed to the upstream unchanged.
struct BodyPeek {
    var tracker: BodyTracker
    /// Bytes of the client's input already scanned (framing included).
    var scanned = 0
    var payload: [UInt8] = []
    let limit: Int
    /// Over `limit` (or too long by its Content-Length): the matchers get no body.
    var overLimit = false

    init(framing: BodyFraming, limits: HTTPLimits, limit: Int) {
        tracker = BodyTracker(framing, limits: limits)
        self.limit = limit
        if case .contentLength(let n) = framing, n > UInt64(limit) { overLimit = true }
    }

    var complete: Bool { overLimit || tracker.isDone }
    /// What the matchers see: the payload once the whole body is in, else nothing.
    var body: [UInt8]? { tracker.isDone && !overLimit ? payload : nil }

    /// Scans what arrived since the last call, up to `limit` bytes of the input.
    mutating func scan(_ input: Buffer) throws(HTTPParseError) {
        guard !complete else { return }
        let window = input.contiguous(min(input.count, limit))
        guard window.count > scanned else { return }
        let fresh = UnsafeRawBufferPointer(rebasing: window[scanned...])
        var collected = payload
        scanned += try tracker.consume(fresh) { collected.append(contentsOf: $0) }
        payload = collected
        if !tracker.isDone, scanned >= limit { overLimit = true }
    }
}
