// Sources/Proxy/ResolveFailure.swift
/// Why an upstream name did not become an address.
enum ResolveFailure: Error, Equatable {
    /// The resolver answered with an error (NXDOMAIN, no address…).
    case failed(String)
    /// The resolver did not answer within the timeout (milliseconds).
    case timedOut(Int)
    /// The name resolved to an address outside the forward-proxy allow-list.
    case forbidden(String)
}
