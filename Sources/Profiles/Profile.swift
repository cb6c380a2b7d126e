import Faults

/// Which requests a profile is meant for (informational for selection; see `matches`).
public struct ProfileMatch: Sendable, Equatable {
    /// Glob over the request path (without the query).
    public var path: Glob?
    /// Request method, compared case-sensitively (`GET`).
    public var method: String?
    /// `jsonrpc_method`: glob over the `method` member of a JSON-RPC body (or of any message of a batch).
    public var jsonrpcMethod: Glob?
    /// `json`: fields of a JSON object body, each equal to its value (a glob for strings); all must hold.
    public var json: [JSONFieldMatch]

    public init(path: Glob? = nil, method: String? = nil, jsonrpcMethod: Glob? = nil, json: [JSONFieldMatch] = []) {
        self.path = path
        self.method = method
        self.jsonrpcMethod = jsonrpcMethod
        self.json = json
    }

    /// The head criteria only (`method`, `path`); see `matches(method:path:body:)` for the body's.
    public func matches(method: String, path: String) -> Bool {
        if let m = self.method, m != method { return false }
        if let p = self.path, !p.matches(path) { return false }
        return true
    }
}

/// A named set of faults, possibly different per connection attempt.
public struct Profile: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Default seed when neither `--seed` nor `Sputter-Seed` gives one.
    public var seed: UInt64?
    public var match: ProfileMatch?
    /// Faults for attempts without an entry of their own.
    public var faults: [FaultSpec]
    /// Per-attempt overrides (1-based): an entry replaces `faults` for that attempt.
    public var attempts: [Int: [FaultSpec]]
    /// Replaces `faults` for attempts without their own entry in `attempts`.
    public var defaultAttempt: [FaultSpec]?
    /// The file it was read from (nil for built-in profiles).
    public var file: String?
    /// `client:`: the contract the ledger judges its requests by (nil: `--contract`, else the default rule).
    public var client: ClientContract?
    /// `terminator:`: under `once`, the message that ends a stream cleanly (`data: [DONE]`).
    public var terminator: StreamTerminator?

    public init(
        name: String, description: String = "", seed: UInt64? = nil, match: ProfileMatch? = nil,
        faults: [FaultSpec] = [], attempts: [Int: [FaultSpec]] = [:], defaultAttempt: [FaultSpec]? = nil,
        file: String? = nil
    ) {
        self.name = name
        self.description = description
        self.seed = seed
        self.match = match
        self.faults = faults
        self.attempts = attempts
        self.defaultAttempt = defaultAttempt
        self.file = file
    }

    /// The faults for the 1-based attempt `n`: its own entry, else `default`, else `faults`.
    public func faults(forAttempt n: Int) -> [FaultSpec] {
        attempts[n] ?? defaultAttempt ?? faults
    }

    /// No faults at all.
    public static let passthrough = Profile(
        name: "passthrough", description: "Relays the stream byte for byte; no faults.")
}
