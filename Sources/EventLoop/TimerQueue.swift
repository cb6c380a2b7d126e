import CLibevent
import Glibc

/// The timers of one loop, on one `timerfd` (CLOCK_MONOTONIC, absolute deadlines, ns): µs-precise, and
/// a system call only when the earliest deadline changes.
///
/// Why not libevent's own timers: epoll's timeout is whole milliseconds (rounded up), so a fault's
/// 100 ms delay came out 1–5 ms late; libevent's `EVENT_BASE_FLAG_PRECISE_TIMER` fixes that with a
/// timerfd, but re-arms it (`timerfd_settime`) before every `epoll_wait`, timers or not: one more
/// system call per event on a trickling stream than a plain relay makes. Here the timerfd is set only
/// when the queue's earliest deadline moves earlier or the armed one has fired, and a stream without
/// timers never touches it. libevent's own timeouts (connect timeouts) stay on its coarse clock.
///
/// A binary min-heap of the armed timers, each knowing its place (re-arming or cancelling is
/// O(log n) and leaves nothing behind). The heap does not retain timers: a timer leaves it when
/// cancelled, when it fires, or when it is released.
final class TimerQueue {
    private let fd: Int32
    private var event: OpaquePointer?
    private var heap: [Unmanaged<Timer>] = []
    /// The deadline the timerfd is set to (nil: none pending, or it has fired).
    private var armed: Nanos?

    init(base: OpaquePointer) {
        fd = sputter_timerfd_create()
        precondition(fd >= 0, "timerfd_create failed: errno \(errno)")
        event = event_new(base, fd, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
            Unmanaged<TimerQueue>.fromOpaque(ctx!).takeUnretainedValue().fire()
        }, Unmanaged.passUnretained(self).toOpaque())
        event_add(event, nil)
    }

    deinit {
        event_free(event)
        close(fd)
    }

    var count: Int { heap.count }

    func schedule(_ timer: Timer, at deadline: Nanos) {
        timer.deadline = deadline
        if timer.heapIndex >= 0 {
            let i = timer.heapIndex
            siftUp(i)
            siftDown(timer.heapIndex)
        } else {
            timer.heapIndex = heap.count
            heap.append(Unmanaged.passUnretained(timer))
            siftUp(heap.count - 1)
        }
        rearm()
    }

    func remove(_ timer: Timer) {
        let i = timer.heapIndex
        guard i >= 0 else { return }
        let last = heap.count - 1
        if i != last {
            swapAt(i, last)
        }
        heap.removeLast()
        timer.heapIndex = -1
        if i < heap.count {
            siftUp(i)
            siftDown(heap[i].takeUnretainedValue().heapIndex)
        }
        // The timerfd may stay set for a deadline no timer has now: it fires once, finds nothing due.
    }

    private func fire() {
        sputter_timerfd_clear(fd)
        armed = nil
        let now = monotonicNanos()
        // Take every due timer first: one armed again (even for "now") from a callback waits for the
        // next round, so a callback cannot keep this loop from returning to epoll.
        var due: [Timer] = []
        while let top = heap.first?.takeUnretainedValue(), top.deadline <= now {
            remove(top)
            due.append(top)
        }
        for timer in due where timer.heapIndex < 0 && timer.isPending {
            timer.run()
        }
        rearm()
    }

    private func rearm() {
        guard let earliest = heap.first?.takeUnretainedValue().deadline else { return }
        if let armed, armed <= earliest { return }
        armed = earliest
        _ = sputter_timerfd_arm(fd, earliest)
    }

    // MARK: - Heap

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].takeUnretainedValue().deadline < heap[b].takeUnretainedValue().deadline
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].takeUnretainedValue().heapIndex = a
        heap[b].takeUnretainedValue().heapIndex = b
    }

    private func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { return }
            swapAt(i, parent)
            i = parent
        }
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            guard left < heap.count else { return }
            var child = left
            if left + 1 < heap.count, less(left + 1, left) { child = left + 1 }
            guard less(child, i) else { return }
            swapAt(i, child)
            i = child
        }
    }
}
