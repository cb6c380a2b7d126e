import Faults
import HTTP1
import Ledger

/// The kinds of wait of one client connection: each has its own timer, so arming one never replaces another.
public enum TimerName: Int, CaseIterable, Sendable {
    /// A request head must arrive (`headTimeout`), or an idle keep-alive connection closes (`keepAliveTimeout`).
    case head
    /// A fault delays the upstream connection.
    case connectDelay
    /// A fault answers instead of the upstream, after a delay.
    case syntheticDelay
    /// The pause between two slices of a synthetic response head.
    case headSlice
    /// A fault holds the response head (and everything after it).
    case firstByte
    /// A shaped stream has a write, release or close due at a later time.
    case shaperWake
    /// The upstream has the whole request: its response head must come (`responseHeadTimeout`, then 504).
    case responseHead
    /// A request body must keep coming (`requestBodyTimeout`, then 408).
    case requestBody
    /// A stream must hear from its upstream (`streamIdleTimeout`, then the stream ends).
    case streamIdle
}

/// One of the session's two peers.
public enum Side: Sendable, Equatable {
    case client, upstream
}

/// How a connection is closed.
public enum CloseKind: Sendable, Equatable {
    /// After the last queued byte is written.
    case fin
    /// A reset after the queued bytes are written.
    case rst
    /// A reset now, unsent bytes discarded.
    case rstNow
    /// `shutdown(SHUT_WR)`: the peer reads end of stream, the socket stays.
    case halfClose

    public init(_ kind: Faults.CloseKind) {
        switch kind {
        case .fin: self = .fin
        case .rst: self = .rst
        case .halfClose: self = .halfClose
        }
    }
}

/// How a peer's connection ended (as the event loop saw it).
public enum PeerEnd: Sendable, Equatable, CustomStringConvertible {
    /// The peer closed its side.
    case eof
    /// A socket error: the errno and its text.
    case error(Int32, String)
    /// The connect timeout passed.
    case timeout
    /// The TLS handshake or session failed.
    case tls(String)

    /// errno ECONNREFUSED (Linux).
    static let connectionRefused: Int32 = 111

    public var description: String {
        switch self {
        case .eof: return "closed"
        case .timeout: return "timed out"
        case .tls(let reason): return "TLS: \(reason)"
        case .error(_, let text): return text
        }
    }
}

/// Why an upstream name did not become an address (the machine's view of the proxy's `ResolveFailure`).
public enum ResolveError: Error, Sendable, Equatable {
    case failed(String)
    /// Not answered within this many milliseconds.
    case timedOut(Int)
    /// The address is outside the forward-proxy allow-list.
    case forbidden(String)
}

/// A response Sputter makes itself (errors, refusals): short text body naming the cause,
/// `Sputter-Error` naming the kind for machines, and `Connection: close`.
public struct ErrorReply: Error, Sendable, Equatable {
    public var status: Int
    public var kind: String
    public var message: String
    public var extraHeaders: [HTTPField]

    public init(status: Int, kind: String, message: String, extraHeaders: [HTTPField] = []) {
        self.status = status
        self.kind = kind
        self.message = message
        self.extraHeaders = extraHeaders
    }

    public func serialized(headOnly: Bool = false) -> [UInt8] {
        let body = Array("sputter: \(message)\n".utf8)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; charset=utf-8")
        headers.add("Content-Length", String(body.count))
        headers.add("Connection", "close")
        headers.add("Sputter-Error", kind)
        for field in extraHeaders { headers.add(field.name, field.value) }
        let head = ResponseHead(version: .http11, status: status, reason: HTTPStatus.reasonPhrase(status), headers: headers)
        return head.serialized() + (headOnly ? [] : body)
    }
}

/// What the machine needs to know of a request (the driver parsed the head and planned the route).
public struct Request: Sendable, Equatable {
    public var method: String
    public var version: HTTPVersion
    public var keepAlive: Bool
    /// Whether the request body is complete as soon as the head is (no body, or an empty one).
    public var bodyless: Bool
    /// `Accept: text/event-stream`: the exchange is recorded from the start.
    public var acceptsEventStream: Bool
    public var upstreamHost: String
    public var upstreamPort: Int
    /// For messages: "http://127.0.0.1:5000".
    public var upstreamLabel: String
    /// Read the body (up to this many bytes, framing included) before selecting, for a profile's body
    /// matchers (`awaitingBody`); nil: select at once, as for any request without body matchers in play.
    public var bodyMatchLimit: Int?

    public init(head: RequestHead, framing: BodyFraming, upstreamHost: String, upstreamPort: Int, upstreamLabel: String,
                bodyMatchLimit: Int? = nil) {
        method = head.method
        version = head.version
        keepAlive = head.keepAlive
        bodyless = framing == .none || framing == .contentLength(0)
        acceptsEventStream = head.headers.first("Accept")?.lowercased().contains("text/event-stream") == true
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.upstreamLabel = upstreamLabel
        self.bodyMatchLimit = bodyMatchLimit
    }
}

/// The profile chosen for an exchange and its faults (nil: none).
public struct Selected: Sendable {
    public var profile: String
    public var faultPlan: FaultPlan?

    public init(profile: String, faultPlan: FaultPlan?) {
        self.profile = profile
        self.faultPlan = faultPlan
    }
}

/// How the response body travels to the client.
public enum BodyMode: Sendable {
    /// Bytes unchanged, evbuffer to evbuffer.
    case plain
    /// Bytes unchanged, parsed as SSE as they pass (frames for the ledger and the logs).
    case observed
    /// A chunked body to an HTTP/1.0 client: the payload only, ended by the close.
    case dechunk
    /// An event stream under faults: frames through this plan, re-chunked when `chunked`.
    case shaped(FaultPlan, chunked: Bool)
}

/// What a shaped stream wants next (the result of one pump).
public enum ShaperNext: Sendable, Equatable {
    /// Nothing to do until more input arrives.
    case idle
    /// Pump again at this time.
    case wake(at: Nanos)
    /// The client's buffer is full: pump again when it drains.
    case blocked
    /// Stalled for good: write nothing more, keep the socket open.
    case stalled
    /// End the client connection this way; `byFault` is false for the clean end that follows
    /// the upstream's own end of stream.
    case close(Faults.CloseKind, byFault: Bool)
    /// A cut the control API asked for landed: end the client connection this way.
    case cut(LiveAction.CutKind)
}

/// What the ledger is told.
public enum LedgerEntry: Sendable, Equatable {
    /// Start the exchange's record (started at `at`).
    case open(at: Nanos)
    case responseStarted(status: Int, contentType: String?, synthetic: Bool, at: Nanos)
    case delivered([UInt8], at: Nanos)
    case fault(FaultRecord)
}

/// A counter to move.
public enum Metric: Sendable, Equatable {
    case exchangeStarted(profile: String)
    case upstreamError(kind: String)
    case faultFired(String)
}

public enum LogLevel: Sendable, Equatable {
    case debug, info, warning
}

/// A log line; the driver adds the connection id.
public struct LogEntry: Sendable, Equatable {
    public var level: LogLevel
    public var message: String
    public var metadata: [String: String]
}

/// The end of an exchange that was selected (has a profile): metrics, the closing log line, the ledger.
public struct ExchangeEnd: Sendable, Equatable {
    public var end: ConnectionEnd
    public var profile: String
    /// The status the client was sent, if a response head went out.
    public var status: Int?
    /// Log "stream ended" (an event stream, or a recorded exchange).
    public var announce: Bool
    public var at: Nanos
    /// The client's connection is reset (RST): the ledger treats the last write as possibly unread.
    public var clientReset = false
}

/// A resolved upstream address: the machine only carries it from `.resolved` to `.connect`, so it holds
/// the driver's own type (a `SocketAddress`). Not a generic parameter (an unspecialised generic machine
/// costs metadata look-ups on every call across the module boundary) and not a bare existential (which
/// would make every copy of the state go through value witnesses): a reference, copied as one.
public final class UpstreamAddress: Sendable, CustomStringConvertible {
    public let value: any Sendable

    public init(_ value: any Sendable) { self.value = value }

    public var description: String { "\(value)" }
}

/// What the driver does for the machine, in order.
public enum Action: Sendable {
    /// Bytes to the client.
    case write([UInt8])
    /// Parse the next request head if its bytes are already in the client's input (pipelining).
    case readHead
    /// Resolve the upstream; answer with `.resolved`.
    case resolve(host: String, port: Int)
    /// Read the request body into a buffer, up to `limit` bytes (framing included), leaving it in the client's
    /// input for the upstream; answer with `.requestBodyBuffered` (again as more arrives).
    case bufferBody(limit: Int)
    /// Choose profile and seed (advancing the attempt counter); answer with `.selected` or `.selectionRejected`.
    case select
    /// Open the upstream connection, send the request head with this `Last-Event-ID` edit, relay the request body.
    case connect(UpstreamAddress, lastEventID: HeaderEdit)
    /// The response body starts: track it with this framing, carry it this way.
    case startBody(BodyFraming, BodyMode)
    /// Run the upstream's readable path now (bytes may be waiting).
    case readUpstream
    /// Run the client's readable path now (request body bytes may be waiting).
    case readClient
    /// Let the shaper write what is due (after its timer when `timerFired`); answer with `.shaperPumped`.
    case pumpShaper(timerFired: Bool)
    /// The upstream body ended: the shaper releases what it holds and queues the end.
    case finishShaper
    case arm(TimerName, after: Nanos)
    case cancel(TimerName)
    case pause(Side)
    case resume(Side)
    /// Close the upstream connection (FIN), if any.
    case closeUpstream
    /// The session is over: cancel every timer, close the client this way.
    case closeClient(CloseKind, reason: String)
    case record(LedgerEntry)
    case count(Metric)
    case log(LogEntry)
    case endExchange(ExchangeEnd)
    /// Hand a control API action to the stream's shaper (held until there is one).
    case live(LiveCommand)
    /// Switch a passthrough event stream to shaping at its next frame boundary; answer with `.becameShaped`.
    case becomeShaped
}

/// What happens to the session.
public enum Input: Sendable {
    /// The first bytes of a request head arrived.
    case headBytes
    /// The client's request head could not be parsed (not counted as a request).
    case invalidHead(ErrorReply)
    /// A request head that routes somewhere.
    case requestHead(Request)
    /// A request head that cannot be served (framing or routing).
    case requestRejected(ErrorReply, headOnly: Bool)
    case resolved(Result<UpstreamAddress, ResolveError>)
    case selected(Selected)
    case selectionRejected(ErrorReply)
    /// Request body bytes moved; `upstreamBacklog` is what waits in the upstream's output.
    case requestBodyRelayed(done: Bool, upstreamBacklog: Int)
    case requestBodyInvalid(ErrorReply)
    /// Bytes of a body read for body matchers arrived; `complete` once the whole body, or all the bound
    /// allows, is in (the driver then selects with the body, or with none when it was over the bound).
    case requestBodyBuffered(complete: Bool)
    /// The upstream accepted the connection.
    case connected
    /// A response head; `clientBacklog` is what waits in the client's output (1xx heads are paced by it).
    case upstreamHead(ResponseHead, clientBacklog: Int = 0)
    case upstreamHeadInvalid(String)
    /// Response body bytes moved; `clientBacklog` is what waits in the client's output.
    case responseBodyRelayed(done: Bool, clientBacklog: Int)
    /// The upstream broke its own framing mid-body.
    case responseBodyInvalid(String)
    /// The shaper took the upstream's payload; `upstreamDone` when the body ended (or broke).
    case shapedBodyIngested(upstreamDone: Bool)
    /// What one pump left: `backlog` is the shaper's queue plus the client's output.
    case shaperPumped(ShaperNext, backlog: Int, delivered: Int)
    /// The side's output drained to its low watermark.
    case drained(Side)
    case ended(Side, PeerEnd)
    case timerFired(TimerName)
    /// SIGINT/SIGTERM: close when idle; streams end now.
    case shutdown
    /// The server ends the session (shutdown grace over, loop stopped).
    case stop(reason: String, close: CloseKind, end: ConnectionEnd)
    /// The control API acts on the open stream; `delivered` is the payload the client has been sent.
    case live(LiveCommand, delivered: Int)
    /// A passthrough stream now goes through a shaper (after `.becomeShaped`).
    case becameShaped
}

/// Timeouts and watermarks the machine decides with.
public struct SessionConfig: Sendable {
    public var headTimeout: Nanos
    public var keepAliveTimeout: Nanos
    public var connectTimeout: Nanos
    public var highWater: Int
    public var lowWater: Int
    /// Whether recorded exchanges reach a ledger (off with several loops).
    public var recordLedger: Bool
    /// After the upstream has the whole request, its response head must come within this (nil: no limit).
    public var responseHeadTimeout: Nanos?
    /// An unfinished request body must not pause longer than this (nil: no limit).
    public var requestBodyTimeout: Nanos?
    /// A stream (event stream or close-delimited body) ends after this much upstream silence (nil: never).
    public var streamIdleTimeout: Nanos?

    public init(headTimeout: Nanos, keepAliveTimeout: Nanos, connectTimeout: Nanos, highWater: Int, lowWater: Int, recordLedger: Bool,
                responseHeadTimeout: Nanos? = nil, requestBodyTimeout: Nanos? = nil, streamIdleTimeout: Nanos? = nil) {
        self.responseHeadTimeout = responseHeadTimeout
        self.requestBodyTimeout = requestBodyTimeout
        self.streamIdleTimeout = streamIdleTimeout
        self.headTimeout = headTimeout
        self.keepAliveTimeout = keepAliveTimeout
        self.connectTimeout = connectTimeout
        self.highWater = highWater
        self.lowWater = lowWater
        self.recordLedger = recordLedger
    }
}
