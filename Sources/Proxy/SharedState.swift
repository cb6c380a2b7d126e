import EventLoop
import Foundation
import Ledger
import Profiles
import Prometheus

/// What every event loop of one proxy shares (`--threads N`): one ledger and its file, the attempt
/// counters, the runtime settings and the profiles, and the metrics registry. So a client's reconnect may
/// land on any loop and still be attempt k + 1 of the same client in the same answer key, and the control
/// API (on the first loop) sees and sets everything. Each part has its own lock; with one loop the locks
/// are never contended (tens of nanoseconds a call).
public final class SharedState: @unchecked Sendable {
    let ledger: SharedLedger
    let settings: SharedSettings
    let registry = PrometheusCollectorRegistry()
    /// Open event streams by client key, for the control API's live actions.
    let live = LiveRegistry()

    init(config: ProxyConfig) throws {
        let registry = registry
        ledger = try SharedLedger(level: config.ledgerLevel, path: config.ledgerPath, registry: registry)
        settings = SharedSettings(profiles: config.profiles)
    }
}

/// The ledger behind a lock. Every call of the proxy goes through `with`; records go to the file (when
/// `--ledger FILE`) as they happen, under the same lock, so lines never interleave.
final class SharedLedger: @unchecked Sendable {
    private let lock = NSLock()
    private let ledger: Ledger
    private let file: LedgerFile?
    private var nextID: UInt64 = 0

    init(level: LedgerLevel, path: String?, registry: PrometheusCollectorRegistry) throws {
        let file = try path.map { try LedgerFile(path: $0) }
        self.file = file
        let written = registry.makeCounter(descriptor: ProxyMetrics.ledgerRecordsDescriptor)
        ledger = Ledger(level: level, sink: file.map { f in
            { record in
                f.write(record)
                written.increment()
            }
        })
    }

    @inline(__always)
    func with<T>(_ body: (Ledger) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(ledger)
    }

    /// A new id for an exchange recorded in the ledger (unique across loops).
    func makeID() -> UInt64 {
        with { _ in
            nextID += 1
            return nextID
        }
    }

    /// The connection ended: its records are on disk now.
    func connectionClosed(id: UInt64, end: ConnectionEnd, at: UInt64, reset: Bool? = nil) {
        with {
            $0.connectionClosed(id: id, end: end, at: at, reset: reset)
            file?.flush()
        }
    }

    /// Forgets everything (a `reset` record marks where).
    func reset() {
        with {
            $0.reset(at: monotonicNanos())
            file?.flush()
        }
    }

    /// End of the run: the findings that are final only now, each client's standing; the file closed.
    func finish() {
        with {
            $0.finish(at: monotonicNanos())
            file?.close()
        }
    }
}

/// Profiles in force (reloadable), runtime defaults, and attempts per client key, behind a lock.
final class SharedSettings: @unchecked Sendable {
    private let lock = NSLock()
    private var state: State

    struct State {
        /// What requests choose from: the files' profiles with the runtime ones laid over them.
        var profiles: ProfileLibrary
        var runtime = RuntimeSettings()
        var attempts: [String: Int] = [:]
        /// Profiles defined through the control API (`POST /profiles`): they shadow a file's profile of
        /// the same name and survive a reload.
        var runtimeProfiles: [String: Profile] = [:]
        /// The profiles read from files (and the built-ins), before the runtime ones are laid over them.
        var fileProfiles: ProfileLibrary
        /// Per client key, the fault lists of its next attempts, ahead of its profile (`POST /clients/KEY/next`).
        var nextAttempts: [String: [NextAttempt]] = [:]

        /// Rebuilds `profiles` from `fileProfiles` and `runtimeProfiles`.
        mutating func mergeProfiles() {
            profiles = ProfileLibrary(profiles: fileProfiles.all + runtimeProfiles.values.sorted { $0.name < $1.name })
            if let name = runtime.profile, profiles[name] == nil { runtime.profile = nil }
        }
    }

    init(profiles: ProfileLibrary) {
        state = State(profiles: profiles, fileProfiles: profiles)
    }

    func with<T>(_ body: (inout State) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }

    var profiles: ProfileLibrary { with { $0.profiles } }
    var runtime: RuntimeSettings { with { $0.runtime } }
}
