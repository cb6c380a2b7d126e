import Faults
import HTTP1
import Profiles

/// Which profile and seed a request gets, and which attempt it is for its client.
struct Selection {
    var profile: Profile
    var seed: UInt64
    var clientKey: String
    var attempt: Int
    var faults: [FaultSpec]
    /// The queued faults (`POST /clients/KEY/next`) this attempt takes instead of its profile's.
    var next: NextAttempt? = nil
    /// The contract the ledger judges the request by, and (`once`) the profile's terminator.
    var contract = ClientContract.eventsource
    var terminator: StreamTerminator? = nil
}

/// What selection reads of a request's head besides Sputter's controls.
struct RequestTraits: Sendable, Equatable {
    var accept: String?
    var lastEventID: String?
    var mcpSessionID: String?

    init(accept: String? = nil, lastEventID: String? = nil, mcpSessionID: String? = nil) {
        self.accept = accept
        self.lastEventID = lastEventID
        self.mcpSessionID = mcpSessionID
    }

    init(_ headers: HTTPHeaders) {
        self.init(accept: headers.values("Accept").joined(separator: ", ").nilIfEmpty,
                  lastEventID: headers.first("Last-Event-ID"), mcpSessionID: headers.first("Mcp-Session-Id"))
    }
}

private extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// Faults a test queued for a client's next attempt, ahead of its profile.
struct NextAttempt: Sendable, Equatable {
    var faults: [FaultSpec]
    /// When it was queued (wall clock, ms since 1970), for the answer and the logs.
    var queuedWallMs: UInt64
}

/// What can be changed at runtime through the control API.
struct RuntimeSettings {
    var profile: String?
    var seed: UInt64?
}

extension ProxyServer {
    /// Selection, most specific first: the request's header or query parameter, the control
    /// API's default, `--profile`, else passthrough. A profile whose `match` does not cover the
    /// request leaves it untouched. The contract: the request's, else the profile's `client:`, else
    /// `--contract`, else `ClientContract.defaultRule`. The attempt counter for the client key advances
    /// only for a stream attempt under the contract (`ClientContract.isStreamAttempt`); a request that is
    /// not one keeps the current attempt number, takes no queued or per-attempt faults, only `faults`.
    /// `body`: the request's payload when it was read for body matchers (`bodyMatchLimit`), else nil.
    func select(controls: SputterControls, method: String, path: String, peerHost: String,
                traits: RequestTraits = RequestTraits(), body: [UInt8]? = nil) throws(ErrorResponse) -> Selection {
        try settings.with { state in Result { () throws(ErrorResponse) in
            try select(controls: controls, method: method, path: path, peerHost: peerHost, traits: traits, body: body, state: &state)
        } }.get()
    }

    /// How many bytes of the request body to read before selecting (`SessionMachine`'s `awaitingBody`): the
    /// bound when the profile the request would get has body matchers (`jsonrpc_method`, `json`) and its
    /// method and path match; nil otherwise, and for a request with `Expect: 100-continue` (its client waits
    /// for the upstream's 100 before sending the body), so every other request takes the unbuffered path.
    func bodyMatchLimit(controls: SputterControls, method: String, path: String, expectsContinue: Bool) -> Int? {
        guard !expectsContinue, config.maxMatchBodyBytes > 0 else { return nil }
        let profile = settings.with { state in (try? chosenProfile(controls: controls, state: state))?.profile }
        guard let match = profile?.match, match.matchesBody, match.matches(method: method, path: path) else { return nil }
        // Bounded by the read watermark too: the client's input never holds more than it before reading stops.
        return min(config.maxMatchBodyBytes, config.highWater)
    }

    /// The profile a request names (or the runtime default, `--profile`, passthrough) and its seed, before `match`.
    private func chosenProfile(controls: SputterControls, state: SharedSettings.State) throws(ErrorResponse)
        -> (profile: Profile, requestSeed: UInt64?)
    {
        let runtime = state.runtime, profiles = state.profiles
        var name = runtime.profile ?? config.profile
        var requestSeed: UInt64?
        if !config.lockProfile {
            if let requested = controls.profile { name = requested }
            if let text = controls.seed {
                guard let seed = UInt64(text) else {
                    throw ErrorResponse(status: 400, kind: "bad-seed", message: "seed '\(text)' is not a whole number from 0 to 18446744073709551615")
                }
                requestSeed = seed
            }
        }
        var profile = Profile.passthrough
        if let name {
            guard let found = profiles[name] else {
                throw ErrorResponse(status: 400, kind: "unknown-profile",
                                    message: "unknown profile '\(name)'; known profiles: \(profiles.names.joined(separator: ", "))")
            }
            profile = found
        }
        return (profile, requestSeed)
    }

    private func select(controls: SputterControls, method: String, path: String, peerHost: String, traits: RequestTraits,
                        body: [UInt8]?, state: inout SharedSettings.State) throws(ErrorResponse) -> Selection {
        let runtime = state.runtime
        var (profile, requestSeed) = try chosenProfile(controls: controls, state: state)
        if let match = profile.match, !match.matches(method: method, path: path, body: body) { profile = .passthrough }
        var contract = profile.client ?? config.contract
            ?? ClientContract.defaultRule(method: method, accept: traits.accept, lastEventID: traits.lastEventID,
                                       mcpSessionID: traits.mcpSessionID)
        if let text = controls.contract {
            do throws(ContractError) { contract = try ClientContract.parse(text) } catch {
                throw ErrorResponse(status: 400, kind: "bad-contract", message: "Sputter-Contract: \(error.message)")
            }
        }
        let clientKey = controls.client ?? "\(peerHost) \(path)"
        let seed = seed(requested: requestSeed, runtime: runtime, profile: profile)
        guard contract.isStreamAttempt(accept: traits.accept, lastEventID: traits.lastEventID) else {
            return Selection(profile: profile, seed: seed, clientKey: clientKey, attempt: state.attempts[clientKey] ?? 0,
                             faults: profile.faults, contract: contract, terminator: profile.terminator)
        }
        let attempt = (state.attempts[clientKey] ?? 0) + 1
        state.attempts[clientKey] = attempt
        if let next = state.nextAttempts[clientKey]?.first {
            state.nextAttempts[clientKey]?.removeFirst()
            if state.nextAttempts[clientKey]?.isEmpty == true { state.nextAttempts[clientKey] = nil }
            // Named `lossy+next` in the ledger, logs and metrics: the attempt did not get its profile's faults.
            var queued = profile
            queued.name += "+next"
            return Selection(profile: queued, seed: seed, clientKey: clientKey, attempt: attempt, faults: next.faults, next: next,
                             contract: contract, terminator: profile.terminator)
        }
        return Selection(profile: profile, seed: seed, clientKey: clientKey, attempt: attempt,
                         faults: profile.faults(forAttempt: attempt), contract: contract, terminator: profile.terminator)
    }
}

extension ProxyServer {
    /// The one rule for a connection's seed: the request's (`Sputter-Seed`/`sputter_seed`), else the
    /// control API's, else `--seed`, else the profile's own, else the one chosen at start-up.
    /// `select` and `GET /settings` both ask it.
    func seed(requested: UInt64?, runtime: RuntimeSettings, profile: Profile) -> UInt64 {
        requested ?? runtime.seed ?? config.seed ?? profile.seed ?? config.startupSeed
    }

    /// The seed a request that names no profile and no seed gets now (`GET /settings`'s `effective_seed`):
    /// the default profile's (runtime, else `--profile`, else passthrough) under `seed(requested:…)`.
    var effectiveSeed: UInt64 {
        settings.with { state in
            let profile = (state.runtime.profile ?? config.profile).flatMap { state.profiles[$0] } ?? .passthrough
            return seed(requested: nil, runtime: state.runtime, profile: profile)
        }
    }
}
