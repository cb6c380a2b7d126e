import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
private let sendSignal = Glibc.kill
#else
import Darwin
private let sendSignal = Darwin.kill
#endif

/// Runs the built `sputter` executable, as swift-argument-parser's example tests do.
enum CLI {
    /// `.build/<config>`: the test bundle (Linux: `.build/<config>/SputterPackageTests.xctest`)
    /// sits beside the executables.
    static var productsDirectory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        fatalError("couldn't find the products directory")
        #else
        let main = Bundle.main.bundleURL
        let beside = main.deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: main.appendingPathComponent("sputter").path) ? main : beside
        #endif
    }

    static var executable: URL { productsDirectory.appendingPathComponent("sputter") }

    /// The checkout: `Tests/CLITests/CLIRunner.swift` is three levels down.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var shippedProfiles: String { packageRoot.appendingPathComponent("Profiles").path }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLastEmpty() }
        var errorLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLastEmpty() }
    }

    /// Runs `sputter ARGS` to completion (killed after `timeout` seconds, which fails the test).
    static func run(
        _ arguments: [String], in directory: URL? = nil, timeout: TimeInterval = 60,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Result {
        let process = try LiveProcess(arguments, in: directory)
        guard process.waitForExit(timeout: timeout) else {
            process.kill()
            XCTFail("sputter \(arguments.joined(separator: " ")) did not exit within \(timeout)s", file: file, line: line)
            return Result(status: -1, stdout: process.stdout, stderr: process.stderr)
        }
        return Result(status: process.status, stdout: process.stdout, stderr: process.stderr)
    }
}

extension Array where Element == String {
    fileprivate func dropLastEmpty() -> [String] { last == "" ? Array(dropLast()) : self }
}

/// A running `sputter` whose output is collected as it arrives.
final class LiveProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let exited = DispatchSemaphore(value: 0)
    private var hasExited = false
    private var openPipes = 2

    init(_ arguments: [String], in directory: URL? = nil) throws {
        process.executableURL = CLI.executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        outPipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            lock.withLock {
                out.append(data)
                if data.isEmpty { openPipes -= 1 }
            }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            lock.withLock {
                err.append(data)
                if data.isEmpty { openPipes -= 1 }
            }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        process.terminationHandler = { [exited] _ in exited.signal() }
        try process.run()
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    var pid: pid_t { process.processIdentifier }
    var status: Int32 { process.terminationStatus }
    var exitedNormally: Bool { process.terminationReason == .exit }

    /// Whether it exited within `timeout`; then waits briefly for the pipes to drain.
    func waitForExit(timeout: TimeInterval) -> Bool {
        if hasExited { return true }
        guard exited.wait(timeout: .now() + timeout) == .success else { return false }
        hasExited = true
        process.waitUntilExit()
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            if lock.withLock({ openPipes <= 0 }) { break }
            usleep(10_000)
        }
        return true
    }

    /// Waits until standard output contains `text`; false after `timeout` or if the process ends first.
    func waitForOutput(_ text: String, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stdout.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) }
            usleep(10_000)
        }
        return false
    }

    func signal(_ sig: Int32) { _ = sendSignal(pid, sig) }

    /// SIGKILL if still running, and reap.
    func kill() {
        if process.isRunning { _ = sendSignal(pid, SIGKILL) }
        _ = waitForExit(timeout: 10)
    }
}
