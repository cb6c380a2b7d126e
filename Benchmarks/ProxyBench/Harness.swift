import EventLoop
import Foundation
import Glibc
import Histogram

extension LoadClient: @unchecked Sendable {}

extension LoopThread where Value == LoadClient {
    /// Runs `body` on the client's loop and waits for its answer.
    func sync<T>(_ body: @escaping (LoadClient) -> T) -> T {
        nonisolated(unsafe) var result: T?
        let done = DispatchSemaphore(value: 0)
        let client = value
        handle.execute {
            result = body(client)
            done.signal()
        }
        done.wait()
        return result!
    }
}

/// How long and how large each scenario is.
struct Plan {
    var reps: Int
    var s1Rate: Double = 1000
    var s1Warmup: Double
    var s1Window: Double
    var s2Warmup: Double
    var s2Window: Double
    var s3Counts: [Int]
    var s3Rate: Double
    var s3Warmup: Double
    var s3Window: Double
    var s4Rate: Double = 1000
    var s4Warmup: Double
    var s4Window: Double
    var eventBytes = 100

    static let full = Plan(reps: 3, s1Warmup: 1, s1Window: 8, s2Warmup: 1, s2Window: 4,
                           s3Counts: [1_000, 10_000], s3Rate: 1, s3Warmup: 2, s3Window: 8,
                           s4Warmup: 1, s4Window: 5)
    static let quick = Plan(reps: 1, s1Warmup: 0.2, s1Window: 0.5, s2Warmup: 0.2, s2Window: 0.5,
                            s3Counts: [100], s3Rate: 10, s3Warmup: 0.3, s3Window: 0.5,
                            s4Warmup: 0.3, s4Window: 0.5)
}

/// One measured figure of one run; the report takes the median over repetitions.
typealias Figures = [String: Double]

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

final class Harness {
    let plan: Plan
    let executable: String
    let sputterPath: String
    let nginxPath: String?
    let work: WorkDir
    let client: LoopThread<LoadClient>
    /// Streams one process may hold (its open-file limit, less a reserve).
    let fdLimit: Int
    var notes: [String] = []
    /// Every run's figures, by peer.
    var runs: [Peer: [Figures]] = [:]
    let scenarios: Set<Int>
    let peers: [Peer]
    /// `--sputter-threads N`: Sputter runs `--threads N` (nil: one loop).
    var sputterThreads: Int?
    /// `--sputter-ledger LEVEL`: Sputter's `--ledger-level` (summary, events or off).
    var sputterLedger = "summary"
    /// `--shared-client-key`: no `Sputter-Client` header, so all streams share one ledger client.
    var sharedClientKey = false

    init(plan: Plan, executable: String, sputterPath: String, nginxPath: String?, scenarios: Set<Int>, peers: [Peer]) throws {
        self.plan = plan
        self.executable = executable
        self.sputterPath = sputterPath
        self.nginxPath = nginxPath
        self.scenarios = scenarios
        self.peers = peers
        work = try WorkDir.make()
        fdLimit = raiseFileDescriptorLimit() ?? 1024
        client = try LoopThread.start(name: "load-client") { loop in LoadClient(loop: loop) }
    }

    func log(_ s: String) { FileHandleOutput.stderr(s + "\n") }

    /// Streams every proxy here can carry, so all peers run the same count: a proxy holds two
    /// sockets per stream, and nginx also keeps 1/16 of its `worker_connections` (= the limit) in reserve.
    var proxyStreamCap: Int {
        let sputter = (fdLimit - 64) / 2
        let nginx = fdLimit * 15 / 32 - 16
        return peers.contains(.nginx) ? min(sputter, nginx) : sputter
    }

    func run() throws {
        for rep in 1...plan.reps {
            for peer in peers {
                log("[rep \(rep)/\(plan.reps)] \(peer.label)")
                var figures = Figures()
                if peer == .delay {
                    if scenarios.contains(4) { try figures.merge(s4Delay(peer)) { $1 } }
                } else {
                    if scenarios.contains(1) { try figures.merge(s1Latency(peer)) { $1 } }
                    if scenarios.contains(2) { try figures.merge(s2Throughput(peer)) { $1 } }
                    if scenarios.contains(3) {
                        for n in plan.s3Counts { try figures.merge(s3Concurrent(peer, requested: n)) { $1 } }
                    }
                }
                runs[peer, default: []].append(figures)
            }
        }
    }

    // MARK: - Setup

    /// Starts an origin and the peer in front of it, runs `body` with the port to connect to and
    /// the proxy (nil for direct), then stops them.
    func with<T>(_ peer: Peer, _ body: (Int, RunningProxy?) throws -> T) throws -> T {
        let (origin, originPort) = try Launch.origin(executable: executable, work: work)
        defer { origin.stop() }
        var proxy: RunningProxy?
        switch peer {
        case .direct:
            break
        case .nginx:
            guard let nginxPath else { throw BenchError(description: "nginx is not installed") }
            proxy = try Launch.nginx(path: nginxPath, originPort: originPort, work: work, maxFiles: fdLimit)
        case .sputter, .engine, .delay:
            proxy = try Launch.sputter(path: sputterPath, profile: peer.profile!, originPort: originPort, work: work, threads: sputterThreads,
                                          ledger: sputterLedger)
        case .defaults:
            // Sputter as it runs without options: the ledger at its default level.
            proxy = try Launch.sputter(path: sputterPath, profile: peer.profile!, originPort: originPort, work: work, threads: sputterThreads,
                                          ledger: "events")
        }
        defer { proxy?.child.stop() }
        defer { client.sync { $0.closeAll() } }
        return try body(proxy?.port ?? originPort, proxy)
    }

    /// Opens `count` streams and waits until each has its response head (or failed).
    func open(_ count: Int, port: Int, rate: Double) throws -> (opened: Int, failed: Int, error: String?) {
        let shared = sharedClientKey
        client.sync { $0.open(count: count, port: port, target: "/events?rate=\(rate)&size=\(self.plan.eventBytes)", clientKeys: !shared) }
        let deadline = Date().addingTimeInterval(max(30, Double(count) / 100))
        while true {
            let (opened, failed, error) = client.sync { ($0.opened, $0.failed, $0.firstError) }
            if opened + failed >= count { return (opened, failed, error) }
            if Date() > deadline { return (opened, count - opened, error ?? "timed out opening streams") }
            usleep(20_000)
        }
    }

    func sleep(_ seconds: Double) { usleep(UInt32(seconds * 1e6)) }

    func window(_ seconds: Double) -> ClientWindow {
        client.sync { $0.startWindow() }
        sleep(seconds)
        return client.sync { $0.endWindow() }
    }

    static func micros(_ ns: UInt64) -> Double { Double(ns) / 1000 }

    // MARK: - Scenarios

    /// 1. One stream at 1,000 events/s: latency percentiles.
    func s1Latency(_ peer: Peer) throws -> Figures {
        try with(peer) { port, _ in
            let o = try open(1, port: port, rate: plan.s1Rate)
            guard o.opened == 1 else { throw BenchError(description: "scenario 1 via \(peer.label): stream failed: \(o.error ?? "?")") }
            sleep(plan.s1Warmup)
            let w = window(plan.s1Window)
            guard w.events > 0 else { throw BenchError(description: "scenario 1 via \(peer.label): no events arrived") }
            return ["s1.p50": Self.micros(w.latency.valueAtPercentile(50)),
                    "s1.p99": Self.micros(w.latency.valueAtPercentile(99)),
                    "s1.p999": Self.micros(w.latency.valueAtPercentile(99.9)),
                    "s1.n": Double(w.events)]
        }
    }

    /// 2. One stream as fast as the socket drains: events/s, MB/s, the proxy's CPU per million events.
    func s2Throughput(_ peer: Peer) throws -> Figures {
        try with(peer) { port, proxy in
            let o = try open(1, port: port, rate: 0)
            guard o.opened == 1 else { throw BenchError(description: "scenario 2 via \(peer.label): stream failed: \(o.error ?? "?")") }
            sleep(plan.s2Warmup)
            let before = proxy?.sample(), ledgerBefore = proxy?.ledgerMemory()
            let w = window(plan.s2Window)
            let after = proxy?.sample(), ledgerAfter = proxy?.ledgerMemory()
            guard w.events > 0 else { throw BenchError(description: "scenario 2 via \(peer.label): no events arrived") }
            var f: Figures = ["s2.eps": w.eventsPerSecond, "s2.mbps": w.megabytesPerSecond]
            if let before, let after {
                let cpu = after.cpuSeconds - before.cpuSeconds
                f["s2.cpuPerM"] = cpu / (Double(w.events) / 1e6)
                f["s2.cpuUse"] = cpu / w.seconds
                f["s2.rssMiB"] = Double(after.rssKiB) / 1024
                // What the proxy keeps per event relayed (the ledger's id table; buffers are steady by now).
                f["s2.rssPerEvent"] = Double(after.rssKiB - before.rssKiB) * 1024 / Double(w.events)
            }
            if let ledgerBefore, let ledgerAfter, ledgerAfter.ids > ledgerBefore.ids {
                // The ledger's own accounting of the same window: bytes its id tables grew by, per id filed.
                f["s2.ledgerPerEvent"] = (ledgerAfter.bytes - ledgerBefore.bytes) / (ledgerAfter.ids - ledgerBefore.ids)
            }
            return f
        }
    }

    /// 3. `requested` streams at a low rate: latency p99 and the proxy's memory per stream.
    func s3Concurrent(_ peer: Peer, requested: Int) throws -> Figures {
        let n = min(requested, proxyStreamCap)
        if n < requested {
            let note = "\(requested.formatted()) streams need about \(2 * requested + 20) open files in a proxy (a socket to the client and one to the origin per stream), "
                + "nginx \(requested * 32 / 15) worker_connections (it keeps 1/16 in reserve); the hard open-file limit here is \(fdLimit) "
                + "(raising it needs CAP_SYS_RESOURCE, which this machine does not give), so every peer ran \(n.formatted()) streams."
            if !notes.contains(note) { notes.append(note) }
        }
        let key = "s3.\(requested)"
        return try with(peer) { port, proxy in
            let baseline = proxy?.sample()
            let o = try open(n, port: port, rate: plan.s3Rate)
            guard o.opened > 0 else { throw BenchError(description: "scenario 3 via \(peer.label): no stream opened: \(o.error ?? "?")") }
            if o.failed > 0 {
                let note = "\(peer.label), \(n) streams: \(o.failed) failed to open (\(o.error ?? "?"))."
                notes.append(note)
            }
            sleep(plan.s3Warmup)
            let w = window(plan.s3Window)
            let after = proxy?.sample()
            guard w.events > 0 else { throw BenchError(description: "scenario 3 via \(peer.label): no events arrived") }
            var f: Figures = [key + ".p50": Self.micros(w.latency.valueAtPercentile(50)),
                              key + ".p99": Self.micros(w.latency.valueAtPercentile(99)),
                              key + ".streams": Double(o.opened),
                              key + ".n": Double(w.events)]
            if let baseline, let after {
                f[key + ".rssPerStream"] = Double(after.rssKiB - baseline.rssKiB) / Double(o.opened)
                f[key + ".rssMiB"] = Double(after.rssKiB) / 1024
            }
            return f
        }
    }

    /// 4. The delay fault at 100 ms: how far the actual delay is from 100 ms.
    func s4Delay(_ peer: Peer) throws -> Figures {
        try with(peer) { port, _ in
            client.sync { $0.expected = 100_000_000 }
            defer { client.sync { $0.expected = 0 } }
            let o = try open(1, port: port, rate: plan.s4Rate)
            guard o.opened == 1 else { throw BenchError(description: "scenario 4: stream failed: \(o.error ?? "?")") }
            sleep(plan.s4Warmup)
            let w = window(plan.s4Window)
            guard w.events > 0 else { throw BenchError(description: "scenario 4: no events arrived") }
            // Latency minus 100 ms: the delay's error plus the path's own latency (scenario 1 gives that).
            return ["s4.errP50": Self.micros(w.latency.valueAtPercentile(50)),
                    "s4.errP99": Self.micros(w.latency.valueAtPercentile(99)),
                    "s4.errP999": Self.micros(w.latency.valueAtPercentile(99.9)),
                    "s4.early": Double(w.early),
                    "s4.n": Double(w.events)]
        }
    }

    func finish(removeWorkDir: Bool) {
        client.stop()
        if removeWorkDir { work.remove() }
    }
}
