import Foundation
import Ledger
import MiniServer

/// `POST /clients/KEY/observed` with `{"messages": [{"type": "tick", "data": "…", "id": "7", "connection": 1}, …]}`:
/// the messages the client under test dispatched, answered with a per-message diff against what a spec-exact
/// client dispatched from the bytes delivered (`Ledger.observedDiff`). `id` (the message's last event ID) and
/// `connection` (1 for the key's first connection) are optional; `type` defaults to `message`.
extension ControlAPI {
    /// Most messages one request may carry.
    static let maxObservedMessages = 100_000

    func observed(key: String, body: [UInt8]) -> MiniServer.Reply {
        guard proxy.config.recordLedger, proxy.config.ledgerLevel == .events else {
            return json(["error": "the ledger keeps dispatched messages only at --ledger-level events: there is nothing to compare with"],
                        status: 409)
        }
        let messages: [ObservedMessage]
        switch Self.parseObserved(body) {
        case .success(let m): messages = m
        case .failure(let e): return json(["error": e.message], status: 400)
        }
        guard let diff = proxy.ledger.with({ $0.observedDiff(key: key, messages: messages) }) else {
            return json(["error": "no client '\(key)' in the ledger", "clients": proxy.ledger.with { $0.clients().map(\.key) }], status: 404)
        }
        return .response(status: 200, contentType: "application/json", body: Array(diff.json().utf8) + [0x0A])
    }

    struct ObservedBodyError: Error {
        let message: String
    }

    /// The request body as messages, or what is wrong with it (naming the message and field).
    static func parseObserved(_ body: [UInt8]) -> Result<[ObservedMessage], ObservedBodyError> {
        let example = "expected {\"messages\": [{\"type\": \"message\", \"data\": \"…\", \"id\": \"7\", \"connection\": 1}, …]}"
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)), let fields = object as? [String: Any] else {
            return .failure(.init(message: "the body is not a JSON object: \(example)"))
        }
        if let unknown = fields.keys.sorted().first(where: { $0 != "messages" }) {
            return .failure(.init(message: "unknown field '\(unknown)': \(example)"))
        }
        guard let list = fields["messages"] as? [Any] else { return .failure(.init(message: "messages: expected a list: \(example)")) }
        guard list.count <= maxObservedMessages else {
            return .failure(.init(message: "messages: \(list.count) messages, at most \(maxObservedMessages) a request"))
        }
        var out: [ObservedMessage] = []
        out.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            guard let m = item as? [String: Any] else { return .failure(.init(message: "messages[\(i)]: expected an object")) }
            if let unknown = m.keys.sorted().first(where: { !["type", "data", "id", "connection"].contains($0) }) {
                return .failure(.init(message: "messages[\(i)]: unknown field '\(unknown)'; expected type, data, id, connection"))
            }
            guard let data = m["data"] as? String else { return .failure(.init(message: "messages[\(i)].data: expected a string")) }
            var type = "message"
            if let t = m["type"], !(t is NSNull) {
                guard let s = t as? String else { return .failure(.init(message: "messages[\(i)].type: expected a string")) }
                if !s.isEmpty { type = s }
            }
            var id: String?
            if let v = m["id"], !(v is NSNull) {
                guard let s = v as? String else { return .failure(.init(message: "messages[\(i)].id: expected a string (the last event ID)")) }
                id = s
            }
            var connection: Int?
            if let v = m["connection"], !(v is NSNull) {
                guard let n = v as? NSNumber, let c = Int(exactly: n.doubleValue), c >= 1 else {
                    return .failure(.init(message: "messages[\(i)].connection: expected a whole number from 1 (the client's first connection)"))
                }
                connection = c
            }
            out.append(ObservedMessage(type: type, data: data, id: id, connection: connection))
        }
        return .success(out)
    }
}
