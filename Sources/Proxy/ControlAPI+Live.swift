import EventLoop
import Faults
import Foundation
import HTTP1
import Ledger
import MiniServer
import Profiles

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
        // Decoded as a profile's `faults`, so the settings and messages are the profiles' own.
        let specs: [FaultSpec]
        do {
            let document = try JSONSerialization.data(withJSONObject: ["name": "next", "description": "POST /clients/KEY/next", "faults": faults],
                                                      options: [.sortedKeys])
            specs = try ProfileLibrary.parse(yaml: String(decoding: document, as: UTF8.self), file: "next").faults
        } catch let error as ProfileError {
            return json(["error": "faults not queued: \(error.field): \(error.message)", "field": error.field], status: 400)
        } catch {
            return json(["error": example], status: 400)
        }
        let pending = proxy.queueNext(client: key, faults: specs, count: count)
        return json(["client": key, "queued": count, "pending": pending, "faults": specs.map(\.name)], status: 201)
    }

    private func clearNext(key: String) -> MiniServer.Reply {
        json(["client": key, "dropped": proxy.clearNext(client: key)])
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
                case .met: answer(200, progress)
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
