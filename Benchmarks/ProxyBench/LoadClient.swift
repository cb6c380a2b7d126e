import EventLoop
import Glibc
import HTTP1
import Histogram
import SSE

/// What the load client measured over one window.
struct ClientWindow {
    var latency: Histogram<UInt64>
    var events: UInt64
    var early: UInt64
    var payloadBytes: UInt64
    var seconds: Double
    var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
    var megabytesPerSecond: Double { seconds > 0 ? Double(payloadBytes) / seconds / 1e6 : 0 }
}

/// N SSE streams on one event loop: connects (a bounded number at a time), sends the request,
/// parses the response head (HTTP1), de-chunks the body, parses events (SSE) and records each
/// event's latency (receive time minus the send time it carries; same machine, monotonic clock)
/// in an HdrHistogram. Loop-confined: the harness talks to it through `LoopThread.handle`.
final class LoadClient: LoopResident {
    let loop: EventLoop
    private var streams: [ClientStream] = []
    private var queue: [ClientStream] = []
    private var pending = 0
    private var maxPending = 256
    var histogram = LoadClient.makeHistogram()
    var recording = false
    var windowStart: Nanos = 0
    var events: UInt64 = 0
    /// Subtracted from each latency before it is recorded (0, or the delay a fault adds).
    var expected: Nanos = 0
    /// Events that arrived sooner than `expected` after they were sent.
    var early: UInt64 = 0
    var payloadBytes: UInt64 = 0
    private(set) var opened = 0
    private var runID = 0
    private(set) var failed = 0
    private(set) var firstError: String?
    /// Events received in total (recording or not): tells the harness the streams are flowing.
    private(set) var totalEvents: UInt64 = 0

    /// `event_base_dispatch` returns when no event is pending: this one keeps the loop alive between runs.
    private var keepAlive: Timer?

    init(loop: EventLoop) {
        self.loop = loop
        keepAlive = loop.makeTimer { [unowned self] in self.keepAlive?.arm(after: 1_000_000_000) }
        keepAlive?.arm(after: 1_000_000_000)
    }

    static func makeHistogram() -> Histogram<UInt64> {
        // 1 µs … 100 s, 3 significant digits, in nanoseconds.
        Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Opens `count` streams to `port`, `maxPending` connects at a time.
    func open(count: Int, port: Int, target: String, maxPending: Int = 256) {
        let address: SocketAddress
        do { address = try SocketAddress.resolve(host: "127.0.0.1", port: port) } catch {
            failed += count
            firstError = "\(error)"
            return
        }
        self.maxPending = maxPending
        opened = 0
        failed = 0
        firstError = nil
        pending = 0
        totalEvents = 0
        for i in 0..<count {
            // Each stream is its own client for Sputter's ledger (as distinct browsers would be);
            // other peers pass the header on, unread.
            let request = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nSputter-Client: bench-\(runID)-\(i)\r\n\r\n".utf8)
            queue.append(ClientStream(client: self, address: address, request: request))
        }
        runID += 1
        queue.reverse()
        startMore()
    }

    private func startMore() {
        while pending < maxPending, let next = queue.popLast() {
            pending += 1
            streams.append(next)
            next.connect()
        }
    }

    func streamOpened(_ s: ClientStream) {
        opened += 1
        pending -= 1
        startMore()
    }

    func streamFailed(_ s: ClientStream, _ reason: String, beforeOpen: Bool) {
        failed += 1
        if firstError == nil { firstError = reason }
        if beforeOpen {
            pending -= 1
            startMore()
        }
    }

    @inline(__always)
    func received(sentAt: Nanos, now: Nanos, bytes: Int) {
        totalEvents &+= 1
        guard recording else { return }
        events &+= 1
        payloadBytes &+= UInt64(bytes)
        let latency = now > sentAt ? now - sentAt : 0
        // Recorded relative to `expected` (the delay fault's setting), so a 100 ms delay keeps µs resolution.
        if latency < expected { early &+= 1 }
        histogram.record(latency > expected ? latency - expected : 0)
    }

    func startWindow() {
        histogram = Self.makeHistogram()
        events = 0
        early = 0
        payloadBytes = 0
        windowStart = monotonicNanos()
        recording = true
    }

    func endWindow() -> ClientWindow {
        recording = false
        return ClientWindow(latency: histogram, events: events, early: early, payloadBytes: payloadBytes,
                            seconds: Double(monotonicNanos() - windowStart) / 1e9)
    }

    func closeAll() {
        queue.removeAll()
        for s in streams { s.close() }
        streams.removeAll()
    }

    func tearDown() {
        closeAll()
        keepAlive?.cancel()
        keepAlive = nil
    }
}

/// One stream of the load client.
final class ClientStream: ConnectionDelegate {
    unowned let client: LoadClient
    let address: SocketAddress
    let request: [UInt8]
    private var connection: Connection?
    private var head: ResponseHead?
    private var body = BodyTracker(.none, limits: HTTPLimits())
    private var parser = SSEParser()
    private var isOpen = false
    private var done = false

    init(client: LoadClient, address: SocketAddress, request: [UInt8]) {
        self.client = client
        self.address = address
        self.request = request
    }

    func connect() {
        connection = Connection(loop: client.loop, connectingTo: address, timeout: 20_000_000_000, delegate: self)
    }

    func close() {
        done = true
        connection?.close(.fin)
        connection = nil
    }

    func connectionConnected(_ c: Connection) { c.write(request) }

    func connectionReadable(_ c: Connection) {
        let now = monotonicNanos()
        let input = c.input
        if head == nil {
            do {
                let window = input.contiguous(input.count)
                guard case .complete(let h, let length) = try HeadParser.parseResponse(window, limits: HTTPLimits()) else { return }
                input.drain(length)
                guard h.status == 200 else { return fail("status \(h.status)") }
                body = BodyTracker(try h.bodyFraming(requestMethod: "GET"), limits: HTTPLimits())
                head = h
                isOpen = true
                client.streamOpened(self)
            } catch {
                return fail("bad response head: \(error.reason)")
            }
        }
        var consumed = 0
        var failure: HTTPParseError?
        input.forEachSegment(limit: input.count) { segment in
            guard failure == nil, !body.isDone else { return }
            do throws(HTTPParseError) {
                consumed += try body.consume(segment) { payload in
                    parser.feed(payload) { output in
                        guard case .frame(let frame) = output, frame.kind == .event else { return }
                        client.received(sentAt: Self.stamp(frame.raw), now: now, bytes: frame.raw.count)
                    }
                }
            } catch {
                failure = error
            }
        }
        input.drain(consumed)
        if let failure { fail("bad body: \(failure.reason)") }
    }

    /// The 20-digit send time right after `\ndata: `.
    static func stamp(_ raw: [UInt8]) -> Nanos {
        raw.withUnsafeBufferPointer { p -> Nanos in
            let n = p.count
            var i = 0
            while i + 26 < n {
                if p[i] == 0x0A, p[i + 1] == UInt8(ascii: "d"), p[i + 5] == UInt8(ascii: ":") {
                    var v: Nanos = 0
                    for j in (i + 7)..<(i + 27) { v = v &* 10 &+ Nanos(p[j] &- UInt8(ascii: "0")) }
                    return v
                }
                i += 1
            }
            return 0
        }
    }

    func connectionEnded(_ c: Connection, _ end: Connection.End) {
        connection = nil
        if !done { fail("connection \(end)") }
    }

    private func fail(_ reason: String) {
        guard !done else { return }
        done = true
        client.streamFailed(self, reason, beforeOpen: !isOpen)
        connection?.close(.fin)
        connection = nil
    }
}
