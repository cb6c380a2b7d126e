// End-to-end benchmark of Sputter against direct and against nginx (issue 7).
//
//   scripts/bench [--quick]                          (builds release, then runs this)
//   .build/release/sputter-bench [--quick] [--reps N] [--scenarios 1,2,3,4] [--streams 1000,10000]
//                                [--sputter PATH] [--nginx PATH | --no-nginx] [--json FILE]
//   .build/release/sputter-bench origin [--port N]   (the origin child process)
//
// The harness (this process) runs the load client on its own event loop thread and starts the
// origin, Sputter and nginx as child processes, so each one's CPU and RSS can be read from /proc.
import EventLoop
import Foundation
import Glibc

func usage() -> Never {
    FileHandleOutput.stderr("""
    usage: sputter-bench [--quick] [--reps N] [--scenarios 1,2,3,4] [--streams N,N] [--sputter PATH]
                         [--nginx PATH | --no-nginx] [--peers direct,nginx,sputter,default,engine,delay] [--json FILE] [--keep]
                         [--sputter-threads N] [--sputter-ledger summary|events|off] [--shared-client-key]
           sputter-bench origin [--port N]
           sputter-bench micro

    """)
    exit(64)
}

var args = Array(CommandLine.arguments.dropFirst())

func value(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name) else { return nil }
    guard i + 1 < args.count else { usage() }
    let v = args[i + 1]
    args.removeSubrange(i...(i + 1))
    return v
}

func flag(_ name: String) -> Bool {
    guard let i = args.firstIndex(of: name) else { return false }
    args.remove(at: i)
    return true
}

if args.first == "origin" {
    args.removeFirst()
    let port = value("--port").flatMap { Int($0) } ?? 0
    runOriginProcess(port: port)
}

if args.first == "micro" { runMicro() }

let quick = flag("--quick")
var plan = quick ? Plan.quick : Plan.full
if let reps = value("--reps") { plan.reps = Int(reps) ?? { usage() }() }
if let streams = value("--streams") { plan.s3Counts = streams.split(separator: ",").map { Int($0) ?? { usage() }() } }
let scenarios = Set((value("--scenarios") ?? "1,2,3,4").split(separator: ",").map { Int($0) ?? { usage() }() })
let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
let sputterPath = value("--sputter") ?? (URL(fileURLWithPath: executable).deletingLastPathComponent().path + "/sputter")
let noNginx = flag("--no-nginx")
var nginxPath = value("--nginx")
let jsonPath = value("--json")
let keep = flag("--keep")
let sputterThreads = value("--sputter-threads").map { Int($0) ?? { usage() }() }
let sharedClientKey = flag("--shared-client-key")
let sputterLedger = value("--sputter-ledger") ?? "summary"
if !["summary", "events", "off"].contains(sputterLedger) { usage() }
let onlyPeers = value("--peers").map { list in list.split(separator: ",").map { Peer(rawValue: String($0)) ?? { usage() }() } }
if !args.isEmpty { usage() }

if !noNginx, nginxPath == nil {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] where access(candidate, X_OK) == 0 {
        nginxPath = candidate
        break
    }
}
if noNginx { nginxPath = nil }
guard access(sputterPath, X_OK) == 0 else {
    FileHandleOutput.stderr("sputter-bench: no sputter binary at \(sputterPath) (build it: swift build -c release, or pass --sputter PATH)\n")
    exit(2)
}

signal(SIGPIPE, SIG_IGN)
for sig in [SIGINT, SIGTERM] {
    signal(sig) { _ in
        Child.stopAll()
        _exit(130)
    }
}

var peers: [Peer] = [.direct]
if nginxPath != nil { peers.append(.nginx) }
peers += [.sputter, .defaults, .engine]
if scenarios.contains(4) { peers.append(.delay) }
if scenarios == [4] { peers = [.delay] }
if let onlyPeers { peers = peers.filter { onlyPeers.contains($0) } }

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

func cpuModel() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
    return line.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
}

func nginxVersion(_ path: String) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = ["-v"]
    let pipe = Pipe()
    p.standardError = pipe
    p.standardOutput = pipe
    guard (try? p.run()) != nil else { return "?" }
    p.waitUntilExit()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return text.split(separator: "/").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?"
}

let loadBefore = loadAverage()
let started = Date()
let harness: Harness
do {
    harness = try Harness(plan: plan, executable: executable, sputterPath: sputterPath, nginxPath: nginxPath,
                          scenarios: scenarios, peers: peers)
} catch {
    FileHandleOutput.stderr("sputter-bench: \(error)\n")
    exit(1)
}
harness.sputterThreads = sputterThreads
harness.sharedClientKey = sharedClientKey
harness.sputterLedger = sputterLedger
if let sputterThreads {
    harness.notes.append("Sputter ran with --threads \(sputterThreads): one loop per thread and no ledger.")
}
if sharedClientKey {
    harness.notes.append("--shared-client-key: the streams sent no Sputter-Client, so Sputter's ledger saw them all as one client (same address and path).")
}
if harness.fdLimit < 4096 {
    harness.notes.append("the open-file limit is only \(harness.fdLimit): large stream counts will fail (raise ulimit -n).")
}
if nginxPath == nil, !noNginx {
    harness.notes.append("nginx is not installed: its column is empty (scripts/bench installs nginx-light when it can).")
}

do {
    try harness.run()
} catch {
    FileHandleOutput.stderr("sputter-bench: the benchmark broke: \(error)\n(logs and configs kept in \(harness.work.path))\n")
    Child.stopAll()
    harness.client.stop()
    exit(1)
}
let elapsed = Date().timeIntervalSince(started)
let loadAfter = loadAverage()

let formatter = ISO8601DateFormatter()
formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withTimeZone]
var uts = utsname()
uname(&uts)
let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
let header = """
## Sputter benchmark\(quick ? " (--quick smoke run)" : "") — \(formatter.string(from: started))

\(ProcessInfo.processInfo.activeProcessorCount) cores (\(cpuModel())), Linux \(kernel); release build; \
\(plan.reps) run\(plan.reps == 1 ? "" : "s") per figure, median shown; \(plan.eventBytes)-byte events; \
nginx \(nginxPath.map(nginxVersion) ?? "not installed") with 1 worker; \
Sputter with \(sputterLedger == "off" ? "`--ledger-level off`" : "`--ledger FILE --ledger-level \(sputterLedger)`")\(sputterThreads.map { " `--threads \($0)`" } ?? ""); \
open-file limit \(harness.fdLimit); load average before \(loadBefore), after \(loadAfter); took \(Int(elapsed)) s. \
Latency is receive time minus the send time each event carries (same machine, monotonic clock); \
"added" is a peer's median figure minus direct's.
"""
let report = Report(harness: harness, quick: quick)
FileHandleOutput.stdout(report.render(header: header))

if let jsonPath {
    var runs: [String: [[String: Double]]] = [:]
    for (peer, list) in harness.runs { runs[peer.rawValue] = list }
    if let data = try? JSONSerialization.data(withJSONObject: ["date": formatter.string(from: started), "runs": runs], options: [.prettyPrinted, .sortedKeys]) {
        _ = FileManager.default.createFile(atPath: jsonPath, contents: data)
    }
}
if keep { FileHandleOutput.stderr("logs and configs kept in \(harness.work.path)\n") }
harness.finish(removeWorkDir: !keep)
exit(0)
