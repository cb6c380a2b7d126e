import EventLoop
import Faults
import Glibc
import SSE

/// `sputter-bench micro`: the per-event cost of the pure parts of the shaped path, without sockets:
/// SSE parse, and SSE parse + fault plan (a drop fault whose selector never matches, as the
/// `engine` peer; and a 100 ms delay). Best of several runs; ns per 100-byte event.
func runMicro() -> Never {
    let count = 400_000
    var stream: [UInt8] = []
    for i in 0..<count {
        var event = Array("id: \(String(format: "%010d", i))\nevent: tick\ndata: 00000000001234567890 ".utf8)
        event += Array(repeating: UInt8(ascii: "x"), count: 100 - event.count - 2) + [0x0A, 0x0A]
        stream += event
    }
    let chunk = 16 * 1024
    func best(_ name: String, _ body: () -> Int) {
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = monotonicNanos()
            let n = body()
            precondition(n == count, "\(name): \(n) frames")
            best = min(best, Double(monotonicNanos() - t0) / Double(count))
        }
        FileHandleOutput.stdout("\(name): \(String(format: "%.0f", best)) ns/event\n")
    }
    func parse(_ each: (SSEFrame) -> Void) -> Int {
        var parser = SSEParser()
        var n = 0
        stream.withUnsafeBytes { all in
            var off = 0
            while off < all.count {
                let piece = UnsafeRawBufferPointer(rebasing: all[off..<min(off + chunk, all.count)])
                parser.feed(piece) { out in
                    if case .frame(let f) = out { n += 1; each(f) }
                }
                off += chunk
            }
        }
        return n
    }
    best("SSE parse") { parse { _ in } }
    let context = ConnectionContext(clientKey: "bench", attempt: 1, seed: 1, method: "GET", path: "/events")
    for (label, spec) in [
        ("parse + plan (drop, selector never matches)", FaultSpec(.drop(DropFault()), selector: FaultSelector(eventTypes: ["never-sent"]))),
        ("parse + plan (delay 100ms)", FaultSpec(.delay(DelayFault(latency: 100_000_000)))),
    ] {
        best(label) {
            var plan = FaultPlan(faults: [spec], context: context)
            _ = plan.request(now: 1)
            _ = plan.responseHead(status: 200, contentType: "text/event-stream", now: 1)
            var written = 0
            var emissions: [Emission] = []
            let n = parse { frame in
                emissions.removeAll(keepingCapacity: true)
                plan.frame(frame, now: 2, into: &emissions)
                for e in emissions { if case .write(let b, _, _) = e { written += b.count } }
                _ = plan.drainRecords()
            }
            precondition(written > 0)
            return n
        }
    }
    exit(0)
}
