import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The README's runnable code blocks, run as written — the fixed ports (8080, 8081, 5000, 8000) swapped for
/// free ones, and `sputter` for the binary just built. Blocks run elsewhere: `scripts/test` (CI runs it),
/// `scripts/demo` (`sputter demo` after a release build: `DemoCommandTests`), the Swift block
/// (`SputterTestingTests.testReadmeExample`), the inner-loop commands (`scripts/test` runs the same suites).
final class ReadmeTests: XCTestCase {
    struct Block {
        var language: String
        var lines: [String]
        /// Its commands: comments dropped, `\` continuations joined.
        var commands: [String] {
            var out: [String] = []
            var pending = ""
            for raw in lines {
                var line = raw
                if let hash = line.range(of: "  #") ?? (line.hasPrefix("#") ? line.startIndex..<line.startIndex : nil) {
                    line = String(line[..<hash.lowerBound])
                }
                line = line.trimmingCharacters(in: .whitespaces)
                if line.hasSuffix("\\") {
                    pending += line.dropLast() + " "
                    continue
                }
                let command = (pending + line).trimmingCharacters(in: .whitespaces)
                pending = ""
                if !command.isEmpty { out.append(command) }
            }
            return out
        }
    }

    static func blocks() throws -> [Block] {
        let text = try String(contentsOf: CLI.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [Block] = []
        var current: Block?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                if let block = current {
                    blocks.append(block)
                    current = nil
                } else {
                    current = Block(language: String(line.dropFirst(3)), lines: [])
                }
            } else {
                current?.lines.append(line)
            }
        }
        return blocks
    }

    /// The one `sh` block whose commands include `marker`.
    func block(containing marker: String) throws -> Block {
        let found = try Self.blocks().filter { $0.language == "sh" && $0.commands.contains { $0.contains(marker) } }
        XCTAssertEqual(found.count, 1, "README blocks with \(marker)")
        return try XCTUnwrap(found.first)
    }

    struct Ports {
        var proxy: Int, control: Int, origin: Int, gateway: Int
        init() throws {
            (proxy, control, origin, gateway) = (try freePort(), try freePort(), try freePort(), try freePort())
        }
        /// The README's ports swapped for these.
        func apply(_ command: String) -> String {
            command.replacingOccurrences(of: ":8080", with: ":\(proxy)").replacingOccurrences(of: ":8081", with: ":\(control)")
                .replacingOccurrences(of: ":5000", with: ":\(origin)").replacingOccurrences(of: ":8000", with: ":\(gateway)")
        }
    }

    /// `sputter …` of the README as arguments for the built binary, on `ports`: a listen address (and a
    /// control address) added where the README relies on the defaults 8080/8081/5000.
    func sputterArguments(_ command: String, _ ports: Ports) throws -> [String] {
        var words = ports.apply(command).split(separator: " ").map(String.init)
        XCTAssertEqual(words.first, "sputter", command)
        words.removeFirst()
        let serving = words.first == "serve" || words.first == "demo" || words.first?.hasPrefix("--") == true
        if serving, !words.contains("--listen") { words += ["--listen", "127.0.0.1:\(ports.proxy)"] }
        if serving, !words.contains("--control") { words += ["--control", "127.0.0.1:\(ports.control)"] }
        if words.first == "demo", !words.contains("--origin") { words += ["--origin", "127.0.0.1:0"] }  // 5000: the block's own origin
        return words + ["--log-level", "warning"]
    }

    /// Runs a README line with /bin/sh (curl lines), on `ports`; its standard output.
    func shell(_ command: String, _ ports: Ports, in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", ports.apply(command)]
        process.currentDirectoryURL = directory
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, command)
        return String(decoding: data, as: UTF8.self)
    }

    func start(_ arguments: [String], waitingFor line: String) throws -> LiveProcess {
        let process = try LiveProcess(arguments, in: CLI.packageRoot)
        XCTAssertTrue(process.waitForOutput(line), "sputter \(arguments.joined(separator: " ")): \(process.stdout)\(process.stderr)")
        return process
    }

    func stop(_ process: LiveProcess) {
        process.signal(SIGTERM)
        XCTAssertTrue(process.waitForExit(timeout: 60))
        XCTAssertEqual(process.status, 0, process.stderr)
    }

    /// "Using it": every line starts and relays a stream (the gateway route to a second origin).
    func testUsingItBlock() throws {
        let commands = try block(containing: "sputter demo-origin --listen").commands
        XCTAssertEqual(commands.count, 5, "\(commands)")
        let ports = try Ports()
        var origin: LiveProcess?
        for command in commands where command.hasPrefix("sputter demo-origin") {
            origin = try start(try sputterArguments(command, ports), waitingFor: "listening")
        }
        let gateway = try LiveProcess(["demo-origin", "--listen", "127.0.0.1:\(ports.gateway)"])
        defer { gateway.kill(); origin?.kill() }
        XCTAssertNotNil(origin, "the block starts the demo origin")
        XCTAssertTrue(gateway.waitForOutput("listening"), gateway.stderr)

        for command in commands where !command.hasPrefix("sputter demo-origin") {
            let process = try start(try sputterArguments(command, ports), waitingFor: "sputter listening")
            defer { process.kill() }
            let stream = try get(ports.proxy, "/events?count=2&interval_ms=0&heartbeat_ms=0")
            XCTAssertTrue(stream.hasPrefix("HTTP/1.1 200") && stream.contains("id: 2\n"), "\(command): \(stream)")
            if command.contains("/api/sse=") {
                _ = try get(ports.proxy, "/api/sse/stream")
                let seen = try get(ports.gateway, "/_origin/requests")
                XCTAssertTrue(seen.contains(#""path":"/api/sse/stream""#), "the prefix goes to the gateway: \(seen)")
            }
            stop(process)
        }
    }

    /// The control API's example: `curl -X PUT …/settings` sets the profile and seed.
    func testControlAPIBlock() throws {
        let commands = try block(containing: "curl -s -X PUT").commands
        XCTAssertEqual(commands.count, 1)
        let ports = try Ports()
        let origin = try start(["demo-origin", "--listen", "127.0.0.1:\(ports.origin)"], waitingFor: "listening")
        defer { origin.kill() }
        let serve = try start(try sputterArguments("sputter serve --upstream http://127.0.0.1:5000", ports), waitingFor: "control API on")
        defer { serve.kill() }
        let answer = try shell(commands[0], ports, in: CLI.packageRoot)
        XCTAssertTrue(answer.contains(#""effective_profile":"reconnect-ladder""#) && answer.contains(#""effective_seed":1"#), answer)
        stop(serve)
    }

    /// The ledger's example: serve with a ledger file, the text report, and the live JSON.
    func testLedgerBlock() throws {
        let commands = try block(containing: "sputter ledger run.jsonl").commands
        XCTAssertEqual(commands.count, 3, "\(commands)")
        let ports = try Ports()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let origin = try start(["demo-origin", "--listen", "127.0.0.1:\(ports.origin)"], waitingFor: "listening")
        defer { origin.kill() }

        var arguments = try sputterArguments(commands[0], ports)
        // run.jsonl is relative: in the test's own directory, not the checkout.
        if let i = arguments.firstIndex(of: "--ledger") { arguments[i + 1] = directory.appendingPathComponent(arguments[i + 1]).path }
        let serve = try start(arguments, waitingFor: "control API on")
        defer { serve.kill() }
        // Attempt 1 of reconnect-ladder: reset after 3 events (the reset may discard what the socket held,
        // so only the head is read here; the ledger says what was delivered).
        let client = try RawClient(port: ports.proxy)
        defer { client.close() }
        try client.send("GET /events?count=5&interval_ms=20&heartbeat_ms=0 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nSputter-Client: c1\r\n\r\n")
        XCTAssertTrue(try client.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200"))
        XCTAssertEqual(try client.readToEOF(), .reset, "reconnect-ladder resets attempt 1")
        XCTAssertTrue(commands[2].hasPrefix("curl"))
        let clients = try shell(commands[2], ports, in: directory)
        XCTAssertTrue(clients.contains(#""client":"c1""#), clients)
        stop(serve)

        XCTAssertTrue(commands[1].hasPrefix("sputter ledger "))
        let report = try CLI.run(Array(commands[1].split(separator: " ").map(String.init).dropFirst()), in: directory)
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains(#"client "c1""#) && report.stdout.contains("profile reconnect-ladder"), report.stdout)
        XCTAssertTrue(report.stdout.contains("fault disconnect on frame 3: rst after 3 events"), report.stdout)
        XCTAssertTrue(report.stdout.contains("verdict"), report.stdout)
    }

    /// The profile example is a valid profile file (`sputter profiles check`).
    func testProfileBlockIsAValidProfile() throws {
        let yaml = try Self.blocks().filter { $0.language == "yaml" }
        XCTAssertEqual(yaml.count, 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-readme-\(UUID().uuidString).yaml")
        try (yaml[0].lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try CLI.run(["profiles", "check", file.path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
    }
}
