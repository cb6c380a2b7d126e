@testable import EventLoop
import class EventLoop.Timer  // not Foundation's
import Foundation
import Glibc
import XCTest

/// `Connection`'s read path: past libevent 2.1's 4 KiB reads, one `readv` takes what else the socket
/// holds; bytes stay in order, the read high watermark still bounds `input`, and the end is still seen.
/// Assertions are on bytes and bounds only, never on time.
final class ConnectionReadTests: XCTestCase {
    private final class Reader: ConnectionDelegate {
        var received: [UInt8] = []
        var largestInput = 0
        var end: Connection.End?
        /// Drain `input` in the callback (else only the drain timer does).
        var drainInCallback = true
        var expected = 0
        var onEnd: () -> Void = {}

        func connectionReadable(_ connection: Connection) {
            largestInput = max(largestInput, connection.input.count)
            // Without draining in callbacks, the last bytes are taken when all have arrived.
            if drainInCallback || received.count + connection.input.count >= expected { take(connection) }
        }

        func take(_ connection: Connection) {
            let input = connection.input
            received += input.peekBytes(input.count)
            input.drain(input.count)
        }

        /// The connection is closed here; what was left in `input` came through `connectionReadable` first.
        func connectionEnded(_ connection: Connection, _ end: Connection.End) {
            self.end = end
            onEnd()
        }
    }

    private static func pattern(_ n: Int) -> [UInt8] {
        var rng = UInt64(0x1234_5678)
        return (0..<n).map { _ in
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: rng >> 33)
        }
    }

    /// A socket pair: the loop's side wrapped in a Connection, the other written by a thread then closed.
    private func relay(_ bytes: [UInt8], configure: (Connection, Reader, EventLoop) -> Void) -> Reader {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        let loop = EventLoop()
        let reader = Reader()
        reader.expected = bytes.count
        let peer = try! SocketAddress.resolve(host: "127.0.0.1", port: 0)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        let connection = Connection(loop: loop, fd: fds[0], peer: peer)
        connection.delegate = reader
        reader.onEnd = { loop.stop() }
        configure(connection, reader, loop)
        let writerFD = fds[1]
        let writer = Thread {
            bytes.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(writerFD, raw.baseAddress! + off, min(100_000, raw.count - off))
                    if n <= 0 { break }
                    off += n
                }
            }
            close(writerFD)
        }
        writer.start()
        let guardTimer = loop.makeTimer { XCTFail("the test did not finish within 60 s"); loop.stop() }
        guardTimer.arm(after: 60_000_000_000)
        loop.run()
        guardTimer.cancel()
        withExtendedLifetime(connection) {}
        return reader
    }

    func testBytesArriveInOrderInPiecesLargerThanLibeventsReads() {
        let bytes = Self.pattern(4 << 20)
        let reader = relay(bytes) { _, _, _ in }
        XCTAssertEqual(reader.end, .eof)
        XCTAssertEqual(reader.received.count, bytes.count)
        XCTAssertTrue(reader.received == bytes, "the bytes, in order")
        XCTAssertGreaterThan(reader.largestInput, Connection.libeventMaxRead, "one callback saw more than libevent's 4 KiB read")
        XCTAssertLessThanOrEqual(reader.largestInput, Connection.maxRead + Connection.libeventMaxRead)
    }

    func testReadHighWatermarkStillBoundsInput() {
        let bytes = Self.pattern(2 << 20)
        let high = 48 * 1024
        var drainTimer: Timer?
        let reader = relay(bytes) { connection, reader, loop in
            connection.setReadHighWatermark(high)
            reader.drainInCallback = false
            // The owner drains only now and then: reading must stop at the watermark meanwhile.
            drainTimer = loop.makeTimer {
                if connection.isOpen { reader.take(connection) }
                drainTimer?.arm(after: 2_000_000)
            }
            drainTimer?.arm(after: 2_000_000)
        }
        drainTimer?.cancel()
        XCTAssertEqual(reader.end, .eof)
        XCTAssertTrue(reader.received == bytes, "the bytes, in order")
        XCTAssertGreaterThan(reader.largestInput, 0)
        XCTAssertLessThanOrEqual(reader.largestInput, high, "input never grew past the read high watermark")
    }
}
