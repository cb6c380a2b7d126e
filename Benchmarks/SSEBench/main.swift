// Release-mode throughput of the SSE parser and client model.
//   swift run -c release sse-bench
// Events are fed in 16 KiB chunks, as the proxy reads them. Each figure is the best of several runs.
import SSE

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func makeStream(eventBytes: Int, count: Int) -> [UInt8] {
    var out: [UInt8] = []
    for i in 0..<count {
        let head = Array("id: \(i)\nevent: tick\ndata: ".utf8)
        let pad = max(1, eventBytes - head.count - 2)
        out += head
        out += Array(repeating: UInt8(ascii: "x"), count: pad)
        out += [0x0A, 0x0A]
    }
    return out
}

func chunks(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
    stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
}

func bench(_ name: String, bytes: Int, events: Int, runs: Int = 7, _ body: () -> Int) {
    var best = Double.infinity
    var check = 0
    for _ in 0..<runs {
        let t0 = now()
        check = body()
        best = min(best, now() - t0)
    }
    precondition(check == events, "\(name): counted \(check), expected \(events)")
    let mbs = Double(bytes) / best / 1e6
    let eps = Double(events) / best
    print("\(name): \(Int(mbs.rounded())) MB/s, \(Int(eps.rounded())) events/s")
}

for (label, size, count) in [("100 B", 100, 400_000), ("4 KB", 4096, 20_000)] {
    let stream = makeStream(eventBytes: size, count: count)
    let parts = chunks(stream, size: 16 * 1024)
    bench("parser \(label) events", bytes: stream.count, events: count) {
        var parser = SSEParser()
        var frames = 0
        var ids = 0
        for c in parts {
            parser.feed(c) { out in
                if case .frame(let f) = out, f.kind == .event {
                    frames += 1
                    ids &+= f.raw.count &+ (f.id?.utf8.count ?? 0)  // what the fault engine reads
                }
            }
        }
        precondition(ids > 0)
        return frames
    }
    bench("client model \(label) events", bytes: stream.count, events: count) {
        var model = SSEClientModel(state: SSEClientState())
        for c in parts { model.feed(c) }
        return model.dispatched.count
    }
}
