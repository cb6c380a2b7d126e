import CLibevent
import Glibc

/// Receives a connection's happenings on the loop thread.
public protocol ConnectionDelegate: AnyObject {
    /// New bytes are in `input`.
    func connectionReadable(_ connection: Connection)
    /// `output` drained to the write low watermark.
    func connectionDrained(_ connection: Connection)
    /// An outgoing connection was established.
    func connectionConnected(_ connection: Connection)
    /// The peer closed, reset, timed out or failed to connect. The connection is already closed.
    func connectionEnded(_ connection: Connection, _ end: Connection.End)
}

public extension ConnectionDelegate {
    func connectionDrained(_ connection: Connection) {}
    func connectionConnected(_ connection: Connection) {}
}

/// One TCP connection on a bufferevent: input/output buffers, watermarks for back-pressure,
/// and the ways to end it (FIN after the last byte, RST, half-close).
public final class Connection {
    public enum End: Equatable, CustomStringConvertible {
        /// Orderly close by the peer (FIN).
        case eof
        /// Socket error, e.g. ECONNRESET or ECONNREFUSED.
        case error(Int32)
        /// The connect timeout passed.
        case timeout
        /// The TLS handshake or session failed (certificate verification, protocol error).
        case tls(String)

        public var description: String {
            switch self {
            case .eof: return "closed"
            case .timeout: return "timed out"
            case .tls(let reason): return "TLS: \(reason)"
            case .error(let code): return String(cString: strerror(code))
            }
        }
    }

    /// How to end a connection deliberately.
    public enum CloseKind: Equatable {
        /// After the output drains: FIN.
        case fin
        /// After the output drains: RST (SO_LINGER 0), as an abruptly dying peer.
        case rst
        /// Immediately: RST, discarding unsent output.
        case rstNow
        /// After the output drains: shutdown(SHUT_WR); keep the socket open (reads are discarded) until the peer closes.
        case halfClose
    }

    private var bev: OpaquePointer?
    public weak var delegate: ConnectionDelegate?
    public let peer: SocketAddress
    public private(set) var isReading = false
    private var pendingClose: CloseKind?
    private var keepAlive: Connection?   // held only while a deferred close is in progress
    private var lowWatermark = 0
    private let isTLS: Bool
    /// The read high watermark (0: none): our own reads stop there too.
    private var readHighWatermark = 0
    /// `input`'s size when the delegate last returned: libevent read what is above it since.
    private var inputAfterDelegate = 0

    /// libevent 2.1 reads at most this much per read callback (EVBUFFER_MAX_READ), after an ioctl(FIONREAD).
    static let libeventMaxRead = 4096
    /// The most one read of our own takes (`readRest`).
    public static let maxRead = 256 * 1024

    /// Wraps an accepted socket.
    public init(loop: EventLoop, fd: Int32, peer: SocketAddress) {
        self.peer = peer
        isTLS = false
        bev = bufferevent_socket_new(loop.base, fd, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
        _ = sputter_set_nodelay(fd)
        install()
    }

    /// Starts connecting to `address` (over TLS when `tls` is given, verifying `tls.host`); the
    /// delegate hears `connectionConnected` (after the handshake) or `connectionEnded`.
    public init(loop: EventLoop, connectingTo address: SocketAddress, timeout: Nanos, delegate: ConnectionDelegate,
                tls: (context: TLSClientContext, host: String)? = nil) {
        self.peer = address
        self.delegate = delegate
        isTLS = tls != nil
        if let tls, let ssl = tls.context.makeSSL(host: tls.host) {
            bev = sputter_tls_bufferevent(loop.base, ssl)
        } else {
            bev = bufferevent_socket_new(loop.base, -1, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue))
        }
        install()
        if timeout > 0 {
            var tv = timeval(tv_sec: Int(timeout / 1_000_000_000), tv_usec: Int((timeout % 1_000_000_000) / 1000))
            bufferevent_set_timeouts(bev, nil, &tv)
        }
        let rc = address.withSockAddr { sa, len in bufferevent_socket_connect(bev, sa, Int32(len)) }
        if rc != 0 {
            // Synchronous failure (e.g. no route): report it on the next loop turn, like any other.
            let code = errno == 0 ? ECONNREFUSED : errno
            loop.schedule(after: 0) { [self] in self.finish(.error(code)) }
        }
    }

    deinit {
        if let bev { bufferevent_free(bev) }
    }

    private func install() {
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        bufferevent_setcb(bev, { _, ctx in
            Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue().readable()
        }, { _, ctx in
            Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue().drained()
        }, { _, what, ctx in
            Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue().event(what)
        }, ctx)
        enableReading()
        bufferevent_enable(bev, Int16(EV_WRITE))
    }

    public var isOpen: Bool { bev != nil && pendingClose == nil }
    public var fd: Int32 { bev.map { Int32(bufferevent_getfd($0)) } ?? -1 }

    public var input: Buffer { Buffer(raw: bufferevent_get_input(bev)) }
    public var output: Buffer { Buffer(raw: bufferevent_get_output(bev)) }

    public func write(_ bytes: UnsafeRawBufferPointer) { if isOpen { output.append(bytes) } }
    public func write(_ bytes: [UInt8]) { if isOpen { output.append(bytes) } }
    public func write(_ string: String) { if isOpen { output.append(string) } }

    /// Writes up to `count` bytes from the front of `source` straight to the socket (draining them
    /// from `source`) when nothing waits in `output`, so the order of bytes is kept. This saves the
    /// buffered path's extra loop iteration (epoll_ctl to watch for writability, epoll_wait, writev,
    /// epoll_ctl again) on a stream that trickles. Returns the bytes written: 0 when the socket would
    /// block, on any error, or when `output` is not empty; the caller queues the rest in `output` as
    /// usual, and the buffered path reports errors.
    public func sendDirect(_ count: Int, from source: Buffer) -> Int {
        guard let bev, !isTLS, pendingClose == nil, count > 0, evbuffer_get_length(bufferevent_get_output(bev)) == 0 else { return 0 }
        let socket = bufferevent_getfd(bev)
        guard socket >= 0 else { return 0 }
        let n = evbuffer_write_atmost(source.raw, socket, count)
        return n > 0 ? Int(n) : 0
    }

    /// Writes `first`, `second` and `third`, in this order: with one `sendmsg` straight to the socket
    /// when nothing waits in `output` (as `sendDirect`), queuing in `output` what the socket does not
    /// take; otherwise all into `output`. For bytes the caller holds (a shaped stream's writes).
    public func writeDirect(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = Connection.none,
                            _ third: UnsafeRawBufferPointer = Connection.none) {
        guard let bev, pendingClose == nil else { return }
        let output = bufferevent_get_output(bev)
        var sent = 0
        let socket = bufferevent_getfd(bev)
        if !isTLS, evbuffer_get_length(output) == 0, socket >= 0 {  // a TLS socket only takes what OpenSSL wrote
            var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
                           iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count),
                           iovec(iov_base: UnsafeMutableRawPointer(mutating: third.baseAddress), iov_len: third.count))
            sent = withUnsafeMutablePointer(to: &vectors) { p in
                p.withMemoryRebound(to: iovec.self, capacity: 3) { v in
                    var message = msghdr()
                    message.msg_iov = v
                    message.msg_iovlen = 3
                    let n = sendmsg(socket, &message, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    return n > 0 ? n : 0
                }
            }
        }
        func queue(_ piece: UnsafeRawBufferPointer) {
            guard piece.count > 0 else { return }
            if sent >= piece.count {
                sent -= piece.count
                return
            }
            evbuffer_add(output, piece.baseAddress! + sent, piece.count - sent)
            sent = 0
        }
        queue(first)
        queue(second)
        queue(third)
    }

    public static let none = UnsafeRawBufferPointer(start: nil, count: 0)

    public func enableReading() {
        guard let bev, !isReading else { return }
        bufferevent_enable(bev, Int16(EV_READ))
        isReading = true
    }

    public func disableReading() {
        guard let bev, isReading else { return }
        bufferevent_disable(bev, Int16(EV_READ))
        isReading = false
    }

    /// Stop reading (libevent-side) once `high` bytes wait in `input`; 0 = unbounded.
    public func setReadHighWatermark(_ high: Int) {
        readHighWatermark = max(0, high)
        bufferevent_setwatermark(bev, Int16(EV_READ), 0, high)
    }

    /// `connectionDrained` fires when `output` falls to `low` bytes.
    public func setWriteLowWatermark(_ low: Int) {
        lowWatermark = low
        bufferevent_setwatermark(bev, Int16(EV_WRITE), low, 0)
    }

    /// Ends the connection. `.fin`, `.rst` and `.halfClose` first send what is in `output`.
    /// The delegate hears nothing more; the connection keeps itself alive until it is done.
    public func close(_ kind: CloseKind = .fin) {
        guard let bev, pendingClose == nil else { return }
        delegate = nil
        if kind == .rstNow {
            _ = sputter_set_linger_zero(fd)
            free()
            return
        }
        pendingClose = kind
        keepAlive = self
        disableReading()
        if kind == .halfClose { bufferevent_enable(bev, Int16(EV_READ)) }  // read and discard until the peer closes
        bufferevent_setwatermark(bev, Int16(EV_WRITE), 0, 0)
        if output.isEmpty { drained() }
    }

    private func free() {
        if let b = bev {
            bev = nil
            bufferevent_free(b)
        }
        keepAlive = nil
    }

    private func readable() {
        if pendingClose != nil {
            input.drain(input.count)
            return
        }
        let failure = isTLS ? 0 : readRest()
        // The delegate may drop its last reference to this connection: keep it alive for what follows.
        withExtendedLifetime(self) {
            delegate?.connectionReadable(self)
            guard let bev else { return }
            inputAfterDelegate = evbuffer_get_length(bufferevent_get_input(bev))
            if failure != 0, pendingClose == nil { finish(.error(failure)) }
        }
    }

    /// When libevent's read took its whole 4 KiB (so the socket likely holds more), reads the rest with
    /// one `readv` straight into `input`, up to `maxRead` and the read high watermark: a fast stream then
    /// costs one read per loop turn instead of an ioctl and a read per 4 KiB, and the delegate sees (and
    /// writes on) large pieces. A stream that trickles costs nothing more (libevent's read took less).
    /// End of stream is left to libevent's next read (the socket stays readable); a socket error is
    /// returned, to end the connection after the delegate had the bytes before it.
    private func readRest() -> Int32 {
        guard let bev else { return 0 }
        let buffer = bufferevent_get_input(bev)
        let have = evbuffer_get_length(buffer)
        guard have >= inputAfterDelegate + Self.libeventMaxRead else { return 0 }
        let room = readHighWatermark > 0 ? min(readHighWatermark - have, Self.maxRead) : Self.maxRead
        let socket = bufferevent_getfd(bev)
        guard room > 0, socket >= 0 else { return 0 }
        if sputter_evbuffer_read_socket(buffer, socket, room) < 0 {
            let code = errno
            if code != EAGAIN && code != EWOULDBLOCK && code != EINTR && code != ENOMEM { return code }
        }
        return 0
    }

    private func drained() {
        switch pendingClose {
        case nil:
            delegate?.connectionDrained(self)
        case .fin?:
            if output.isEmpty { free() }
        case .rst?, .rstNow?:
            if output.isEmpty {
                _ = sputter_set_linger_zero(fd)
                free()
            }
        case .halfClose?:
            if output.isEmpty, bev != nil {
                _ = sputter_shutdown_write(fd)
                bufferevent_disable(bev, Int16(EV_WRITE))
            }
        }
    }

    private func event(_ what: Int16) {
        let flags = Int32(what)
        if flags & Int32(BEV_EVENT_CONNECTED) != 0 {
            bufferevent_set_timeouts(bev, nil, nil)
            _ = sputter_set_nodelay(fd)
            delegate?.connectionConnected(self)
            return
        }
        let end: End
        if flags & Int32(BEV_EVENT_TIMEOUT) != 0 {
            end = .timeout
        } else if flags & Int32(BEV_EVENT_ERROR) != 0 {
            let code = sputter_socket_error()
            if isTLS, let reason = tlsError() {
                end = .tls(reason)
            } else {
                end = .error(code == 0 ? ECONNRESET : code)
            }
        } else {
            end = .eof
        }
        finish(end)
    }

    private func tlsError() -> String? {
        guard let bev else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        sputter_tls_error(bev, &buffer, buffer.count)
        let text = String(cString: buffer)
        return text.isEmpty ? nil : text
    }

    private func finish(_ end: End) {
        let delegate = self.delegate
        self.delegate = nil
        if pendingClose == nil {
            // Keep what the peer sent before it left readable to the owner: it reads in its callback.
            if end == .eof, let delegate, !input.isEmpty { delegate.connectionReadable(self) }
        }
        free()
        pendingClose = nil
        delegate?.connectionEnded(self, end)
    }
}
