import Faults
import Foundation
import Profiles
import Proxy
import XCTest

final class MetricsTests: XCTestCase {
    /// Parses Prometheus text: `name{labels} value` → value, keyed by `name{labels}` as written.
    func scrape(_ stack: Stack) throws -> [String: Double] {
        let r = try http(port: stack.controlPort, "GET", "/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.head.headers.first("Content-Type")?.hasPrefix("text/plain") == true)
        var out: [String: Double] = [:]
        for line in r.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                XCTFail("not a sample line: \(line)")
                continue
            }
            out[String(line[..<space])] = value
        }
        return out
    }

    func testMetricsCountConnectionsEventsFaultsBytesAndErrors() throws {
        let dead = closedPort()
        let stack = try Stack { config, originPort in
            config.profiles = ProfileLibrary(profiles: [.passthrough, Profile(name: "drop-2nd", faults: [FaultSpec(.drop(DropFault(everyNth: 2)))])])
            config.routes = [try! .init(parsing: "http://127.0.0.1:\(originPort)"), try! .init(parsing: "/dead=http://127.0.0.1:\(dead)")]
        }
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/events?interval_ms=1&heartbeat_ms=0&count=6&sputter_profile=drop-2nd&sputter_client=m1").status, 200)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/events?interval_ms=1&heartbeat_ms=0&count=4&sputter_client=m2").status, 200)
        XCTAssertEqual(try http(port: stack.proxyPort, "GET", "/dead").status, 502)
        var m: [String: Double] = [:]
        eventually("exchanges closed") {
            m = (try? scrape(stack)) ?? [:]
            return m["sputter_connections_open{profile=\"drop-2nd\"}"] == 0 && m["sputter_connections_open{profile=\"passthrough\"}"] == 0
        }
        XCTAssertEqual(m["sputter_connections_total{profile=\"drop-2nd\"}"], 1)
        XCTAssertEqual(m["sputter_connections_total{profile=\"passthrough\"}"], 2)
        XCTAssertEqual(m["sputter_events_relayed_total"], 10)
        XCTAssertEqual(m["sputter_faults_total{fault=\"drop\"}"], 3)
        XCTAssertEqual(m["sputter_upstream_errors_total{kind=\"upstream-unreachable\"}"], 1)
        XCTAssertGreaterThan(m["sputter_response_body_bytes_total"] ?? 0, 300)
        // The ledger's id tables: 6 + 4 distinct ids (the dropped ones were sent, so remembered), 8 bytes a digest
        // plus a few spans and runs.
        XCTAssertEqual(m["sputter_ledger_ids"], 10)
        XCTAssertGreaterThanOrEqual(m["sputter_ledger_id_table_bytes"] ?? 0, 80)
        XCTAssertLessThan(m["sputter_ledger_id_table_bytes"] ?? 0, 80 + 32 * 12)
    }
}
