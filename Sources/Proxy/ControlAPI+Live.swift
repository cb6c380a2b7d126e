import EventLoop
import Faults
import Foundation
import HTTP1
import Ledger
import MiniServer
import Profiles
import Session

/// The control API's endpoints for tests that drive faults as they go:
///
/// | request | answer |
/// |---|---|
/// | `POST /profiles` (a profile in YAML or JSON) | defines or replaces a runtime profile: 201 `{"defined": NAME, …}`; 400 `line: field: message` |
/// | `DELETE /profiles/NAME` | removes a runtime profile (a file's profile of the same name is back in force); 404 / 409 for others |
/// | `POST /clients/KEY/next` `{"faults": [...], "count": 1}` or `{"respond": {...}}` | the client's next `count` attempts take these faults instead of their profile's |
/// | `DELETE /clients/KEY/next` | forgets what was queued for the client |
/// | `POST /clients/KEY/observed` `{"messages": [{"type", "data", "id", "connection"}…]}` | the messages the client dispatched, diffed against a spec-exact client's (`ControlAPI+Observed.swift`) |
/// | `GET /clients/KEY/wait?received=N` / `?reconnected=N` / `?settled` `&timeout_ms=T` | answers as soon as the condition holds (200), or 408 with the client's state after `timeout_ms` |
/// | `GET /clients/KEY/wait?settled&judge=1` | also waits until a reconnect the client owes is overdue, judges `gaveUp`, answers with the client's report (`report`) |
/// | `POST /clients/KEY/cut` `{"kind": "rst"\|"fin"\|"clean", "after_events": N}` | ends the client's open streams, now or after N more events |
/// | `POST /clients/KEY/stall` `{"heartbeats": true}` / `POST /clients/KEY/resume` | holds the open streams (socket open) / lets them go on |
/// | `POST /clients/KEY/inject` `{"raw": "data: x\n\n"}` or `{"event": …, "data": …, "id": …}` | writes one event between frames |
/// | `POST /clients/KEY/faults` `{"faults": [...]}` | the open streams take this fault list from now on |
extension ControlAPI {
    /// Default and largest `timeout_ms` of a wait.
    static let defaultWaitMs: UInt64 = 10_000
    static let maxWaitMs: UInt64 = 300_000
    /// How long a client must stay unchanged to count as settled (`quiet_ms`, default).
    static let defaultQuietMs: UInt64 = 250
    /// How often a wait looks at the ledger.
    static let waitPollNanos: UInt64 = 5_000_000

    /// The live endpoints, or nil when the request is for another one.
    func handleLive(_ request: MiniServer.Request) -> MiniServer.Reply? {
        let method = request.head.method, path = request.path
        if path == "/profiles", method == "POST" { return defineProfile(request.bodyText) }
        if path.hasPrefix("/profiles/"), method == "DELETE" {
            return deleteProfile(percentDecoded(String(path.dropFirst("/profiles/".count))))
        }
        guard path.hasPrefix("/clients/") else { return nil }
        let rest = path.dropFirst("/clients/".count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let key = percentDecoded(String(rest[..<slash]))
        switch (method, rest[rest.index(after: slash)...]) {
        case ("POST", "next"): return queueNext(key: key, body: request.body)
        case ("DELETE", "next"): return clearNext(key: key)
        case ("GET", "wait"): return wait(key: key, query: request.query)
        case ("POST", "observed"): return observed(key: key, body: request.body)
        case ("POST", "cut"), ("POST", "stall"), ("POST", "resume"), ("POST", "inject"), ("POST", "faults"):
            return liveAction(String(rest[rest.index(after: slash)...]), key: key, body: request.body, peer: request.peer)
        default: return nil
        }
    }

    /// Where a profile comes from, for `GET /profiles`.
    func origin(of profile: Profile) -> String {
        if proxy.isRuntimeProfile(profile.name) { return "runtime" }
        return profile.file == nil ? "built-in" : "file"
    }

    // MARK: - Runtime profiles

    private func defineProfile(_ text: String) -> MiniServer.Reply {
        let profile: Profile
        do {
            profile = try ProfileLibrary.parse(yaml: text, file: "POST /profiles")
        } catch {
            return json(["error": "profile not defined: \(error.line > 0 ? "line \(error.line): " : "")\(error.field): \(error.message)",
                         "line": error.line, "field": error.field], status: 400)
        }
        let (replaced, shadows) = proxy.defineProfile(profile)
        return json(["defined": profile.name, "origin": "runtime", "replaced": replaced,
                     "shadows": shadows ?? NSNull(), "profiles": proxy.settings.profiles.names], status: 201)
    }

    private func deleteProfile(_ name: String) -> MiniServer.Reply {
        do throws(ProxyServer.DeleteProfileError) {
            let restored = try proxy.deleteProfile(name)
            return json(["deleted": name, "restored_from_file": restored ?? NSNull(), "profiles": proxy.settings.profiles.names])
        } catch {
            switch error {
            case .notRuntime(_, let whence, let runtime):
                return json(["error": "profile '\(name)' is \(whence); only profiles defined with POST /profiles can be deleted",
                             "runtime_profiles": runtime], status: 409)
            case .unknown(_, let known, let runtime):
                return json(["error": "no profile '\(name)'; known profiles: \(known.joined(separator: ", "))", "runtime_profiles": runtime],
                            status: 404)
            }
        }
    }

    // MARK: - Next attempts

    private func queueNext(key: String, body: [UInt8]) -> MiniServer.Reply {
        let example = "expected a JSON object such as {\"faults\": [{\"disconnect\": {\"after_events\": 3, \"kind\": \"rst\"}}], \"count\": 1} or {\"respond\": {\"status\": 503, \"retry_after\": 2}}"
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)), var fields = object as? [String: Any] else {
            return json(["error": example], status: 400)
        }
        if let unknown = fields.keys.sorted().first(where: { !["faults", "respond", "count"].contains($0) }) {
            return json(["error": "unknown field '\(unknown)'; expected faults, respond, count"], status: 400)
        }
        var count = 1
        if let value = fields.removeValue(forKey: "count") {
            guard let number = value as? NSNumber, let n = Int(exactly: number.doubleValue), n >= 1, n <= 1000 else {
                return json(["error": "count: expected a whole number from 1 to 1000"], status: 400)
            }
            count = n
        }
        if fields["faults"] != nil, !(fields["faults"] is [Any]) {
            return json(["error": "faults: expected a list of faults, as in a profile"], status: 400)
        }
        var faults: [Any] = (fields["faults"] as? [Any]) ?? []
        if let respond = fields["respond"] { faults.append(["respond": respond]) }
        guard fields["faults"] != nil || fields["respond"] != nil else { return json(["error": example], status: 400) }
        let specs: [FaultSpec]
        switch decodeFaults(faults, endpoint: "next") {
        case .success(let decoded): specs = decoded
        case .failure(let problem): return json(["error": "faults not queued: \(problem.message)", "field": problem.field ?? NSNull()], status: 400)
        }
        let pending = proxy.queueNext(client: key, faults: specs, count: count)
        return json(["client": key, "queued": count, "pending": pending, "faults": specs.map(\.name)], status: 201)
    }

    private func clearNext(key: String) -> MiniServer.Reply {
        json(["client": key, "dropped": proxy.clearNext(client: key)])
    }

    /// Decodes a list of faults as a profile's `faults`, so the settings and messages are the profiles' own.
    private func decodeFaults(_ faults: [Any], endpoint: String) -> Result<[FaultSpec], LiveBodyProblem> {
        do {
            let document = try JSONSerialization.data(withJSONObject: ["name": endpoint, "description": "POST /clients/KEY/\(endpoint)", "faults": faults],
                                                      options: [.sortedKeys])
            return .success(try ProfileLibrary.parse(yaml: String(decoding: document, as: UTF8.self), file: endpoint).faults)
        } catch let error as ProfileError {
            return .failure(LiveBodyProblem("\(error.field): \(error.message)", field: error.field))
        } catch {
            return .failure(LiveBodyProblem("faults: expected a list of faults, as in a profile (\(error))"))
        }
    }

    // MARK: - Live actions on open streams

    struct LiveBodyProblem: Error {
        var message: String
        var field: String?
        init(_ message: String, field: String? = nil) {
            self.message = message
            self.field = field
        }
    }

    /// `POST /clients/KEY/{cut,stall,resume,inject,faults}`.
    private func liveAction(_ verb: String, key: String, body: [UInt8], peer: String) -> MiniServer.Reply {
        let command: LiveCommand
        switch Self.liveCommand(verb, body: body, decodeFaults: { decodeFaults($0, endpoint: verb) }) {
        case .success(let c): command = c
        case .failure(let problem): return json(["error": "POST /clients/KEY/\(verb): \(problem.message)"], status: 400)
        }
        let connections: [UInt64]
        do throws(ProxyServer.LiveActionError) {
            connections = try proxy.live(client: key, command, peer: peer)
        } catch {
            switch error {
            case .unknownClient(_, let open): return json(["error": "no client \(key)", "clients": open], status: 404)
            case .noOpenStream(_, let open): return json(["error": "client \(key) has no open stream", "open": open], status: 409)
            }
        }
        var answer: [String: Any] = ["client": key, "connections": connections, "action": verb]
        switch command {
        case .cut(let kind, let after):
            answer["kind"] = kind.rawValue
            answer["after_events"] = after ?? NSNull()
        case .stall(let heartbeats): answer["heartbeats"] = heartbeats
        case .inject(let bytes): answer["bytes"] = bytes.count
        case .faults(let specs): answer["faults"] = specs.map(\.name)
        case .resume: break
        }
        return json(answer)
    }

    /// Reads a live action's body (an empty body is `{}`). Errors name the field.
    static func liveCommand(_ verb: String, body: [UInt8],
                            decodeFaults: ([Any]) -> Result<[FaultSpec], LiveBodyProblem>) -> Result<LiveCommand, LiveBodyProblem> {
        let fields: [String: Any]
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            fields = [:]
        } else {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)), let f = object as? [String: Any] else {
                return .failure(LiveBodyProblem("expected a JSON object"))
            }
            fields = f
        }
        let allowed: [String]
        switch verb {
        case "cut": allowed = ["kind", "after_events"]
        case "stall": allowed = ["heartbeats"]
        case "inject": allowed = ["raw", "event", "data", "id"]
        case "faults": allowed = ["faults"]
        default: allowed = []
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            return .failure(LiveBodyProblem("unknown field '\(unknown)'" + (allowed.isEmpty ? "; expected an empty body" : "; expected \(allowed.joined(separator: ", "))")))
        }
        switch verb {
        case "cut":
            var kind = LiveAction.CutKind.rst
            if let value = fields["kind"] {
                guard let name = value as? String, let k = LiveAction.CutKind(rawValue: name) else {
                    return .failure(LiveBodyProblem("kind: expected \"rst\", \"fin\" or \"clean\""))
                }
                kind = k
            }
            var after: Int?
            if let value = fields["after_events"], !(value is NSNull) {
                guard let number = value as? NSNumber, let n = Int(exactly: number.doubleValue), n >= 0, n <= 1_000_000_000 else {
                    return .failure(LiveBodyProblem("after_events: expected a whole number ≥ 0"))
                }
                after = n
            }
            return .success(.cut(kind, afterEvents: after))
        case "stall":
            guard let value = fields["heartbeats"] else { return .success(.stall(heartbeats: false)) }
            guard let flag = value as? Bool else { return .failure(LiveBodyProblem("heartbeats: expected true or false")) }
            return .success(.stall(heartbeats: flag))
        case "resume":
            return .success(.resume)
        case "inject":
            return injection(fields).map(LiveCommand.inject)
        default:
            guard let faults = fields["faults"] as? [Any] else {
                return .failure(LiveBodyProblem("faults: expected a list of faults, as in a profile, e.g. {\"faults\": [{\"drop\": {\"probability\": 0.5}}]}"))
            }
            return decodeFaults(faults).map(LiveCommand.faults)
        }
    }

    /// The bytes of one event: `raw` as given (it must end with a blank line), or built from `event`, `data`, `id`.
    static func injection(_ fields: [String: Any]) -> Result<[UInt8], LiveBodyProblem> {
        if let raw = fields["raw"] {
            guard fields.count == 1 else { return .failure(LiveBodyProblem("raw: give either raw or event/data/id, not both")) }
            guard let text = raw as? String, !text.isEmpty else { return .failure(LiveBodyProblem("raw: expected a string such as \"data: x\\n\\n\"")) }
            guard text.hasSuffix("\n\n") || text.hasSuffix("\r\n\r\n") || text.hasSuffix("\r\r") else {
                return .failure(LiveBodyProblem("raw: must end with a blank line (\"\\n\\n\"), so that it is one whole event"))
            }
            return .success(Array(text.utf8))
        }
        guard let data = fields["data"] as? String else {
            return .failure(LiveBodyProblem("data: expected a string (or give raw)"))
        }
        for name in ["event", "id"] {
            guard let value = fields[name] else { continue }
            guard let string = value as? String, !string.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) else {
                return .failure(LiveBodyProblem("\(name): expected a string without line breaks"))
            }
        }
        return .success(LiveCommand.eventBytes(type: fields["event"] as? String, data: data, id: fields["id"] as? String))
    }

    // MARK: - Waiting

    private func wait(key: String, query: [String: String]) -> MiniServer.Reply {
        guard proxy.config.recordLedger else {
            return json(["error": "the ledger is off (--ledger-level off): there is nothing to wait on"], status: 409)
        }
        let condition: WaitCondition
        switch WaitCondition.parse(query) {
        case .success(let c): condition = c
        case .failure(let problem): return json(["error": problem.message], status: 400)
        }
        var timeoutMs = Self.defaultWaitMs
        if let text = query["timeout_ms"] {
            guard let ms = UInt64(text), ms <= Self.maxWaitMs else {
                return json(["error": "timeout_ms: expected a whole number of milliseconds up to \(Self.maxWaitMs)"], status: 400)
            }
            timeoutMs = ms
        }
        let ledger = proxy.ledger
        let judge = query["judge"] == "1"
        return .stream { [proxy] stream in
            var tracker = WaitTracker(condition: condition, startedAt: monotonicNanos(), timeout: timeoutMs * 1_000_000)
            var timer: LoopTimer?
            func answer(_ status: Int, _ progress: ClientProgress?) {
                timer?.cancel()
                timer = nil
                stream.onEnd = nil
                var body = "{\"client\":" + jsonString(key) + ",\"condition\":" + jsonString(condition.description)
                body += ",\"met\":\(status == 200),\"waited_ms\":\((monotonicNanos() - tracker.startedAt) / 1_000_000)"
                body += ",\"progress\":" + (progress?.json ?? "null")
                if judge { body += ",\"report\":" + (ledger.with { $0.judgeJSON(key: key, at: monotonicNanos()) } ?? "null") }
                if status != 200, progress == nil {
                    body += ",\"clients\":[" + ledger.with { $0.clients().map { jsonString($0.key) } }.joined(separator: ",") + "]"
                }
                body += "}\n"
                let bytes = Array(body.utf8)
                stream.connection.write("HTTP/1.1 \(status) \(HTTPStatus.reasonPhrase(status))\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n")
                stream.connection.write(bytes)
                stream.finish()
            }
            func check() {
                let progress = proxy.progress(of: key)
                switch tracker.step(progress, now: monotonicNanos()) {
                case .met:
                    // `judge=1`: a reconnect still owed is waited for until it is overdue (or the wait times out).
                    let now = monotonicNanos()
                    if judge, let due = ledger.with({ $0.gaveUpDue(key: key) }), now < due {
                        if now - tracker.startedAt < timeoutMs * 1_000_000 { timer?.arm(after: Self.waitPollNanos) } else { answer(408, progress) }
                    } else {
                        answer(200, progress)
                    }
                case .timedOut: answer(408, progress)
                case .pending: timer?.arm(after: Self.waitPollNanos)
                }
            }
            timer = proxy.loop.makeTimer { check() }
            stream.onEnd = { timer?.cancel(); timer = nil }
            check()
        }
    }
}

private func jsonString(_ s: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [s], options: [])) ?? Data("[\"\"]".utf8)
    return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
}

/// `GET /clients/KEY/wait`'s query: one condition, its options.
extension WaitCondition {
    struct Problem: Error { var message: String }

    static func parse(_ query: [String: String]) -> Result<WaitCondition, Problem> {
        let given = ["received", "reconnected", "settled"].filter { query[$0] != nil }
        guard given.count == 1 else {
            return .failure(Problem(message: "name one condition: ?received=N, ?reconnected=N or ?settled (with quiet_ms=MS, default \(ControlAPI.defaultQuietMs)); optional timeout_ms (default \(ControlAPI.defaultWaitMs))"))
        }
        func count(_ name: String) -> Result<Int, Problem> {
            guard let n = Int(query[name] ?? ""), n >= 0 else { return .failure(Problem(message: "\(name): expected a whole number ≥ 0")) }
            return .success(n)
        }
        switch given[0] {
        case "received": return count("received").map(WaitCondition.received)
        case "reconnected": return count("reconnected").map(WaitCondition.reconnected)
        default:
            guard let text = query["quiet_ms"] else { return .success(.settled(quietMs: ControlAPI.defaultQuietMs)) }
            guard let ms = UInt64(text), ms <= ControlAPI.maxWaitMs else {
                return .failure(Problem(message: "quiet_ms: expected a whole number of milliseconds up to \(ControlAPI.maxWaitMs)"))
            }
            return .success(.settled(quietMs: ms))
        }
    }
}
