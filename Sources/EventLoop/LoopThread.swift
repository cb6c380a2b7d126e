import Foundation

/// Something that lives on a loop and must release its libevent objects on that loop's thread
/// before the loop is freed.
public protocol LoopResident: AnyObject {
    func tearDown()
}

/// Runs an `EventLoop` on a thread of its own (tests, in-process servers). `setup` runs on that
/// thread before the loop starts; `start` returns once the loop is dispatching.
public final class LoopThread<Value: LoopResident>: @unchecked Sendable {
    public let handle: LoopHandle
    /// What `setup` returned. Touch its loop-confined parts only through `handle.execute`.
    public let value: Value

    public static func start(name: String = "sputter-loop", _ setup: @escaping (EventLoop) throws -> Value) throws -> LoopThread<Value> {
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<(LoopHandle, Value), Error>?
        let thread = Thread {
            let loop = EventLoop()
            do {
                let value = try setup(loop)
                result = .success((loop.handle, value))
                // Signal "ready" from inside the running loop: a stop sent before dispatch starts would be lost.
                loop.schedule(after: 0) { ready.signal() }
                loop.run()
                value.tearDown()
            } catch {
                result = .failure(error)
                ready.signal()
            }
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
        ready.wait()
        let (handle, value) = try result!.get()
        return LoopThread(handle: handle, value: value, done: finished)
    }

    private init(handle: LoopHandle, value: Value, done: DispatchSemaphore) {
        self.handle = handle
        self.value = value
        self.doneSignal = done
    }
    private let doneSignal: DispatchSemaphore

    /// Stops the loop and waits for its thread to finish.
    public func stop() {
        handle.stop()
        doneSignal.wait()
    }

    /// Waits until the loop has ended by itself (e.g. a graceful shutdown that stops it).
    /// Use this instead of `stop()` once the loop may be gone: its handle is then dangling.
    public func waitUntilFinished() {
        doneSignal.wait()
    }
}
