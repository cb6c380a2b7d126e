import Faults
import SSE
import XCTest

@testable import Ledger

/// Scripted connections with made-up times (ms) for the pure ledger. No sockets, no sleeping.
final class Harness {
    final class Box { var records: [LedgerRecord] = [] }
    let box = Box()
    let ledger: Ledger
    private var parsers: [UInt64: SSEParser] = [:]
    var attempts: [String: Int] = [:]
    private var nextID: UInt64 = 1

    init(level: LedgerLevel = .events, reconnectionMs: UInt64 = 3000) {
        let box = self.box
        ledger = Ledger(level: level, defaultReconnectionTimeMs: reconnectionMs) { box.records.append($0) }
    }

    var records: [LedgerRecord] { box.records }
    var jsonl: String { records.map { $0.jsonLine() }.joined(separator: "\n") + "\n" }

    static func ns(_ ms: UInt64) -> UInt64 { ms * 1_000_000 + 1_000_000_000 }

    /// Opens a connection for `client` (its next attempt) and returns its id.
    @discardableResult
    func open(_ client: String = "c", at ms: UInt64, lastEventID: String? = nil, profile: String = "test", seed: UInt64 = 7,
              method: String = "GET", contract: ClientContract = .eventsource, terminator: StreamTerminator? = nil) -> UInt64 {
        let id = nextID
        nextID += 1
        let attempt = (attempts[client] ?? 0) + 1
        attempts[client] = attempt
        parsers[id] = SSEParser()
        ledger.connectionOpened(id: id, clientKey: client, attempt: attempt, at: Self.ns(ms), wallMs: 1_700_000_000_000 + ms,
                                method: method, path: "/events", lastEventIDSent: lastEventID, profile: profile, seed: seed,
                                contract: contract, terminator: terminator)
        return id
    }

    func respond(_ id: UInt64, status: Int = 200, contentType: String? = "text/event-stream", synthetic: Bool = false, at ms: UInt64) {
        ledger.responseStarted(id: id, status: status, contentType: contentType, synthetic: synthetic, at: Self.ns(ms))
    }

    /// The upstream sends `text`: every complete frame is reported. Returns the frames.
    @discardableResult
    func upstream(_ id: UInt64, _ text: String, at ms: UInt64) -> [SSEFrame] {
        var frames: [SSEFrame] = []
        parsers[id]!.feed(Array(text.utf8)) { out in
            if case .frame(let f) = out { frames.append(f) }
        }
        for f in frames { ledger.upstreamFrame(id: id, frame: f, at: Self.ns(ms)) }
        return frames
    }

    func deliver(_ id: UInt64, _ text: String, at ms: UInt64) {
        ledger.delivered(id: id, bytes: Array(text.utf8), at: Self.ns(ms))
    }

    func deliver(_ id: UInt64, _ frames: [SSEFrame], at ms: UInt64) {
        for f in frames { ledger.delivered(id: id, bytes: f.raw, at: Self.ns(ms)) }
    }

    /// Upstream sends `text` and the proxy passes it on unchanged.
    func relay(_ id: UInt64, _ text: String, at ms: UInt64) {
        deliver(id, upstream(id, text, at: ms), at: ms)
    }

    func fault(_ id: UInt64, frame: Int?, _ fault: String, _ effect: FaultEffect, at ms: UInt64) {
        ledger.fault(id: id, record: FaultRecord(frameIndex: frame, fault: fault, effect: effect, at: Self.ns(ms)))
    }

    func close(_ id: UInt64, _ end: ConnectionEnd = .upstreamEnd, at ms: UInt64) {
        ledger.connectionClosed(id: id, end: end, at: Self.ns(ms))
    }

    func findings(_ client: String = "c") -> [Finding] { ledger.findings(for: client) }
    func summary(_ client: String = "c") -> ClientSummary { ledger.client(client)!.summary }
}

/// `id: n`, `data: payload n` frames.
func events(_ ids: ClosedRange<Int>, type: String? = nil) -> String {
    ids.map { "\(type.map { "event: \($0)\n" } ?? "")id: \($0)\ndata: payload \($0)\n\n" }.joined()
}
