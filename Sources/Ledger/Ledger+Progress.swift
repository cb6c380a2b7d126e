/// How far a client has got, cheaply: what a test waits on (`GET /clients/KEY/wait`).
public struct ClientProgress: Sendable, Equatable {
    /// Connection attempts recorded for the client.
    public var connections: Int
    /// Of those, still open.
    public var openConnections: Int
    /// Messages a spec-exact client dispatched from the bytes delivered, over all connections.
    public var dispatched: Int
    /// Payload bytes delivered to the client, over all connections.
    public var deliveredBytes: Int

    public init(connections: Int, openConnections: Int, dispatched: Int, deliveredBytes: Int) {
        self.connections = connections
        self.openConnections = openConnections
        self.dispatched = dispatched
        self.deliveredBytes = deliveredBytes
    }

    /// connections − 1 (never negative).
    public var reconnects: Int { max(0, connections - 1) }

    /// `{"connections":2,"open_connections":1,"reconnects":1,"dispatched":7,"delivered_bytes":410}`
    public var json: String {
        var w = JSONWriter()
        w.int("connections", connections)
        w.int("open_connections", openConnections)
        w.int("reconnects", reconnects)
        w.int("dispatched", dispatched)
        w.int("delivered_bytes", deliveredBytes)
        return w.finish()
    }
}

extension Ledger {
    /// The client's progress, or nil when the ledger has not seen the key (yet). O(connections).
    public func progress(of key: String) -> ClientProgress? {
        guard let client = clientsByKey[key] else { return nil }
        var progress = ClientProgress(connections: client.connections.count, openConnections: 0, dispatched: 0, deliveredBytes: 0)
        for connection in client.connections {
            if connection.isOpen { progress.openConnections += 1 }
            progress.dispatched += connection.dispatched
            progress.deliveredBytes += connection.deliveredBytes
        }
        return progress
    }
}

/// What a test waits for (`GET /clients/KEY/wait`, `SputterInstance.wait`).
public enum WaitCondition: Sendable, Equatable, CustomStringConvertible {
    /// A spec-exact client dispatched at least `n` messages (over all connections).
    case received(Int)
    /// At least `n` reconnects (connections − 1).
    case reconnected(Int)
    /// Nothing changed (connections, open connections, messages) for `quietMs`.
    case settled(quietMs: UInt64)

    public var description: String {
        switch self {
        case .received(let n): "received>=\(n)"
        case .reconnected(let n): "reconnected>=\(n)"
        case .settled(let ms): "settled(quiet \(ms)ms)"
        }
    }
}

/// One wait's decisions, given the client's progress at each look (pure: time is passed in).
public struct WaitTracker: Sendable {
    public enum Step: Sendable, Equatable { case met, pending, timedOut }

    public let condition: WaitCondition
    public let startedAt: UInt64
    public let timeout: UInt64
    /// For `settled`: what was last seen, and since when.
    private var last: ClientProgress?
    private var unchangedSince: UInt64

    public init(condition: WaitCondition, startedAt: UInt64, timeout: UInt64) {
        self.condition = condition
        self.startedAt = startedAt
        self.timeout = timeout
        unchangedSince = startedAt
    }

    public mutating func step(_ progress: ClientProgress?, now: UInt64) -> Step {
        if holds(progress, now: now) { return .met }
        return now &- startedAt >= timeout ? .timedOut : .pending
    }

    private mutating func holds(_ progress: ClientProgress?, now: UInt64) -> Bool {
        switch condition {
        case .received(let n): return (progress?.dispatched ?? 0) >= n
        case .reconnected(let n): return (progress?.reconnects ?? 0) >= n
        case .settled(let quietMs):
            // Settled: the client was seen, and its connections and messages have not moved for `quietMs`
            // (bytes are left out: heartbeats on an open stream do not keep a client unsettled).
            guard let progress else { return false }
            var shape = progress
            shape.deliveredBytes = 0
            if shape != last {
                last = shape
                unchangedSince = now
            }
            return now &- unchangedSince >= quietMs &* 1_000_000
        }
    }
}
