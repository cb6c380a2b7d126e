import EventLoop
import HTTP1

/// The demo origin's event generator for one `/events` response.
final class EventStream {
    struct Settings {
        var startID: UInt64
        var lastID: UInt64?
        var interval: Nanos
        var heartbeat: Nanos
        var retry: UInt64?
        var pad: Int
        /// Add `"sent_ns"` (monotonic send time) to each event's data: for latency measurements.
        /// Off by default so that a replayed event is byte-identical to the original.
        var stamp: Bool
        var chunked: Bool
    }

    private let connection: Connection
    private let settings: Settings
    private let onEnd: () -> Void
    private var nextID: UInt64
    private var eventTimer: Timer?
    private var heartbeatTimer: Timer?
    private let padding: String

    init(loop: EventLoop, connection: Connection, settings: Settings, onEnd: @escaping () -> Void) {
        self.connection = connection
        self.settings = settings
        self.onEnd = onEnd
        self.nextID = settings.startID
        self.padding = String(repeating: "x", count: settings.pad)
        if settings.interval > 0 {
            eventTimer = loop.makeTimer { [unowned self] in self.tick() }
        }
        if settings.heartbeat > 0 {
            heartbeatTimer = loop.makeTimer { [unowned self] in self.heartbeat() }
        }
    }

    func start() {
        var first = ": sputter demo origin\n"
        if let retry = settings.retry { first += "retry: \(retry)\n" }
        send(first + "\n")
        heartbeatTimer?.arm(after: settings.heartbeat)
        if let timer = eventTimer { timer.arm(after: settings.interval) } else { pump() }
    }

    func stop() {
        eventTimer?.cancel()
        heartbeatTimer?.cancel()
    }

    /// Interval 0: write events until the socket's output backs up; resume when it drains.
    func pump() {
        guard eventTimer == nil else { return }
        while connection.isOpen, connection.output.count < 64 * 1024 {
            if !emitNext() { return }
        }
    }

    private func tick() {
        if emitNext() { eventTimer?.arm(after: settings.interval) }
    }

    private func heartbeat() {
        send(": heartbeat\n\n")
        heartbeatTimer?.arm(after: settings.heartbeat)
    }

    /// Writes the next event; false when the stream has ended.
    private func emitNext() -> Bool {
        if let last = settings.lastID, nextID > last {
            end()
            return false
        }
        let n = nextID
        nextID += 1
        let type = n % 5 == 0 ? "progress" : "tick"
        let pad = settings.pad > 0 ? ",\"pad\":\"\(padding)\"" : ""
        let stamp = settings.stamp ? ",\"sent_ns\":\(monotonicNanos())" : ""
        send("id: \(n)\nevent: \(type)\ndata: {\"n\":\(n)\(stamp)\(pad)}\n\n")
        return true
    }

    private func end() {
        stop()
        if settings.chunked { connection.write(ChunkedEncoder.lastChunk) }
        onEnd()
    }

    private func send(_ text: String) {
        if settings.chunked {
            var t = text
            t.withUTF8 { connection.write(ChunkedEncoder.chunk(UnsafeRawBufferPointer($0))) }
        } else {
            connection.write(text)
        }
    }
}
