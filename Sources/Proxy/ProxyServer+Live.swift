import EventLoop
import Faults
import Ledger
import Profiles

/// What a test changes while it runs: runtime profiles and the next attempts of a client. The control
/// API (`ControlAPI+Live.swift`) and the SputterTesting library both go through these. Any thread: the
/// settings are behind their lock.
extension ProxyServer {
    /// Why a profile cannot be deleted.
    public enum DeleteProfileError: Error, Equatable {
        /// A file's profile or a built-in one: `whence` says which.
        case notRuntime(name: String, whence: String, runtimeProfiles: [String])
        case unknown(name: String, known: [String], runtimeProfiles: [String])
    }

    /// Defines (or replaces) a runtime profile: requests that name it get it from now on, and reloads keep it.
    /// Returns whether a runtime profile of that name was replaced, and the file whose profile it shadows.
    @discardableResult
    public func defineProfile(_ profile: Profile) -> (replaced: Bool, shadows: String?) {
        var runtime = profile
        runtime.file = nil
        let outcome = settings.with { state in
            let replaced = state.runtimeProfiles[runtime.name] != nil
            state.runtimeProfiles[runtime.name] = runtime
            state.mergeProfiles()
            return (replaced, state.fileProfiles[runtime.name]?.file)
        }
        logger.info("runtime profile defined", metadata: ["profile": "\(runtime.name)", "replaced": "\(outcome.0)"])
        return outcome
    }

    /// Removes a runtime profile; a file's profile of the same name is in force again (its file is returned).
    @discardableResult
    public func deleteProfile(_ name: String) throws(DeleteProfileError) -> String? {
        try settings.with { state in Result { () throws(DeleteProfileError) -> String? in
            guard state.runtimeProfiles.removeValue(forKey: name) != nil else {
                let runtime = state.runtimeProfiles.keys.sorted()
                if let profile = state.profiles[name] {
                    throw .notRuntime(name: name, whence: profile.file.map { "defined in \($0)" } ?? "built in", runtimeProfiles: runtime)
                }
                throw .unknown(name: name, known: state.profiles.names, runtimeProfiles: runtime)
            }
            state.mergeProfiles()
            return state.profiles[name]?.file
        } }.get()
    }

    /// Whether `name` was defined at run time.
    public func isRuntimeProfile(_ name: String) -> Bool { settings.with { $0.runtimeProfiles[name] != nil } }

    /// The client's next `count` attempts take `faults` instead of their profile's. Returns how many are queued now.
    @discardableResult
    public func queueNext(client key: String, faults: [FaultSpec], count: Int = 1) -> Int {
        let next = NextAttempt(faults: faults, queuedWallMs: wallClockMillis())
        let pending = settings.with { state in
            state.nextAttempts[key, default: []].append(contentsOf: repeatElement(next, count: max(0, count)))
            return state.nextAttempts[key]?.count ?? 0
        }
        logger.info("next attempts queued", metadata: ["client": "\(key)", "count": "\(count)", "faults": "\(faults.map(\.name))"])
        return pending
    }

    /// Forgets what `queueNext` queued for the client; returns how many attempts were dropped.
    @discardableResult
    public func clearNext(client key: String) -> Int {
        settings.with { $0.nextAttempts.removeValue(forKey: key)?.count ?? 0 }
    }

    /// How far the client has got (nil: the ledger has not seen it).
    public func progress(of key: String) -> ClientProgress? { ledger.with { $0.progress(of: key) } }
}
