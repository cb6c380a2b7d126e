import EventLoop
import HTTP1

/// One connection to the demo origin: reads requests, answers them, streams events.
final class OriginSession: ConnectionDelegate {
    unowned let origin: DemoOrigin
    let connection: Connection
    private var request: RequestHead?
    private var body = BodyTracker(.none, limits: HTTPLimits())
    private var bodyBytes: [UInt8] = []
    private var stream: EventStream?
    private var closed = false

    init(origin: DemoOrigin, connection: Connection) {
        self.origin = origin
        self.connection = connection
        connection.delegate = self
        connection.setWriteLowWatermark(16 * 1024)
    }

    func connectionReadable(_ c: Connection) {
        while !closed, stream == nil {
            if request == nil {
                let input = c.input
                guard !input.isEmpty else { return }
                let parsed: HeadParseResult<RequestHead>
                do {
                    parsed = try HeadParser.parseRequest(input.contiguous(input.count), limits: HTTPLimits())
                } catch {
                    respond(status: error.status, body: Array("\(error.reason)\n".utf8), keepAlive: false)
                    return
                }
                guard case .complete(let head, let length) = parsed else { return }
                input.drain(length)
                let framing: BodyFraming
                do { framing = try head.bodyFraming() } catch {
                    respond(status: error.status, body: Array("\(error.reason)\n".utf8), keepAlive: false)
                    return
                }
                request = head
                body = BodyTracker(framing, limits: HTTPLimits())
                bodyBytes = []
            }
            var failed = false
            let input = c.input
            var consumed = 0
            input.forEachSegment(limit: input.count) { segment in
                guard !failed, !body.isDone else { return }
                do { consumed += try body.consume(segment) { bodyBytes.append(contentsOf: $0) } } catch { failed = true }
            }
            input.drain(consumed)
            if failed {
                respond(status: 400, body: Array("bad chunked body\n".utf8), keepAlive: false)
                return
            }
            guard body.isDone, let head = request else { return }
            request = nil
            handle(head, body: bodyBytes)
        }
    }

    func connectionDrained(_ c: Connection) { stream?.pump() }

    func connectionEnded(_ c: Connection, _ end: Connection.End) { close() }

    func close() {
        guard !closed else { return }
        closed = true
        stream?.stop()
        stream = nil
        connection.close(.fin)
        origin.closed(self)
    }

    private func handle(_ head: RequestHead, body: [UInt8]) {
        let target = (try? RequestTarget.parse(head.target, method: head.method)) ?? .asterisk
        var path = "", query = ""
        switch target {
        case .origin(let p, let q): path = p; query = q ?? ""
        case .absolute(_, _, _, _, let pq):
            path = String(pq.prefix { $0 != "?" })
            query = pq.contains("?") ? String(pq[pq.index(after: pq.firstIndex(of: "?")!)...]) : ""
        default: break
        }
        let params = Self.parseQuery(query)
        let lastEventID = head.headers.first("Last-Event-ID")
        origin.record(.init(method: head.method, path: path, lastEventID: lastEventID))
        let keepAlive = head.keepAlive
        let isHead = head.method == "HEAD"

        switch path {
        case "/events":
            let resumeAfter = UInt64(lastEventID ?? params["last_event_id"] ?? "") ?? 0
            let settings = EventStream.Settings(
                startID: resumeAfter + 1,
                lastID: params["count"].flatMap { UInt64($0) },
                interval: (params["interval_ms"].flatMap { UInt64($0) } ?? 1000) * 1_000_000,
                heartbeat: (params["heartbeat_ms"].flatMap { UInt64($0) } ?? 15000) * 1_000_000,
                retry: params["retry"].flatMap { UInt64($0) },
                pad: params["pad"].flatMap { Int($0) } ?? 0,
                chunked: head.version == .http11)
            var headers = HTTPHeaders()
            headers.add("Content-Type", "text/event-stream")
            headers.add("Cache-Control", "no-cache")
            if settings.chunked { headers.add("Transfer-Encoding", "chunked") } else { headers.add("Connection", "close") }
            connection.write(ResponseHead(version: .http11, status: 200, reason: "OK", headers: headers).serialized())
            if isHead { close(); return }
            let stream = EventStream(loop: origin.loop, connection: connection, settings: settings) { [unowned self] in self.close() }
            self.stream = stream
            stream.start()
        case "/json":
            respond(status: 200, contentType: "application/json",
                    body: Array("{\"service\":\"sputter-demo-origin\",\"ok\":true}\n".utf8), keepAlive: keepAlive, headOnly: isHead)
        case "/echo":
            respond(status: 200, contentType: head.headers.first("Content-Type") ?? "application/octet-stream",
                    body: body, keepAlive: keepAlive, headOnly: isHead)
        case "/bytes":
            let size = params["size"].flatMap { Int($0) } ?? 1024
            let bytes = (0..<size).map { UInt8($0 % 251) }
            switch params["framing"] ?? "length" {
            case "chunked":
                var headers = HTTPHeaders()
                headers.add("Content-Type", "application/octet-stream")
                headers.add("Transfer-Encoding", "chunked")
                connection.write(ResponseHead(version: .http11, status: 200, reason: "OK", headers: headers).serialized())
                var offset = 0
                while offset < bytes.count {
                    let n = min(7919, bytes.count - offset)
                    bytes[offset..<offset + n].withUnsafeBytes { connection.write(ChunkedEncoder.chunk($0)) }
                    offset += n
                }
                connection.write(ChunkedEncoder.lastChunk)
                if !keepAlive { connection.close(.fin); close() }
            case "close":
                var headers = HTTPHeaders()
                headers.add("Content-Type", "application/octet-stream")
                headers.add("Connection", "close")
                connection.write(ResponseHead(version: .http11, status: 200, reason: "OK", headers: headers).serialized())
                connection.write(bytes)
                close()
            default:
                respond(status: 200, contentType: "application/octet-stream", body: bytes, keepAlive: keepAlive, headOnly: isHead)
            }
        case _ where path.hasPrefix("/status/"):
            let status = Int(path.dropFirst("/status/".count)) ?? 400
            respond(status: status, body: [], keepAlive: keepAlive, headOnly: isHead)
        case "/_origin/requests":
            if head.method == "DELETE" { origin.clearSeen() }
            respond(status: 200, contentType: "application/json", body: Array(origin.seenJSON.utf8), keepAlive: keepAlive, headOnly: isHead)
        default:
            respond(status: 404, body: Array("no such endpoint: \(path) (try /events, /json, /echo)\n".utf8), keepAlive: keepAlive, headOnly: isHead)
        }
    }

    private func respond(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8], keepAlive: Bool, headOnly: Bool = false) {
        var headers = HTTPHeaders()
        let bodiless = status == 204 || status == 304 || (100..<200).contains(status)
        if !bodiless {
            headers.add("Content-Type", contentType)
            headers.add("Content-Length", String(body.count))
        }
        if !keepAlive { headers.add("Connection", "close") }
        connection.write(ResponseHead(version: .http11, status: status, reason: Self.reason(status), headers: headers).serialized())
        if !headOnly, !bodiless { connection.write(body) }
        if !keepAlive { close() }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 304: return "Not Modified"
        case 404: return "Not Found"
        default: return "Status"
        }
    }

    static func parseQuery(_ query: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return out
    }
}
