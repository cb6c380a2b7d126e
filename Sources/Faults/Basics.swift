/// Monotonic nanoseconds, always passed in by the caller. The engine never reads a clock.
public typealias Nanos = UInt64

extension Nanos {
    /// `n` milliseconds as nanoseconds.
    public static func millis(_ n: UInt64) -> Nanos { n &* 1_000_000 }
    /// `n` seconds as nanoseconds.
    public static func seconds(_ n: UInt64) -> Nanos { n &* 1_000_000_000 }
}

/// How a connection to the client ends. The raw values are the one spelling used everywhere: profiles
/// (`kind: half_close`), ledger files (`fault_kind`), fault records and reports.
public enum CloseKind: String, Sendable, Equatable, CaseIterable {
    /// `SO_LINGER {1, 0}` then close: the client sees ECONNRESET.
    case rst
    /// A normal close after the last byte was written.
    case fin
    /// `shutdown(SHUT_WR)`: the client reads end of stream, the proxy keeps the socket.
    case halfClose = "half_close"

    /// Reads a close kind from a ledger file or profile: the spelling above, or one written by older
    /// versions (`halfClose`, `half-close`).
    public init?(spelling: String) {
        switch spelling {
        case "halfClose", "half-close": self = .halfClose
        default: self.init(rawValue: spelling)
        }
    }
}

/// What to do with one request or response header.
public enum HeaderEdit: Sendable, Equatable {
    case keep
    case remove
    case set(String)
}

/// One header line of a synthetic response.
public struct HeaderField: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A response Sputter writes itself instead of relaying the upstream one.
public struct SyntheticResponse: Sendable, Equatable {
    public var status: Int
    public var reason: String
    public var headers: [HeaderField]
    public var body: [UInt8]
    /// Slow headers: the proxy writes the head in slices of `bytes` with `pause` between
    /// (nil = all at once).
    public var headSlice: (bytes: Int, pause: Nanos)?
    /// How the connection ends after the body: `.fin` normally; nil keeps the socket open
    /// (an "empty 200 that stays open").
    public var after: CloseKind?

    public init(
        status: Int, reason: String, headers: [HeaderField] = [], body: [UInt8] = [],
        headSlice: (bytes: Int, pause: Nanos)? = nil, after: CloseKind? = .fin
    ) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.headSlice = headSlice
        self.after = after
    }

    public static func == (a: SyntheticResponse, b: SyntheticResponse) -> Bool {
        a.status == b.status && a.reason == b.reason && a.headers == b.headers && a.body == b.body
            && a.headSlice?.bytes == b.headSlice?.bytes && a.headSlice?.pause == b.headSlice?.pause
            && a.after == b.after
    }
}

/// What the proxy does with a client's request, decided before anything goes upstream.
public enum RequestDecision: Sendable, Equatable {
    /// Connect upstream after `connectDelay` and relay, editing `Last-Event-ID` as told.
    case relay(connectDelay: Nanos, lastEventID: HeaderEdit)
    /// Do not connect upstream: write this response after `delay`.
    case respond(SyntheticResponse, delay: Nanos)
    /// Accept the connection and reset it at once.
    case refuse
}

/// What the proxy does with the upstream response head.
public struct HeadDecision: Sendable, Equatable {
    /// Wait this long before writing the head to the client.
    public var firstByteDelay: Nanos
    /// Edit of the `Content-Type` header sent to the client.
    public var contentType: HeaderEdit
    /// Whether frame faults run on this response. When false the proxy relays the body raw.
    public var streamFaults: Bool

    public init(firstByteDelay: Nanos = 0, contentType: HeaderEdit = .keep, streamFaults: Bool) {
        self.firstByteDelay = firstByteDelay
        self.contentType = contentType
        self.streamFaults = streamFaults
    }
}

/// One thing for the proxy to do on the client connection. Emissions form a FIFO: item k is
/// performed only after every item before it, and never before its `notBefore`.
public enum Emission: Sendable, Equatable {
    /// Payload bytes for the client, in order. `frameIndex` is the upstream frame they came
    /// from (nil for bytes a fault injected).
    case write([UInt8], notBefore: Nanos, frameIndex: Int?)
    /// Close the connection after everything before it is written.
    case close(CloseKind, notBefore: Nanos)
    /// End the body cleanly after everything before it is written: for a chunked body the
    /// zero-length chunk, then FIN (`end`, `inject … then: end`). Always clean, whatever the upstream did.
    case end(notBefore: Nanos)
    /// Stall: write nothing more until `until` (nil = forever; the socket stays open).
    case pause(until: Nanos?)
}

/// One decision a fault took, for the ledger.
public struct FaultRecord: Sendable, Equatable, CustomStringConvertible {
    /// The upstream frame the decision is about, if any.
    public var frameIndex: Int?
    /// The fault's name, e.g. `"drop"`.
    public var fault: String
    /// What happened, as a value: `.dropped(bytes: 23)`, `.delayed(120ms)`, `.corrupted(.truncated(…))`.
    public var effect: FaultEffect
    /// When the decision was taken.
    public var at: Nanos

    public init(frameIndex: Int?, fault: String, effect: FaultEffect, at: Nanos) {
        self.frameIndex = frameIndex
        self.fault = fault
        self.effect = effect
        self.at = at
    }

    /// What happened, in words (the ledger's `action` field): `"dropped 23 bytes"`, `"delayed 120ms"`.
    public var action: String { effect.description }

    public var description: String {
        "\(fault)\(frameIndex.map { "#\($0)" } ?? ""): \(action) @\(at)"
    }
}

/// Formats a duration exactly, in the largest unit that divides it: `0ms`, `2s`, `1500ms`, `250us`, `7ns`.
public func formatNanos(_ n: Nanos) -> String {
    if n == 0 { return "0ms" }
    if n % 1_000_000_000 == 0 { return "\(n / 1_000_000_000)s" }
    if n % 1_000_000 == 0 { return "\(n / 1_000_000)ms" }
    if n % 1_000 == 0 { return "\(n / 1_000)us" }
    return "\(n)ns"
}
