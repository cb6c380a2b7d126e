import Foundation
import Glibc

/// Unbuffered writes to stdout/stderr (the harness's progress and the children's handshake lines).
enum FileHandleOutput {
    static func stdout(_ s: String) { write(1, s) }
    static func stderr(_ s: String) { write(2, s) }
    private static func write(_ fd: Int32, _ s: String) {
        var text = s
        text.withUTF8 { p in
            var off = 0
            while off < p.count {
                let n = Glibc.write(fd, p.baseAddress! + off, p.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }
}

/// A child that must not outlive the harness: it exits when its stdin (a pipe from the harness) closes.
func exitWhenStdinCloses() {
    let thread = Thread {
        var byte: UInt8 = 0
        while true {
            let n = read(0, &byte, 1)
            if n == 0 || (n < 0 && errno != EINTR) { _exit(0) }
        }
    }
    thread.start()
}

struct ChildError: Error, CustomStringConvertible {
    let description: String
}

/// A child process of the harness (origin, Sputter, nginx): started with a pipe as stdin (closed
/// when the harness exits, which ends the origin), stdout read for its handshake line, stderr to a file.
final class Child: @unchecked Sendable {
    let name: String
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    let stderrPath: String
    private var pending = [UInt8]()

    nonisolated(unsafe) static var live: [Child] = []

    init(name: String, path: String, arguments: [String], stderrPath: String) throws {
        self.name = name
        self.stderrPath = stderrPath
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        do { try process.run() } catch {
            throw ChildError(description: "\(name): cannot start \(path): \(error)")
        }
        Child.live.append(self)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Reads stdout lines until `match` returns a value (e.g. the port), or the deadline passes.
    func waitForLine<T>(timeout: Double = 20, _ match: (String) -> T?) throws -> T {
        let fd = stdoutPipe.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            while let nl = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                if let value = match(line) { return value }
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready > 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &buf, buf.count)
                if n <= 0 { break }
                pending.append(contentsOf: buf[..<n])
            } else if !process.isRunning {
                break
            }
        }
        throw ChildError(description: "\(name) did not start (exit status \(process.isRunning ? "-" : "\(process.terminationStatus)")); its stderr:\n\(tail(stderrPath))")
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 5) {
        defer { Child.live.removeAll { $0 === self } }
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    static func stopAll() {
        for child in live { child.stop(grace: 2) }
    }
}

func tail(_ path: String, lines: Int = 20) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no output)" }
    let all = text.split(separator: "\n", omittingEmptySubsequences: false)
    return all.suffix(lines).joined(separator: "\n")
}

/// CPU time and memory of a process, from /proc.
struct ProcSample {
    /// User + system CPU seconds so far.
    var cpuSeconds: Double
    /// Resident set size, KiB.
    var rssKiB: Int
}

enum Proc {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func sample(_ pid: Int32) -> ProcSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let ut = Double(fields[11]), let st = Double(fields[12]) else { return nil }
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                rss = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
            }
        }
        return ProcSample(cpuSeconds: (ut + st) / ticksPerSecond, rssKiB: rss)
    }

    /// Direct children of `pid` (nginx's worker).
    static func children(_ pid: Int32) -> [Int32] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return [] }
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

/// A free loopback port (bind to 0, read it, close). nginx needs one up front.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}
