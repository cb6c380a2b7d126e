import Ledger
import SSE
import XCTest

/// `Ledger.idTableMemory`: what `/metrics` reports as `sputter_ledger_ids` and `sputter_ledger_id_table_bytes`.
final class LedgerMemoryTests: XCTestCase {
    private func stream(_ ids: ClosedRange<Int>, skipping skip: (Int) -> Bool = { _ in false }) -> [UInt8] {
        Array(ids.filter { !skip($0) }.map { "id: \($0)\ndata: event \($0)\n\n" }.joined().utf8)
    }

    private func relay(_ ledger: Ledger, id: UInt64, key: String, _ bytes: [UInt8]) {
        ledger.connectionOpened(id: id, clientKey: key, attempt: 1, at: 1, wallMs: 1, method: "GET", path: "/", lastEventIDSent: nil,
                                profile: "passthrough", seed: 1)
        ledger.responseStarted(id: id, status: 200, contentType: "text/event-stream", synthetic: false, at: 2)
        var parser = SSEParser()
        bytes.withUnsafeBytes { _ = ledger.relayed(id: id, bytes: $0, at: 3, parser: &parser) }
        ledger.connectionClosed(id: id, end: .upstreamEnd, at: 4)
    }

    func testConsecutiveIntegerIdsCostEightBytesEachOverAllClients() {
        let ledger = Ledger(level: .summary)
        XCTAssertEqual(ledger.idTableMemory.ids, 0)
        XCTAssertEqual(ledger.idTableMemory.bytes, 0)
        relay(ledger, id: 1, key: "a", stream(1...3_000))
        relay(ledger, id: 2, key: "b", stream(1...1_000))
        let m = ledger.idTableMemory
        XCTAssertEqual(m.ids, 4_000)
        // 8 bytes a digest, plus per client one span (24 bytes) and one run (32 bytes).
        XCTAssertEqual(m.bytes, 4_000 * 8 + 2 * (24 + 32))
    }

    func testIdsThatAreNotConsecutiveAreCountedToo() {
        // 2, 4, 6…: no run of consecutive integers, so most are kept by name (their dictionary is not in
        // `entryBytes`); each still has its 8-byte digest, and the count is exact.
        let ledger = Ledger(level: .summary)
        relay(ledger, id: 1, key: "a", stream(1...200, skipping: { $0 % 2 == 1 }))
        XCTAssertEqual(ledger.idTableMemory.ids, 100)
        XCTAssertGreaterThanOrEqual(ledger.idTableMemory.bytes, 100 * 8)
    }

    func testResetForgetsIt() {
        let ledger = Ledger(level: .summary)
        relay(ledger, id: 1, key: "a", stream(1...50))
        XCTAssertEqual(ledger.idTableMemory.ids, 50)
        ledger.reset()
        XCTAssertEqual(ledger.idTableMemory.ids, 0)
        XCTAssertEqual(ledger.idTableMemory.bytes, 0)
    }
}
