@testable import EventLoop
import class EventLoop.Timer  // not Foundation's (XCTest imports Foundation)
import XCTest

/// The loop's timer queue (one timerfd, a heap): order, re-arming, cancelling, releasing. Assertions are on
/// order and on lower bounds of time only, never on how late a timer may be.
final class TimerTests: XCTestCase {
    /// Runs `body` on a fresh loop until it calls `done`, then returns what was recorded.
    private func onLoop(_ body: @escaping (EventLoop, @escaping () -> Void) -> Void) {
        let loop = EventLoop()
        loop.schedule(after: 0) { body(loop) { loop.stop() } }
        let guardTimer = loop.makeTimer { XCTFail("the test did not finish within 30 s"); loop.stop() }
        guardTimer.arm(after: 30_000_000_000)
        loop.run()
        guardTimer.cancel()
    }

    func testTimersFireInDeadlineOrderAndNotEarly() {
        var fired: [Int] = []
        var timers: [Timer] = []
        var armedAt: [Nanos] = []
        var firedAt: [Nanos] = []
        let delays: [Nanos] = [30, 10, 20, 0, 25].map { $0 * 1_000_000 }
        onLoop { loop, done in
            for (i, delay) in delays.enumerated() {
                let t = loop.makeTimer {
                    fired.append(i)
                    firedAt.append(monotonicNanos())
                    if fired.count == delays.count { done() }
                }
                timers.append(t)
                armedAt.append(monotonicNanos())
                t.arm(after: delay)
            }
            XCTAssertEqual(loop.pendingTimers, delays.count + 1, "and the guard timer")
        }
        XCTAssertEqual(fired, [3, 1, 2, 4, 0])
        for (k, i) in fired.enumerated() {
            XCTAssertGreaterThanOrEqual(firedAt[k] - armedAt[i], delays[i], "timer \(i) fired early")
        }
        XCTAssertTrue(timers.allSatisfy { !$0.isPending })
    }

    func testRearmCancelAndReleaseLeaveNothingBehind() {
        var fired: [String] = []
        var keep: [Timer] = []
        onLoop { loop, done in
            let late = loop.makeTimer { fired.append("late") }
            late.arm(after: 60_000_000_000)
            late.arm(after: 2_000_000)  // re-armed earlier: fires once, at the new deadline
            let cancelled = loop.makeTimer { fired.append("cancelled") }
            cancelled.arm(after: 1_000_000)
            cancelled.cancel()
            var released: Timer? = loop.makeTimer { fired.append("released") }
            released!.arm(after: 1_000_000)
            released = nil
            let last = loop.makeTimer {
                fired.append("last")
                XCTAssertEqual(loop.pendingTimers, 1, "only the guard timer is left")
                done()
            }
            last.arm(after: 5_000_000)
            keep = [late, cancelled, last]
            XCTAssertEqual(loop.pendingTimers, 3, "guard, late, last; the cancelled and the released ones are gone")
        }
        XCTAssertEqual(fired, ["late", "last"])
        XCTAssertEqual(keep.count, 3)
    }

    /// A callback that re-arms its own timer for "now" runs once per loop round: other timers and the
    /// loop's I/O still get their turn.
    func testARearmForNowDoesNotStarveTheLoop() {
        var spins = 0
        var otherFiredAfter: Int?
        var keep: [Timer] = []
        onLoop { loop, done in
            var spinner: Timer!
            spinner = loop.makeTimer {
                spins += 1
                if otherFiredAfter == nil || spins < 50 { spinner.arm(after: 0) } else { done() }
            }
            let other = loop.makeTimer { otherFiredAfter = spins }
            spinner.arm(after: 0)
            other.arm(after: 3_000_000)
            keep = [spinner, other]
        }
        XCTAssertNotNil(otherFiredAfter)
        XCTAssertGreaterThanOrEqual(spins, 50)
        XCTAssertEqual(keep.count, 2)
    }

    /// Many timers armed, re-armed and cancelled in a seeded random order: every armed one fires exactly
    /// once, in deadline order; none of the cancelled ones does.
    func testHeapKeepsOrderUnderRandomChurn() {
        var rng = SystemRandomNumberGenerator()
        var seed = UInt64.random(in: 1...UInt64.max, using: &rng)
        let reported = seed
        func next() -> UInt64 {
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return seed
        }
        var deadlines: [Int: Nanos] = [:]
        var fired: [Int] = []
        var firedDeadlines: [Nanos] = []
        var timers: [Timer] = []
        onLoop { loop, done in
            let start = monotonicNanos()
            for i in 0..<300 {
                timers.append(loop.makeTimer {
                    fired.append(i)
                    firedDeadlines.append(timers[i].deadline)
                    if fired.count == deadlines.count { done() }
                })
            }
            for _ in 0..<2000 {
                let i = Int(next() % 300)
                if next() % 4 == 0 {
                    timers[i].cancel()
                    deadlines[i] = nil
                } else {
                    let delay = (next() % 40) * 250_000  // 0…10 ms in 250 µs steps
                    timers[i].arm(after: delay)
                    deadlines[i] = monotonicNanos() - start + delay
                }
            }
            if deadlines.isEmpty { done() }
        }
        XCTAssertEqual(Set(fired).count, fired.count, "seed \(reported): a timer fired twice")
        XCTAssertEqual(Set(fired), Set(deadlines.keys), "seed \(reported)")
        XCTAssertEqual(firedDeadlines, firedDeadlines.sorted(), "seed \(reported): fired out of deadline order")
    }
}
