/// Who is connecting, for which attempt, with which seed: everything a plan may depend on
/// besides the stream itself.
public struct ConnectionContext: Sendable, Equatable {
    /// `Sputter-Client` / `sputter_client`, else remote address plus path.
    public var clientKey: String
    /// 1-based, counted per client key.
    public var attempt: Int
    public var seed: UInt64
    public var method: String
    public var path: String
    /// The `Last-Event-ID` header the client sent, if any.
    public var lastEventID: String?

    public init(
        clientKey: String, attempt: Int = 1, seed: UInt64 = 0, method: String = "GET", path: String = "/",
        lastEventID: String? = nil
    ) {
        self.clientKey = clientKey
        self.attempt = attempt
        self.seed = seed
        self.method = method
        self.path = path
        self.lastEventID = lastEventID
    }

    /// The seed of this connection's random source: a pure function of (seed, client key, attempt).
    public var connectionSeed: UInt64 {
        seed ^ fnv1a64(clientKey) ^ (UInt64(truncatingIfNeeded: attempt) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// This connection's random source.
    public func makeRandom() -> SplitMix64 { SplitMix64(seed: connectionSeed) }
}
