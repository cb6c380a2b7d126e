import EventLoop
import HTTP1

/// A small HTTP/1.1 server on an `EventLoop` for Sputter's own endpoints (the control API, the
/// demo origin): reads each request with its body, hands it to a handler, writes the answer.
/// Not the proxy's data path: that is `Proxy.ClientSession`.
public final class MiniServer: LoopResident {
    public struct Request {
        public var head: RequestHead
        public var path: String
        public var query: [String: String]
        public var body: [UInt8]
        /// Who sent it ("127.0.0.1:53122").
        public var peer: String = ""
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public enum Reply {
        /// A complete response.
        case response(status: Int, contentType: String, body: [UInt8], headers: [HTTPField] = [])
        /// The handler wrote a response head itself and now owns the connection's output (a stream).
        /// `Stream.stop` is called when the connection ends; call `finish()` to end it.
        case stream((MiniServer.Stream) -> Void)
    }

    /// A response that the handler writes over time.
    public final class Stream {
        public let connection: Connection
        public let loop: EventLoop
        public var onDrained: (() -> Void)?
        public var onEnd: (() -> Void)?
        weak var session: MiniSession?
        init(connection: Connection, loop: EventLoop) {
            self.connection = connection
            self.loop = loop
        }
        /// Ends the response and the connection.
        public func finish() { session?.close() }
    }

    /// Deadlines for a connection's requests (a stream, once started, is subject to neither).
    public struct Timeouts: Sendable {
        /// From a request's first byte to its last (head and body): else 408 and the connection is closed.
        public var request: Nanos
        /// With no request under way (after accept, between keep-alive requests): else the connection is closed.
        public var idle: Nanos
        public init(request: Nanos, idle: Nanos) {
            self.request = request
            self.idle = idle
        }
    }

    public let loop: EventLoop
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: MiniSession] = [:]
    let handler: (Request) -> Reply
    let timeouts: Timeouts?

    /// - Parameter timeouts: nil: a connection may idle or trickle for ever (the demo origin).
    public init(loop: EventLoop, host: String, port: Int, timeouts: Timeouts? = nil, handler: @escaping (Request) -> Reply) throws {
        self.loop = loop
        self.handler = handler
        self.timeouts = timeouts
        listener = try Listener(loop: loop, host: host, port: port) { [unowned self] fd, peer in
            let session = MiniSession(server: self, connection: Connection(loop: loop, fd: fd, peer: peer))
            self.sessions[ObjectIdentifier(session)] = session
        }
    }

    public var port: Int { listener?.port ?? 0 }
    public var address: String { listener.map { "\($0.address)" } ?? "closed" }
    /// The bound address (the real port when `port` was 0); unspecified once torn down.
    public var listenAddress: SocketAddress { listener?.address ?? SocketAddress(ip: [0, 0, 0, 0], port: 0) }

    func closed(_ session: MiniSession) { sessions[ObjectIdentifier(session)] = nil }

    public func tearDown() {
        listener?.close()
        listener = nil
        for session in Array(sessions.values) { session.close() }
    }

    public static func parseQuery(_ query: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return out
    }
}

final class MiniSession: ConnectionDelegate {
    unowned let server: MiniServer
    let connection: Connection
    private var head: RequestHead?
    private var body = BodyTracker(.none, limits: HTTPLimits())
    private var bodyBytes: [UInt8] = []
    private var stream: MiniServer.Stream?
    private var closed = false
    /// The request or idle deadline (nil without `MiniServer.Timeouts`).
    private var deadline: Timer?
    /// A request has begun and is not complete yet.
    private var receiving = false
    static let maxBody = 1 << 20

    init(server: MiniServer, connection: Connection) {
        self.server = server
        self.connection = connection
        connection.delegate = self
        connection.setWriteLowWatermark(16 * 1024)
        if let timeouts = server.timeouts {
            let timer = server.loop.makeTimer { [unowned self] in self.deadlinePassed() }
            timer.arm(after: timeouts.idle)
            deadline = timer
        }
    }

    private func deadlinePassed() {
        guard !closed, stream == nil else { return }
        if receiving, let timeouts = server.timeouts {
            fail(408, "request not complete within \(timeouts.request / 1_000_000) ms")
        } else {
            close()
        }
    }

    func connectionReadable(_ c: Connection) {
        while !closed, stream == nil {
            let input = c.input
            if head == nil {
                guard !input.isEmpty else { return }
                if !receiving, let timeouts = server.timeouts {
                    receiving = true
                    deadline?.arm(after: timeouts.request)
                }
                do {
                    guard case .complete(let h, let length) = try HeadParser.parseRequest(input.contiguous(input.count), limits: HTTPLimits()) else { return }
                    input.drain(length)
                    body = BodyTracker(try h.bodyFraming(), limits: HTTPLimits())
                    head = h
                    bodyBytes = []
                } catch {
                    return fail(error.status, error.reason)
                }
            }
            var consumed = 0
            var failed = false
            input.forEachSegment(limit: input.count) { segment in
                guard !failed, !body.isDone else { return }
                do throws(HTTPParseError) { consumed += try body.consume(segment) { bodyBytes.append(contentsOf: $0) } } catch { failed = true }
            }
            input.drain(consumed)
            if failed { return fail(400, "malformed request body") }
            if bodyBytes.count > Self.maxBody { return fail(413, "request body over \(Self.maxBody) bytes") }
            guard body.isDone, let request = head else { return }
            head = nil
            handle(request)
            receiving = false
            if stream != nil {
                deadline?.cancel()
            } else if let timeouts = server.timeouts {
                deadline?.arm(after: timeouts.idle)
            }
        }
    }

    private func handle(_ head: RequestHead) {
        var path = head.target, query = ""
        if let q = head.target.firstIndex(of: "?") {
            path = String(head.target[..<q])
            query = String(head.target[head.target.index(after: q)...])
        }
        if case .absolute(_, _, _, _, let pq)? = try? RequestTarget.parse(head.target, method: head.method) {
            path = String(pq.prefix { $0 != "?" })
        }
        var request = MiniServer.Request(head: head, path: path, query: MiniServer.parseQuery(query), body: bodyBytes)
        request.peer = "\(connection.peer)"
        switch server.handler(request) {
        case .response(let status, let contentType, let body, let extra):
            var headers = HTTPHeaders()
            let bodiless = status == 204 || status == 304 || status < 200
            if !bodiless {
                headers.add("Content-Type", contentType)
                headers.add("Content-Length", String(body.count))
            }
            for field in extra { headers.add(field.name, field.value) }
            if !head.keepAlive { headers.add("Connection", "close") }
            connection.write(ResponseHead(version: .http11, status: status, reason: HTTPStatus.reasonPhrase(status), headers: headers).serialized())
            if head.method != "HEAD", !bodiless { connection.write(body) }
            if !head.keepAlive { close() }
        case .stream(let start):
            let stream = MiniServer.Stream(connection: connection, loop: server.loop)
            stream.session = self
            self.stream = stream
            start(stream)
        }
    }

    private func fail(_ status: Int, _ reason: String) {
        let body = Array("\(reason)\n".utf8)
        connection.write("HTTP/1.1 \(status) \(HTTPStatus.reasonPhrase(status))\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
        connection.write(body)
        close()
    }

    func connectionDrained(_ c: Connection) { stream?.onDrained?() }

    func connectionEnded(_ c: Connection, _ end: Connection.End) { close() }

    func close() {
        guard !closed else { return }
        closed = true
        deadline?.cancel()
        deadline = nil
        let ended = stream
        stream = nil
        ended?.onEnd?()
        // The handler's closures may hold the stream: break the cycle.
        ended?.onEnd = nil
        ended?.onDrained = nil
        connection.close(.fin)
        server.closed(self)
    }
}
