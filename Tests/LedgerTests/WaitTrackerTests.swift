import Ledger
import XCTest

/// A wait's decisions (`GET /clients/KEY/wait`, `SputterInstance.wait`): no sockets, time passed in.
final class WaitTrackerTests: XCTestCase {
    func testReceivedAndReconnectedHoldOnceTheCountsAreReached() {
        let ms: UInt64 = 1_000_000
        var received = WaitTracker(condition: .received(3), startedAt: 0, timeout: 100 * ms)
        XCTAssertEqual(received.step(nil, now: 0), .pending, "a client the ledger has not seen yet is waited for")
        XCTAssertEqual(received.step(ClientProgress(connections: 1, openConnections: 1, dispatched: 2, deliveredBytes: 90), now: 10 * ms), .pending)
        XCTAssertEqual(received.step(ClientProgress(connections: 2, openConnections: 1, dispatched: 3, deliveredBytes: 120), now: 20 * ms), .met)

        var reconnected = WaitTracker(condition: .reconnected(1), startedAt: 0, timeout: 100 * ms)
        XCTAssertEqual(reconnected.step(ClientProgress(connections: 1, openConnections: 1, dispatched: 9, deliveredBytes: 1), now: 99 * ms), .pending)
        XCTAssertEqual(reconnected.step(ClientProgress(connections: 1, openConnections: 1, dispatched: 9, deliveredBytes: 1), now: 100 * ms), .timedOut)
        XCTAssertEqual(reconnected.step(ClientProgress(connections: 2, openConnections: 1, dispatched: 9, deliveredBytes: 1), now: 150 * ms), .met,
                       "a condition that holds wins over the timeout")
    }

    func testSettledNeedsQuietConnectionsAndMessagesButIgnoresHeartbeatBytes() {
        let ms: UInt64 = 1_000_000
        var tracker = WaitTracker(condition: .settled(quietMs: 50), startedAt: 0, timeout: 1_000 * ms)
        let a = ClientProgress(connections: 1, openConnections: 1, dispatched: 4, deliveredBytes: 100)
        XCTAssertEqual(tracker.step(nil, now: 0), .pending, "an unknown client is not settled")
        XCTAssertEqual(tracker.step(a, now: 10 * ms), .pending)
        var heartbeat = a
        heartbeat.deliveredBytes = 104
        XCTAssertEqual(tracker.step(heartbeat, now: 40 * ms), .pending)
        XCTAssertEqual(tracker.step(heartbeat, now: 60 * ms), .met, "bytes alone (heartbeats) do not unsettle: quiet since 10 ms")
        var moved = a
        moved.dispatched = 5
        var again = WaitTracker(condition: .settled(quietMs: 50), startedAt: 0, timeout: 1_000 * ms)
        XCTAssertEqual(again.step(a, now: 0), .pending)
        XCTAssertEqual(again.step(moved, now: 40 * ms), .pending)
        XCTAssertEqual(again.step(moved, now: 80 * ms), .pending, "a new message restarts the quiet period")
        XCTAssertEqual(again.step(moved, now: 90 * ms), .met)
    }
}
