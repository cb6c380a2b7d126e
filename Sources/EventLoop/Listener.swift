import CLibevent
import Glibc

/// A listening TCP socket. `onAccept` gets each new connection's non-blocking fd and peer address.
public final class Listener {
    private var listener: OpaquePointer!
    private let onAccept: (Int32, SocketAddress) -> Void
    public private(set) var address: SocketAddress

    public struct BindError: Error, CustomStringConvertible {
        public let address: String
        public let reason: String
        public var description: String { "cannot listen on \(address): \(reason)" }
    }

    /// Binds and listens. Port 0 picks an ephemeral port; `address.port` tells which.
    public init(loop: EventLoop, host: String, port: Int, reusePort: Bool = false,
                onAccept: @escaping (Int32, SocketAddress) -> Void) throws {
        self.onAccept = onAccept
        var bindAddress: SocketAddress
        do { bindAddress = try SocketAddress.resolve(host: host, port: port) } catch {
            throw BindError(address: "\(host):\(port)", reason: "\(error)")
        }
        var flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC
        if reusePort { flags |= LEV_OPT_REUSEABLE_PORT }
        address = bindAddress // replaced below with the bound address
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let made = bindAddress.withSockAddr { sa, len in
            evconnlistener_new_bind(loop.base, { _, fd, sa, len, ctx in
                let me = Unmanaged<Listener>.fromOpaque(ctx!).takeUnretainedValue()
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(len)))
                }
                me.onAccept(fd, SocketAddress(storage: storage, length: socklen_t(len)))
            }, ctx, flags, 1024, sa, Int32(len))
        }
        guard let made else {
            throw BindError(address: "\(host):\(port)", reason: String(cString: strerror(errno)))
        }
        listener = made
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(evconnlistener_get_fd(made), $0, &len) }
        }
        bindAddress = SocketAddress(storage: storage, length: len)
        address = bindAddress
    }

    deinit { close() }

    /// Stops accepting and closes the socket.
    public func close() {
        if let l = listener {
            evconnlistener_free(l)
            listener = nil
        }
    }

    public var port: Int { address.port }
}
