import EventLoop
import Faults
import Ledger
import Profiles
import Session

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

/// Live actions on a client's open event streams (`POST /clients/KEY/cut`, `stall`, `resume`, `inject`,
/// `faults`): through the control API and SputterTesting. Call on this server's loop (the control API's).
extension ProxyServer {
    /// Why a live action found nothing to act on.
    public enum LiveActionError: Error, Equatable {
        /// No request of the client was ever seen; `openStreams`: keys with open streams.
        case unknownClient(String, openStreams: [String])
        /// The client is known but has no open event stream now.
        case noOpenStream(String, openStreams: [String])
    }

    /// Applies `command` to every open event stream of `key`; returns their connection ids (the ledger's,
    /// or the session's own when the ledger is off). A stream on this loop has it applied before this
    /// returns; one on another loop of `--threads N` gets it on its loop's next turn. `peer` is who asked.
    @discardableResult
    public func live(client key: String, _ command: LiveCommand, peer: String) throws(LiveActionError) -> [UInt64] {
        let targets = shared.live.targets(of: key)
        guard !targets.isEmpty else {
            let open = shared.live.keys
            let known = settings.with { $0.attempts[key] != nil }
            throw known ? .noOpenStream(key, openStreams: open) : .unknownClient(key, openStreams: open)
        }
        let action = LiveAction(command, peer: peer)
        let me = ObjectIdentifier(self)
        for target in targets {
            if target.server == me {
                target.session?.live(command, action: action)
            } else {
                target.loop.execute { target.session?.live(command, action: action) }
            }
        }
        logger.info("live action", metadata: ["client": "\(key)", "action": "\(action)", "connections": "\(targets.map(\.connection))"])
        return targets.map(\.connection)
    }
}

extension LiveAction {
    /// The ledger's record of `command`, asked by `peer`.
    init(_ command: LiveCommand, peer: String) {
        switch command {
        case .cut(let kind, let after): self.init(verb: .cut, peer: peer, cut: kind, afterEvents: after)
        case .stall(let heartbeats): self.init(verb: .stall, peer: peer, heartbeats: heartbeats)
        case .resume: self.init(verb: .resume, peer: peer)
        case .inject(let bytes): self.init(verb: .inject, peer: peer, bytes: bytes.count)
        case .faults(let specs): self.init(verb: .faults, peer: peer, faults: specs.map(\.name))
        }
    }
}
