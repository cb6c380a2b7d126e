import CLibevent
import Glibc

/// Monotonic nanoseconds, the one clock the proxy reads (faults get it as a parameter).
public typealias Nanos = UInt64

@inline(__always)
public func monotonicNanos() -> Nanos {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Nanos(ts.tv_sec) &* 1_000_000_000 &+ Nanos(ts.tv_nsec)
}

/// Once per process: libevent's locks, and SIGPIPE ignored (writes to a socket whose peer has gone
/// must fail with EPIPE, not kill the process — libevent writes with writev, which has no MSG_NOSIGNAL).
private let threadingReady: Bool = {
    signal(SIGPIPE, SIG_IGN)
    return evthread_use_pthreads() == 0
}()

/// One libevent `event_base`, driven by one thread. Everything except `handle` is loop-confined:
/// create it, use it and free it on the thread that calls `run()`.
public final class EventLoop {
    let base: OpaquePointer
    private var signalEvents: [SignalHandler] = []
    /// `Timer`s run on the loop's own timerfd (µs-precise; see `TimerQueue`), made on first use.
    private var timerQueue: TimerQueue?

    public init() {
        precondition(threadingReady, "evthread_use_pthreads failed")
        guard let base = event_base_new() else { fatalError("event_base_new failed") }
        self.base = base
    }

    deinit {
        signalEvents.removeAll()
        timerQueue = nil
        event_base_free(base)
    }

    /// A Sendable handle other threads may use to stop this loop or run work on it.
    public var handle: LoopHandle { LoopHandle(base: base) }

    /// Runs until `stop()` (or the handle's `stop()`): the timer queue's event keeps a loop that has made a
    /// timer from ending by itself when nothing else is pending.
    public func run() { event_base_dispatch(base) }

    public func stop() { event_base_loopbreak(base) }

    /// Runs `body` once after `delay` nanoseconds (0: on the next loop iteration), on libevent's
    /// millisecond clock (use a `Timer` for precise delays).
    public func schedule(after delay: Nanos, _ body: @escaping () -> Void) {
        runOnce(base: base, after: delay, body)
    }

    /// A timer owned by the caller: dropping it cancels it. Fires within microseconds of its deadline.
    public func makeTimer(_ body: @escaping () -> Void) -> Timer {
        let queue = timerQueue ?? TimerQueue(base: base)
        timerQueue = queue
        return Timer(queue: queue, body: body)
    }

    /// Timers armed on this loop now.
    public var pendingTimers: Int { timerQueue?.count ?? 0 }

    /// Calls `body` on this loop when `signal` arrives (persistent until the loop is freed).
    public func onSignal(_ signal: Int32, _ body: @escaping () -> Void) {
        signalEvents.append(SignalHandler(base: base, signal: signal, body: body))
    }
}

/// Crosses threads: stop a loop, or hand it work, from anywhere.
public struct LoopHandle: @unchecked Sendable {
    let base: OpaquePointer
    public func stop() { event_base_loopbreak(base) }
    /// Runs `body` on the loop's thread on its next iteration (libevent locks with pthreads on).
    public func execute(_ body: @escaping @Sendable () -> Void) { runOnce(base: base, after: 0, body) }
}

private final class Box {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

private func runOnce(base: OpaquePointer, after delay: Nanos, _ body: @escaping () -> Void) {
    let ctx = Unmanaged.passRetained(Box(body)).toOpaque()
    var tv = timeval(tv_sec: Int(delay / 1_000_000_000), tv_usec: Int((delay % 1_000_000_000) / 1000))
    let rc = event_base_once(base, -1, Int16(EV_TIMEOUT), { _, _, ctx in
        Unmanaged<Box>.fromOpaque(ctx!).takeRetainedValue().body()
    }, ctx, &tv)
    if rc != 0 { Unmanaged<Box>.fromOpaque(ctx).release() }
}

/// A re-armable one-shot timer, µs-precise. Cancelled by `cancel()` or when released.
/// Loop-confined: arm, cancel and release it on its loop's thread, before the loop is freed.
public final class Timer {
    private let queue: TimerQueue
    private let body: () -> Void
    /// Where the queue keeps it: its deadline and its place in the heap (-1: not armed).
    var deadline: Nanos = 0
    var heapIndex = -1
    public private(set) var isPending = false

    init(queue: TimerQueue, body: @escaping () -> Void) {
        self.queue = queue
        self.body = body
    }

    deinit { queue.remove(self) }

    /// Fires once after `delay`; re-arming replaces the previous deadline.
    public func arm(after delay: Nanos) {
        isPending = true
        queue.schedule(self, at: monotonicNanos() &+ delay)
    }

    public func cancel() {
        isPending = false
        queue.remove(self)
    }

    func run() {
        isPending = false
        body()
    }
}

private final class SignalHandler {
    private var event: OpaquePointer!
    private let body: () -> Void

    init(base: OpaquePointer, signal: Int32, body: @escaping () -> Void) {
        self.body = body
        event = sputter_evsignal_new(base, signal, { _, _, ctx in
            Unmanaged<SignalHandler>.fromOpaque(ctx!).takeUnretainedValue().body()
        }, Unmanaged.passUnretained(self).toOpaque())
        event_add(event, nil)
    }

    deinit { event_free(event) }
}

/// Raises the open-file limit to the hard limit. Returns the soft limit now in force, or nil.
public func raiseFileDescriptorLimit() -> Int? {
    let n = sputter_raise_nofile()
    return n < 0 ? nil : Int(n)
}

/// Wall-clock milliseconds since 1970 (for records humans read; durations use `monotonicNanos`).
public func wallClockMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}
