import EventLoop
import Foundation
import Session

/// One open event stream the control API can act on (`POST /clients/KEY/cut`, …): where it lives (its
/// loop, with `--threads N`), and its session, touched only on that loop.
final class LiveTarget: @unchecked Sendable {
    let clientKey: String
    /// The ledger's connection id (the session's own id when the ledger is off).
    let connection: UInt64
    /// The server (loop) the session belongs to.
    let server: ObjectIdentifier
    let loop: LoopHandle
    /// Read and cleared on the session's loop only.
    weak var session: ClientSession?

    init(clientKey: String, connection: UInt64, server: ObjectIdentifier, loop: LoopHandle, session: ClientSession) {
        self.clientKey = clientKey
        self.connection = connection
        self.server = server
        self.loop = loop
        self.session = session
    }
}

/// The open event streams of every loop, by client key, behind a lock.
final class LiveRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [String: [LiveTarget]] = [:]

    func add(_ target: LiveTarget) {
        lock.lock()
        defer { lock.unlock() }
        streams[target.clientKey, default: []].append(target)
    }

    func remove(_ target: LiveTarget) {
        lock.lock()
        defer { lock.unlock() }
        streams[target.clientKey]?.removeAll { $0 === target }
        if streams[target.clientKey]?.isEmpty == true { streams[target.clientKey] = nil }
    }

    /// The client's open streams, oldest first.
    func targets(of key: String) -> [LiveTarget] {
        lock.lock()
        defer { lock.unlock() }
        return streams[key] ?? []
    }

    /// Keys with at least one open stream, sorted.
    var keys: [String] {
        lock.lock()
        defer { lock.unlock() }
        return streams.keys.sorted()
    }
}
