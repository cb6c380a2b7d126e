import Foundation
import Ledger
import Proxy
import XCTest

/// A `text/event-stream` body with no line end, to a client that never reads: what the proxy holds for the
/// stream, by its own accounting (`ProxyServer.heldBytes`: buffers, parser, ledger share), stays within the
/// README's per-stream bound, with the ledger off, at summary and at events level.
final class StreamBoundTests: XCTestCase {
    /// Streams `total` bytes of one unfinished `data` line until the proxy stops reading; the origin's
    /// count of bytes sent and the most the proxy held while they flowed.
    private func stall(total: Int, _ configure: @escaping (inout ProxyConfig) -> Void) throws -> (sent: Int, peak: Int) {
        nonisolated(unsafe) var sent = 0
        let origin = try ScriptedOrigin { conn in
            _ = conn.readHead()
            conn.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ")
            let batch = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
            while sent < total {
                let n = batch.withUnsafeBytes { Glibc.send(conn.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n > 0 {
                    sent += n
                } else if n < 0, errno == EAGAIN {
                    usleep(1000)
                } else {
                    break
                }
            }
            conn.close()
        }
        let proxy = try ProxyOnLoop(origin: origin, configure)
        let s = try TestSocket(port: proxy.port)
        s.send("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        var peak = 0
        var last = -1
        var still = 0
        // Until the origin is held back (its count stands still for 40 samples) or has sent everything.
        while still < 40 && sent < total {
            usleep(10_000)
            peak = max(peak, proxy.on { $0.heldBytes })
            if sent == last { still += 1 } else { still = 0; last = sent }
        }
        peak = max(peak, proxy.on { $0.heldBytes })
        return (sent, peak)
    }

    /// The README's bound: 256 KiB unsent per direction and a 64 KiB read (about 0.6 MB), plus the observer's
    /// 64 KiB of a block (whether the ledger records the stream or not), and with the ledger its share
    /// (about 0.2 MB, and its client model's 64 KiB of a line).
    static let buffers = 2 * (256 << 10) + (64 << 10)
    static let observerBlock = (64 << 10) + 2

    func testLedgerOff() throws {
        let r = try stall(total: 64 << 20) { $0.recordLedger = false }
        XCTAssertGreaterThan(r.sent, 1 << 20, "enough went through the proxy for an unbounded hold to show")
        XCTAssertLessThanOrEqual(r.peak, Self.buffers + Self.observerBlock, "held \(r.peak) bytes, \(r.sent) sent")
        print("StreamBoundTests ledger off: peak \(r.peak) bytes held, \(r.sent) bytes sent")
    }

    /// With the ledger, --max-event-bytes at 1 MiB so that the megabytes the proxy lets through go past it
    /// (a parser that held the block up to it, as before the ledger recorded long blocks from its pieces,
    /// would hold 1 MiB more than the bound): the observer holds 64 KiB of the block, and the ledger's client
    /// model at most 64 KiB of the line (plus a 16 KiB line start and one read) however long it grows.
    func testLedgerSummaryAndEvents() throws {
        for level in [LedgerLevel.summary, .events] {
            let r = try stall(total: 64 << 20) {
                $0.ledgerLevel = level
                $0.maxFrameBytes = 1 << 20
            }
            XCTAssertGreaterThan(r.sent, 2 << 20, "\(level): enough went through for the block to pass --max-event-bytes")
            let bound = Self.buffers + Self.observerBlock + 200_000 + (64 << 10) + (16 << 10) + (64 << 10)
            XCTAssertLessThanOrEqual(r.peak, bound, "\(level): held \(r.peak) bytes, \(r.sent) sent")
            print("StreamBoundTests \(level): peak \(r.peak) bytes held, \(r.sent) bytes sent (bound \(bound))")
        }
    }
}
