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
