import EventLoop
import Glibc
import HTTP1
import MiniServer

/// The benchmark's SSE origin (run as a child process: `sputter-bench origin`).
///
/// `GET /events?rate=R&size=B[&count=N]`: a chunked `text/event-stream`. Each event is exactly B bytes
/// (at least 64) and carries its send time, monotonic nanoseconds, as 20 digits at the start of
/// its data: `id: N\nevent: tick\ndata: 00000000123456789012 xxx…\n\n`.
/// R > 0: R events per second on this stream, on an absolute schedule (no drift), one chunk per
/// event, the first at a random phase within one period (so N streams spread out).
/// R = 0: as fast as the socket drains: batches of events (one chunk per ~16 KiB batch) while
/// less than 64 KiB waits in the output buffer; resumed when it drains.
final class BenchOrigin: LoopResident {
    private var server: MiniServer?
    private(set) var streams = 0

    init(loop: EventLoop, port: Int) throws {
        server = nil
        server = try MiniServer(loop: loop, host: "127.0.0.1", port: port) { [unowned self] request in
            guard request.path == "/events" else {
                return .response(status: 404, contentType: "text/plain", body: Array("not found\n".utf8))
            }
            let rate = request.query["rate"].flatMap { Double($0) } ?? 0
            let size = max(64, request.query["size"].flatMap { Int($0) } ?? 100)
            // `count=N` (as fast as possible only): N events, then the end of the body.
            let count = request.query["count"].flatMap { UInt64($0) }
            return .stream { stream in
                self.streams += 1
                stream.connection.write(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
                let emitter = Emitter(loop: stream.loop, connection: stream.connection, rate: rate, size: size, count: count)
                stream.onDrained = { emitter.pump() }
                stream.onEnd = { [unowned self] in
                    emitter.stop()
                    self.streams -= 1
                }
                emitter.start()
            }
        }
    }

    var port: Int { server?.port ?? 0 }

    func tearDown() {
        server?.tearDown()
        server = nil
    }
}

/// Writes the events of one stream.
final class Emitter {
    private let connection: Connection
    private let interval: Nanos
    private let size: Int
    /// Events to send before ending the body (nil: no end).
    private let count: UInt64?
    private var timer: Timer?
    private var nextID: UInt64 = 1
    private var due: Nanos = 0
    /// One event, rewritten in place for each sending: `template[stampAt..<stampAt+20]` is the time.
    private var event: [UInt8] = []
    private var idAt = 0
    private var stampAt = 0
    private var batch: [UInt8] = []

    static let idDigits = 10

    init(loop: EventLoop, connection: Connection, rate: Double, size: Int, count: UInt64? = nil) {
        self.connection = connection
        self.size = size
        self.count = count
        interval = rate > 0 ? Nanos(1e9 / rate) : 0
        let head = Array("id: \(String(repeating: "0", count: Self.idDigits))\nevent: tick\ndata: ".utf8)
        idAt = 4
        stampAt = head.count
        event = head + Array(repeating: UInt8(ascii: "0"), count: 20) + [UInt8(ascii: " ")]
        event += Array(repeating: UInt8(ascii: "x"), count: max(0, size - event.count - 2)) + [0x0A, 0x0A]
        if interval > 0 {
            timer = loop.makeTimer { [unowned self] in self.tick() }
        }
    }

    func start() {
        // A comment first, as SSE servers do, so every proxy sends the head and a first chunk at once.
        writeChunk(Array(": bench origin\n\n".utf8))
        if let timer {
            let now = monotonicNanos()
            due = now + Nanos.random(in: 0..<interval)
            timer.arm(after: due - now)
        } else {
            pump()
        }
    }

    func stop() { timer?.cancel() }

    private func tick() {
        guard connection.isOpen else { return }
        let now = monotonicNanos()
        fill(now)
        writeChunk(event)
        due += interval
        // Behind schedule (a stalled loop): skip ahead instead of sending a burst.
        if due <= now { due = now + interval }
        let after = monotonicNanos()
        timer?.arm(after: due > after ? due - after : 0)
    }

    /// As fast as the socket drains.
    func pump() {
        guard timer == nil else { return }
        var perBatch = max(1, 16 * 1024 / size)
        while connection.isOpen, connection.output.count < 64 * 1024 {
            if let count {
                let left = count + 1 - nextID
                if left == 0 {
                    connection.write(Array("0\r\n\r\n".utf8))
                    connection.close(.fin)
                    return
                }
                perBatch = min(perBatch, Int(left))
            }
            batch.removeAll(keepingCapacity: true)
            let header = Array(String(perBatch * size, radix: 16).utf8)
            batch.append(contentsOf: header)
            batch.append(contentsOf: [0x0D, 0x0A])
            for _ in 0..<perBatch {
                fill(monotonicNanos())
                batch.append(contentsOf: event)
            }
            batch.append(contentsOf: [0x0D, 0x0A])
            connection.write(batch)
        }
    }

    private func fill(_ now: Nanos) {
        writeDigits(nextID, at: idAt, width: Self.idDigits)
        writeDigits(now, at: stampAt, width: 20)
        nextID += 1
    }

    private func writeDigits(_ value: UInt64, at offset: Int, width: Int) {
        var v = value
        event.withUnsafeMutableBufferPointer { p in
            var i = offset + width - 1
            while i >= offset {
                p[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                i -= 1
            }
        }
    }

    private func writeChunk(_ payload: [UInt8]) {
        batch.removeAll(keepingCapacity: true)
        batch.append(contentsOf: Array(String(payload.count, radix: 16).utf8))
        batch.append(contentsOf: [0x0D, 0x0A])
        batch.append(contentsOf: payload)
        batch.append(contentsOf: [0x0D, 0x0A])
        connection.write(batch)
    }
}

/// `sputter-bench origin [--port N]`: prints `port N` once listening; exits when stdin closes
/// (the harness died or is done) or on SIGTERM.
func runOriginProcess(port: Int) -> Never {
    signal(SIGPIPE, SIG_IGN)
    if raiseFileDescriptorLimit() == nil {
        FileHandleOutput.stderr("origin: could not raise the open-file limit (ulimit -n)\n")
    }
    let loop = EventLoop()
    let origin: BenchOrigin
    do {
        origin = try BenchOrigin(loop: loop, port: port)
    } catch {
        FileHandleOutput.stderr("origin: \(error)\n")
        exit(2)
    }
    loop.onSignal(SIGTERM) { loop.stop() }
    FileHandleOutput.stdout("port \(origin.port)\n")
    exitWhenStdinCloses()
    loop.run()
    origin.tearDown()
    exit(0)
}
