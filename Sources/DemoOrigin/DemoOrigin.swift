import EventLoop
import HTTP1
import Logging
import MiniServer

/// Sputter's built-in SSE origin, so a newcomer needs no backend and the tests have a real peer.
///
/// Endpoints:
/// - `GET /events`: an SSE stream. Events carry `id: n` (1, 2, 3…), `event: tick` (every fifth
///   `event: progress`), and JSON data `{"n":n}`; `:` heartbeats between them. A
///   `Last-Event-ID` header (or `last_event_id` parameter) resumes after that id; a replayed event is
///   byte-identical to the first sending. Parameters: `count` (end the stream after id N),
///   `interval_ms` (default 1000; 0 = as fast as the socket drains), `heartbeat_ms` (default 15000;
///   0 = none), `retry` (send `retry: N` first), `pad` (bytes of padding per event's data),
///   `stamp=1` (add `"sent_ns"`, the monotonic send time, for latency measurements).
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

    private var server: MiniServer?
    public private(set) var seen: [SeenRequest] = []

    public init(loop: EventLoop, host: String = "127.0.0.1", port: Int = 5000, logger: Logger = Logger(label: "sputter.demo-origin")) throws {
        server = nil
        server = try MiniServer(loop: loop, host: host, port: port) { [unowned self] request in self.handle(request) }
    }

    public var port: Int { server?.port ?? 0 }
    public var address: String { server?.address ?? "closed" }

    /// Streams end, the listener closes.
    public func tearDown() {
        server?.tearDown()
        server = nil
    }

    private func handle(_ request: MiniServer.Request) -> MiniServer.Reply {
        let head = request.head
        let params = request.query
        let lastEventID = head.headers.first("Last-Event-ID")
        seen.append(SeenRequest(method: head.method, path: request.path, lastEventID: lastEventID))
        switch request.path {
        case "/events":
            let resumeAfter = UInt64(lastEventID ?? params["last_event_id"] ?? "") ?? 0
            let settings = EventStream.Settings(
                startID: resumeAfter + 1,
                lastID: params["count"].flatMap { UInt64($0) },
                interval: (params["interval_ms"].flatMap { UInt64($0) } ?? 1000) * 1_000_000,
                heartbeat: (params["heartbeat_ms"].flatMap { UInt64($0) } ?? 15000) * 1_000_000,
                retry: params["retry"].flatMap { UInt64($0) },
                pad: params["pad"].flatMap { Int($0) } ?? 0,
                stamp: params["stamp"] == "1",
                chunked: head.version == .http11)
            let isHead = head.method == "HEAD"
            return .stream { stream in
                var headers = HTTPHeaders()
                headers.add("Content-Type", "text/event-stream")
                headers.add("Cache-Control", "no-cache")
                if settings.chunked { headers.add("Transfer-Encoding", "chunked") } else { headers.add("Connection", "close") }
                stream.connection.write(ResponseHead(version: .http11, status: 200, reason: "OK", headers: headers).serialized())
                if isHead { return stream.finish() }
                let events = EventStream(loop: stream.loop, connection: stream.connection, settings: settings) { stream.finish() }
                stream.onDrained = { events.pump() }
                stream.onEnd = { events.stop() }
                events.start()
            }
        case "/json":
            return .response(status: 200, contentType: "application/json", body: Array("{\"service\":\"sputter-demo-origin\",\"ok\":true}\n".utf8))
        case "/echo":
            return .response(status: 200, contentType: head.headers.first("Content-Type") ?? "application/octet-stream", body: request.body)
        case "/bytes":
            let size = params["size"].flatMap { Int($0) } ?? 1024
            let bytes = (0..<size).map { UInt8($0 % 251) }
            let framing = params["framing"] ?? "length"
            guard framing != "length" else { return .response(status: 200, contentType: "application/octet-stream", body: bytes) }
            return .stream { stream in
                var headers = HTTPHeaders()
                headers.add("Content-Type", "application/octet-stream")
                headers.add(framing == "chunked" ? "Transfer-Encoding" : "Connection", framing == "chunked" ? "chunked" : "close")
                stream.connection.write(ResponseHead(version: .http11, status: 200, reason: "OK", headers: headers).serialized())
                if framing == "chunked" {
                    var offset = 0
                    while offset < bytes.count {
                        let n = min(7919, bytes.count - offset)
                        stream.connection.write(ChunkedEncoder.chunk(Array(bytes[offset..<offset + n])))
                        offset += n
                    }
                    stream.connection.write(ChunkedEncoder.lastChunk)
                } else {
                    stream.connection.write(bytes)
                }
                stream.finish()
            }
        case _ where request.path.hasPrefix("/status/"):
            return .response(status: Int(request.path.dropFirst("/status/".count)) ?? 400, contentType: "text/plain", body: [])
        case "/_origin/requests":
            if head.method == "DELETE" { seen.removeAll() }
            return .response(status: 200, contentType: "application/json", body: Array(seenJSON.utf8))
        default:
            return .response(status: 404, contentType: "text/plain; charset=utf-8",
                             body: Array("no such endpoint: \(request.path) (try /events, /json, /echo)\n".utf8))
        }
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
