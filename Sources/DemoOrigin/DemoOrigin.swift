import EventLoop
import HTTP1
import Logging

/// Sputter's built-in SSE origin, so a newcomer needs no backend and the tests have a real peer.
///
/// Endpoints:
/// - `GET /events`: an SSE stream. Events carry `id: n` (1, 2, 3…), `event: tick` (every fifth
///   `event: progress`), and JSON data `{"n":n,"sent_ns":…}`; `:` heartbeats between them. A
///   `Last-Event-ID` header (or `last_event_id` parameter) resumes after that id. Parameters:
///   `count` (end the stream after id N), `interval_ms` (default 1000; 0 = as fast as the socket
///   drains), `heartbeat_ms` (default 15000; 0 = none), `retry` (send `retry: N` first),
///   `pad` (bytes of padding per event's data).
/// - `GET /json`: a small JSON document.  `* /echo`: the request body back, same Content-Type.
/// - `GET /bytes?size=N&framing=length|chunked|close`: N pattern bytes (byte i is i % 251).
/// - `GET /status/NNN`: an empty response with that status.
/// - `GET /_origin/requests`: what this origin has seen (method, path, Last-Event-ID) as JSON;
///   `DELETE` clears it. Tests read it to check the `Last-Event-ID` each reconnect carried.
public final class DemoOrigin: LoopResident {
    public struct SeenRequest: Sendable, Equatable {
        public var method: String
        public var path: String
        public var lastEventID: String?
    }

    let loop: EventLoop
    let logger: Logger
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: OriginSession] = [:]
    public private(set) var seen: [SeenRequest] = []

    public init(loop: EventLoop, host: String = "127.0.0.1", port: Int = 5000, logger: Logger = Logger(label: "sputter.demo-origin")) throws {
        self.loop = loop
        self.logger = logger
        listener = try Listener(loop: loop, host: host, port: port) { [unowned self] fd, peer in
            let session = OriginSession(origin: self, connection: Connection(loop: loop, fd: fd, peer: peer))
            self.sessions[ObjectIdentifier(session)] = session
        }
    }

    public var port: Int { listener?.port ?? 0 }
    public var address: String { listener.map { "\($0.address)" } ?? "closed" }

    func record(_ request: SeenRequest) { seen.append(request) }
    func clearSeen() { seen.removeAll() }
    func closed(_ session: OriginSession) { sessions[ObjectIdentifier(session)] = nil }

    /// Streams end, the listener closes.
    public func tearDown() {
        listener?.close()
        listener = nil
        for session in Array(sessions.values) { session.close() }
    }

    var seenJSON: String {
        let items = seen.map { r in
            "{\"method\":\(jsonString(r.method)),\"path\":\(jsonString(r.path)),\"last_event_id\":\(r.lastEventID.map(jsonString) ?? "null")}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
