import Foundation
import Proxy
import XCTest

/// https:// upstreams through libevent's OpenSSL bufferevents, against a local TLS origin with a
/// certificate generated for the test (openssl) and served by Python's ssl module.
final class TLSUpstreamTests: XCTestCase {
    var dir: URL!
    var origin: Process!
    var originPort = 0

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sputter-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                             "-keyout", dir.appendingPathComponent("key.pem").path, "-out", dir.appendingPathComponent("cert.pem").path]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        XCTAssertEqual(openssl.terminationStatus, 0, "openssl could not make a certificate")

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tls_origin.py")
        origin = Process()
        origin.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        origin.arguments = ["python3", script.path, dir.appendingPathComponent("cert.pem").path, dir.appendingPathComponent("key.pem").path]
        let out = Pipe()
        origin.standardOutput = out
        try origin.run()
        var line = ""
        while !line.contains("\n") {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        originPort = Int(line.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        XCTAssertGreaterThan(originPort, 0, "the TLS origin did not start: \(line)")
    }

    override func tearDown() {
        origin?.terminate()
        origin?.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    func stack(host: String = "127.0.0.1", _ configure: @escaping (inout ProxyConfig) -> Void) throws -> Stack {
        let port = originPort
        return try Stack { config, _ in
            config.routes = [try! .init(parsing: "https://\(host):\(port)")]
            configure(&config)
        }
    }

    func testVerifiedWithTheGivenCA() throws {
        let ca = dir.appendingPathComponent("cert.pem").path
        for host in ["127.0.0.1", "localhost"] {
            let stack = try stack(host: host) { $0.upstreamCA = ca }
            let r = try http(port: stack.proxyPort, "GET", "/events")
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(r.text, "id: 1\ndata: over tls 1\n\nid: 2\ndata: over tls 2\n\nid: 3\ndata: over tls 3\n\n")
            XCTAssertEqual(r.head.headers.first("X-Seen-Host"), "\(host):\(originPort)")
        }
    }

    func testUnverifiableCertificateIs502NamingTheReason() throws {
        let stack = try stack { _ in }   // the system trust store does not know this certificate
        let r = try http(port: stack.proxyPort, "GET", "/events")
        XCTAssertEqual(r.status, 502)
        XCTAssertEqual(r.head.headers.first("Sputter-Error"), "upstream-tls")
        XCTAssertTrue(r.text.contains("certificate verification failed"), r.text)
        XCTAssertTrue(r.text.contains("https://127.0.0.1:\(originPort)"), r.text)
        XCTAssertTrue(r.text.contains("--insecure"), r.text)
    }

    func testWrongHostNameIsRejected() throws {
        let ca = dir.appendingPathComponent("cert.pem").path
        let port = originPort
        let stack = try Stack { config, _ in
            // The certificate is for localhost/127.0.0.1; reach the same server under another name.
            config.routes = [try! .init(parsing: "https://127.0.0.2:\(port)")]
            config.upstreamCA = ca
        }
        let r = try http(port: stack.proxyPort, "GET", "/events")
        XCTAssertEqual(r.status, 502, r.text)
    }

    func testInsecureSkipsVerification() throws {
        let stack = try stack { $0.insecure = true }
        let r = try http(port: stack.proxyPort, "GET", "/events?sputter_profile=passthrough")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertTrue(r.text.contains("over tls 3"))
    }
}
