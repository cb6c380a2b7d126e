import CLibevent
import Glibc

/// An OpenSSL client context for upstream connections: verification on by default, with the
/// system's trust store or a given CA file.
public final class TLSClientContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let verify: Bool

    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Parameters:
    ///   - verify: check the upstream's certificate chain and host name (false: `--insecure`).
    ///   - caFile: PEM file of trusted certificates (`--upstream-ca`); nil = the system's.
    public init(verify: Bool = true, caFile: String? = nil) throws {
        let made: OpaquePointer? = caFile.map { path in path.withCString { sputter_tls_client_context(verify ? 1 : 0, $0) } }
            ?? sputter_tls_client_context(verify ? 1 : 0, nil)
        guard let made else {
            throw SetupError(description: caFile.map { "cannot load CA certificates from \($0)" } ?? "cannot set up TLS (system trust store)")
        }
        ctx = made
        self.verify = verify
    }

    deinit { SSL_CTX_free(ctx) }

    /// A new SSL object for a connection to `host` (SNI, and the name the certificate must match).
    func makeSSL(host: String) -> OpaquePointer? {
        var bare = host
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        var v4 = in_addr(), v6 = in6_addr()
        let isIP = inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
        return sputter_tls_new(ctx, bare, verify ? 1 : 0, isIP ? 1 : 0)
    }
}
