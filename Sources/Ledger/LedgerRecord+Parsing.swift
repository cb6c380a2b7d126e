import Faults
import Foundation

/// Why a ledger line could not be read back.
public struct LedgerParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension LedgerRecord {
    /// Reads back a line written by `jsonLine()`. Foundation's JSON parser: this is for reports, not the
    /// hot path.
    public init(jsonLine line: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [])
        } catch {
            throw LedgerParseError("not JSON: \(error.localizedDescription)")
        }
        guard let o = object as? [String: Any] else { throw LedgerParseError("not a JSON object") }
        let r = JSONFields(o)
        let type = try r.string("type")
        let connection = r.optUInt("conn")
        let client = try r.string("client")
        let at = try r.uint("t")
        let body: Body
        switch type {
        case "connection_open":
            body = .connectionOpen(Open(attempt: try r.int("attempt"), wallMs: try r.uint("wall_ms"), method: try r.string("method"),
                                        path: try r.string("path"), lastEventIDSent: r.optString("last_event_id"),
                                        profile: try r.string("profile"), seed: try r.uint("seed"),
                                        contract: try r.optString("contract").map { c throws(LedgerParseError) in
                                            guard let v = ClientContract(rawValue: c) else {
                                                throw LedgerParseError("unknown contract '\(c)'; expected one of: \(ClientContract.names)")
                                            }
                                            return v
                                        } ?? .eventsource))
        case "response":
            body = .response(Response(status: try r.int("status"), contentType: r.optString("content_type"),
                                      synthetic: try r.bool("synthetic"), failReason: r.optString("reason")))
        case "frame":
            body = .frame(FrameInfo(index: try r.int("index"), kind: try r.string("kind"), id: r.optString("id"),
                                    eventType: r.optString("event"), retry: r.optUInt("retry"), size: try r.int("size"),
                                    digest: try r.hex("digest"), at: at))
        case "fault":
            // Lines written before effects were typed carry only the text (see `LegacyFaultText`).
            let fault = try r.string("fault")
            let effect = try r.optObject("effect").map { try FaultEffect(fields: $0) }
                ?? LegacyFaultText.effect(fault: fault, text: try r.string("action"))
            body = .fault(frameIndex: r.optInt("frame"), fault: fault, effect: effect)
        case "delivered":
            body = .delivered(Delivered(bytes: try r.int("bytes"), total: try r.int("total"), dispatched: try r.int("dispatched"),
                                        lastEventID: try r.string("last_event_id")))
        case "connection_close":
            let end: ConnectionEnd
            switch try r.string("end") {
            case "upstream_end": end = .upstreamEnd
            case "client_close": end = .clientClose
            case "fault":
                let name = try r.string("fault_kind")
                guard let kind = CloseKind(spelling: name) else {
                    throw LedgerParseError("field \"fault_kind\": expected rst, fin or half_close; found \"\(name)\"")
                }
                end = .fault(kind: kind, atByte: try r.int("at_byte"))
            case "upstream_error": end = .upstreamError(try r.string("error"))
            case "refused": end = .refused
            case "shutdown": end = .shutdown
            case let other: throw LedgerParseError("unknown end \"\(other)\"")
            }
            body = .connectionClose(Close(end: end, attempt: try r.int("attempt"), frames: try r.int("frames"),
                                          events: try r.int("events"), bytesDelivered: try r.int("bytes_delivered"),
                                          firstID: r.optString("first_id"), lastID: r.optString("last_id"),
                                          faults: try r.int("faults")))
        case "prediction":
            body = .prediction(Prediction(attempt: try r.int("attempt"), dispatched: try r.int("dispatched"),
                                          intact: try r.int("intact"), unexpected: try r.int("unexpected"),
                                          lastEventID: try r.string("last_event_id"),
                                          reconnectionTimeMs: try r.uint("reconnection_ms"),
                                          discardedTail: try r.bool("discarded_tail"), failReason: r.optString("reason"),
                                          possibleLastEventIDs: r.strings("possible_last_event_ids"),
                                          resetOutcome: try r.optInt("reset_read").map {
                                              Prediction.ResetOutcome(messagesRead: $0, decidedByAttempt: try r.int("reset_decided_by"))
                                          }))
        case "finding":
            let kindName = try r.string("kind")
            guard let kind = Finding.Kind(rawValue: kindName) else { throw LedgerParseError("unknown finding kind \"\(kindName)\"") }
            body = .finding(Finding(kind: kind, clientKey: client, attempt: r.optInt("attempt"), connection: connection,
                                    detail: try r.string("detail"), expected: r.optString("expected"),
                                    actual: r.optString("actual"), ids: r.strings("ids")))
        case "reset":
            body = .reset
        case "client":
            body = .client(ClientSummary(key: client, connections: try r.int("connections"), reconnects: try r.int("reconnects"),
                                         openConnections: try r.int("open"), expected: try r.int("expected"),
                                         received: try r.int("received"), missing: try r.int("missing"),
                                         duplicated: try r.int("duplicated"), unexpected: try r.int("unexpected"),
                                         findings: try r.int("findings"), missingIDs: r.strings("missing_ids"),
                                         duplicatedIDs: r.strings("duplicated_ids"), lastEventID: try r.string("last_event_id"),
                                         reconnectionTimeMs: try r.uint("reconnection_ms"), failed: try r.bool("failed"),
                                         verdict: try r.string("verdict")))
        default:
            throw LedgerParseError("unknown record type \"\(type)\"")
        }
        self.init(connection: connection, clientKey: client, at: at, body: body)
    }

    /// Every non-empty line of a JSONL text; lines that cannot be read are returned apart (1-based line numbers).
    public static func parse(jsonLines text: String) -> (records: [LedgerRecord], errors: [(line: Int, error: String)]) {
        var records: [LedgerRecord] = []
        var errors: [(line: Int, error: String)] = []
        var n = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            n += 1
            let s = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if s.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            do { records.append(try LedgerRecord(jsonLine: s)) } catch { errors.append((n, "\(error)")) }
        }
        return (records, errors)
    }
}

/// Typed reads from a JSON object, with errors that name the field.
struct JSONFields {
    let o: [String: Any]
    init(_ o: [String: Any]) { self.o = o }

    func object(_ k: String) throws -> JSONFields {
        guard let v = o[k] as? [String: Any] else { throw LedgerParseError("field \"\(k)\": expected an object") }
        return JSONFields(v)
    }
    func optObject(_ k: String) throws -> JSONFields? {
        guard let v = o[k], !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw LedgerParseError("field \"\(k)\": expected an object") }
        return JSONFields(d)
    }

    func string(_ k: String) throws -> String {
        guard let v = o[k] as? String else { throw LedgerParseError("field \"\(k)\": expected a string") }
        return v
    }
    func optString(_ k: String) -> String? { o[k] as? String }
    func number(_ k: String) -> NSNumber? {
        // Foundation gives numbers and `true`/`false` alike as NSNumber on Linux: the schema says which is which.
        guard let n = o[k] as? NSNumber else { return nil }
        return n
    }
    func int(_ k: String) throws -> Int {
        guard let n = number(k) else { throw LedgerParseError("field \"\(k)\": expected a number") }
        return n.intValue
    }
    func optInt(_ k: String) -> Int? { number(k)?.intValue }
    func uint(_ k: String) throws -> UInt64 {
        guard let n = number(k) else { throw LedgerParseError("field \"\(k)\": expected a number") }
        return n.uint64Value
    }
    func optUInt(_ k: String) -> UInt64? { number(k)?.uint64Value }
    func bool(_ k: String) throws -> Bool {
        guard let v = o[k] as? Bool else { throw LedgerParseError("field \"\(k)\": expected true or false") }
        return v
    }
    func strings(_ k: String) -> [String] { (o[k] as? [Any])?.compactMap { $0 as? String } ?? [] }
    func hex(_ k: String) throws -> UInt64 {
        guard let v = UInt64(try string(k), radix: 16) else { throw LedgerParseError("field \"\(k)\": expected 16 hex digits") }
        return v
    }
}
