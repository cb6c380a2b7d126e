import EventLoop

/// The event loop's timer, under a name that files importing Foundation (which has a `Timer` of its own) can use.
typealias LoopTimer = Timer
