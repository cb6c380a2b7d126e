import EventLoop
import Foundation
import HTTP1
import MiniServer
import Profiles

/// The control API: JSON over HTTP on its own listener (loopback by default).
///
/// | request | answer |
/// |---|---|
/// | `GET /health` | `{"ok":true}` |
/// | `GET /profiles` | every profile: name, description, file |
/// | `POST /profiles/reload` | re-reads the profile directory; on errors keeps the old set and answers 400 with them |
/// | `GET /settings` | the runtime default profile and seed, and what is in force |
/// | `PUT /settings` `{"profile": "lossy", "seed": 7}` | sets the runtime defaults (`null` clears one) |
/// | `POST /reset` | forgets attempt counters and the ledger |
/// | `GET /metrics` | Prometheus text: connections by profile, events, faults by kind, bytes, upstream errors, ledger records, the ledger's ids and id-table bytes |
/// | `GET /clients` | the ledger's summary of every client |
/// | `GET /clients/KEY` | one client (percent-encoded key): connections, predictions, findings, verdict |
/// | `GET /connections/ID` | one connection's records |
///
/// Runtime profiles, next attempts and waits: see `ControlAPI+Live.swift`.
///
/// Who may call it: it binds loopback unless told otherwise; an address that is not loopback needs a
/// token, and with a token every request but `GET /health` must carry `Authorization: Bearer TOKEN` (else 401). Requests a
/// web page makes (`Sec-Fetch-Site` cross-site or same-site) are refused, and without a token so is a `Host`
/// that is a domain name, not an IP address or localhost (a DNS-rebinding page). A connection that idles or trickles its
/// request is closed (`controlIdleTimeout`, `controlRequestTimeout`).
final class ControlAPI {
    unowned let proxy: ProxyServer
    /// The bearer token's bytes; nil: no token needed (loopback only).
    private let token: [UInt8]?

    init(proxy: ProxyServer, token: String?) {
        self.proxy = proxy
        self.token = token.map { Array($0.utf8) }
    }

    /// Binds the control API. Refuses an address that is not loopback without a token, and an empty token.
    static func listen(proxy: ProxyServer, host: String, port: Int, token: String?) throws -> (api: ControlAPI, server: MiniServer) {
        if let token, token.isEmpty { throw ProxyServer.ControlError(description: "the control token is empty") }
        if token == nil, !ProxyConfig.isLoopback(host: host) {
            throw ProxyServer.ControlError(description: "the control API on \(host):\(port) would be reachable from other machines without a token: "
                + "set one with --control-token or SPUTTER_CONTROL_TOKEN (clients send Authorization: Bearer TOKEN), or bind it to 127.0.0.1")
        }
        let api = ControlAPI(proxy: proxy, token: token)
        let timeouts = MiniServer.Timeouts(request: proxy.config.controlRequestTimeout, idle: proxy.config.controlIdleTimeout)
        let server = try MiniServer(loop: proxy.loop, host: host, port: port, timeouts: timeouts) { request in api.handle(request) }
        return (api, server)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// nil when the request may go on; else the refusal. `GET /health` is open to every caller (health probes
    /// cannot send a secret): it tells nothing and changes nothing.
    private func gate(_ request: MiniServer.Request) -> MiniServer.Reply? {
        if request.head.method == "GET", request.path == "/health" { return nil }
        let headers = request.head.headers
        if let site = headers.first("Sec-Fetch-Site")?.lowercased(), site == "cross-site" || site == "same-site" {
            return json(["error": "requests from web pages are refused (Sec-Fetch-Site: \(site))"], status: 403)
        }
        guard let token else {
            if let host = headers.first("Host"), !Self.hostIsAnAddress(host) {
                return json(["error": "Host '\(host)' is a domain name, not an IP address or localhost: refused (a DNS name pointing here could be a web page's rebinding; use 127.0.0.1, or set a control token)"], status: 403)
            }
            return nil
        }
        let unauthorized = { (why: String) -> MiniServer.Reply in
            .response(status: 401, contentType: "application/json",
                      body: Array("{\"error\":\"\(why)\"}\n".utf8),
                      headers: [HTTPField(name: "WWW-Authenticate", value: "Bearer realm=\"sputter\"")])
        }
        guard let value = headers.first("Authorization") else {
            return unauthorized("this control API needs a token: send Authorization: Bearer TOKEN")
        }
        guard value.count > 7, value.prefix(7).lowercased() == "bearer " else {
            return unauthorized("expected Authorization: Bearer TOKEN")
        }
        guard Self.constantTimeEqual(Array(value.dropFirst(7).utf8), token) else {
            return unauthorized("wrong token")
        }
        return nil
    }

    /// `127.0.0.1:8081`, `[::1]:8081`, `localhost:8081`, a single label (`x`): not a domain name a web page
    /// could re-point at this machine.
    static func hostIsAnAddress(_ host: String) -> Bool {
        var h = host
        if h.hasPrefix("[") {
            h = String(h.dropFirst().prefix { $0 != "]" })
        } else if let colon = h.lastIndex(of: ":"), h.filter({ $0 == ":" }).count == 1 {
            h = String(h[..<colon])
        }
        return h.lowercased() == "localhost" || !h.contains(".") || SocketAddress(numericHost: h, port: 0) != nil
    }

    func handle(_ request: MiniServer.Request) -> MiniServer.Reply {
        if let refusal = gate(request) { return refusal }
        if let reply = handleLive(request) { return reply }
        switch (request.head.method, request.path) {
        case ("GET", "/health"), ("GET", "/"):
            return json(["ok": true])
        case ("GET", "/profiles"):
            return json(["profiles": proxy.settings.profiles.all.map(describe), "default": proxy.effectiveProfileName])
        case ("POST", "/profiles/reload"):
            do {
                let names = try proxy.reloadProfiles()
                return json(["reloaded": names])
            } catch let error as ProfileLoadError {
                return json(["error": "profiles not reloaded; the previous set stays in force", "problems": error.errors.map(\.description)], status: 400)
            } catch let error as ProfileDirectoryError {
                return json(["error": "profiles not reloaded; the previous set stays in force", "problems": [error.description], "directory": error.directory], status: 400)
            } catch {
                return json(["error": "profiles not reloaded; the previous set stays in force", "problems": ["\(error)"],
                             "directory": proxy.config.profilesDirectory ?? NSNull()], status: 400)
            }
        case ("GET", "/settings"):
            return json(settings())
        case ("PUT", "/settings"), ("POST", "/settings"):
            return updateSettings(request.body)
        case ("GET", "/metrics"):
            if proxy.config.recordLedger {
                let memory = proxy.ledger.with { $0.idTableMemory }
                proxy.metrics.ledgerMemory(ids: memory.ids, bytes: memory.bytes)
            }
            return .response(status: 200, contentType: "text/plain; version=0.0.4", body: proxy.metrics.text())
        case ("GET", let path) where !proxy.config.recordLedger && (path == "/clients" || path.hasPrefix("/clients/") || path.hasPrefix("/connections/")):
            return json(["error": "the ledger is off (--ledger-level off): nothing is recorded"], status: 409)
        case ("GET", "/clients"):
            return raw(proxy.ledger.with { $0.clientsJSON() })
        case ("GET", let path) where path.hasPrefix("/clients/"):
            let key = percentDecoded(String(path.dropFirst("/clients/".count)))
            guard let body = proxy.ledger.with({ $0.clientJSON(key) }) else {
                return json(["error": "no client '\(key)' in the ledger", "clients": proxy.ledger.with { $0.clients().map(\.key) }], status: 404)
            }
            return raw(body)
        case ("GET", let path) where path.hasPrefix("/connections/"):
            guard let id = UInt64(path.dropFirst("/connections/".count)), let body = proxy.ledger.with({ $0.connectionJSON(id) }) else {
                return json(["error": "no connection \(path.dropFirst("/connections/".count)) in the ledger"], status: 404)
            }
            return raw(body)
        case ("POST", "/reset"):
            proxy.resetRunState()
            return json(["reset": true])
        default:
            return json(["error": "no such endpoint: \(request.head.method) \(request.path)",
                         "endpoints": ["GET /health", "GET /profiles", "POST /profiles", "DELETE /profiles/NAME", "POST /profiles/reload",
                                       "GET /settings", "PUT /settings", "POST /reset", "GET /metrics", "GET /clients", "GET /clients/KEY",
                                       "POST /clients/KEY/next", "DELETE /clients/KEY/next", "GET /clients/KEY/wait", "GET /connections/ID"]],
                        status: 404)
        }
    }

    private func describe(_ profile: Profile) -> [String: Any] {
        ["name": profile.name, "description": profile.description, "file": profile.file ?? NSNull(), "origin": origin(of: profile)]
    }

    private func settings() -> [String: Any] {
        let runtime = proxy.settings.runtime
        return [
            "profile": runtime.profile ?? NSNull(),
            "seed": runtime.seed.map { NSNumber(value: $0) } ?? NSNull(),
            "effective_profile": runtime.profile ?? proxy.config.profile ?? "passthrough",
            "effective_seed": NSNumber(value: proxy.effectiveSeed),
            "cli_profile": proxy.config.profile ?? NSNull(),
            "locked": proxy.config.lockProfile,
        ]
    }

    private func updateSettings(_ body: [UInt8]) -> MiniServer.Reply {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)), let fields = object as? [String: Any] else {
            return json(["error": "expected a JSON object such as {\"profile\": \"lossy\", \"seed\": 7}"], status: 400)
        }
        if let unknown = fields.keys.first(where: { $0 != "profile" && $0 != "seed" }) {
            return json(["error": "unknown field '\(unknown)'; expected profile, seed"], status: 400)
        }
        // Checked and applied under one lock: a reload in between cannot leave an unknown profile in force.
        let problem: MiniServer.Reply? = proxy.settings.with { state in
            var next = state.runtime
            if let value = fields["profile"] {
                if value is NSNull {
                    next.profile = nil
                } else if let name = value as? String {
                    guard state.profiles[name] != nil else {
                        return json(["error": "unknown profile '\(name)'; known profiles: \(state.profiles.names.joined(separator: ", "))"], status: 400)
                    }
                    next.profile = name
                } else {
                    return json(["error": "profile: expected a profile name or null"], status: 400)
                }
            }
            if let value = fields["seed"] {
                if value is NSNull {
                    next.seed = nil
                } else if let number = value as? NSNumber, let seed = UInt64(exactly: number.doubleValue) ?? UInt64(number.stringValue) {
                    next.seed = seed
                } else if let text = value as? String, let seed = UInt64(text) {
                    next.seed = seed
                } else {
                    return json(["error": "seed: expected a whole number from 0 to 18446744073709551615, or null"], status: 400)
                }
            }
            state.runtime = next
            return nil
        }
        return problem ?? json(settings())
    }

    private func raw(_ json: String) -> MiniServer.Reply {
        .response(status: 200, contentType: "application/json", body: Array(json.utf8) + [0x0A])
    }

    func json(_ object: [String: Any], status: Int = 200) -> MiniServer.Reply {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return .response(status: status, contentType: "application/json", body: Array(data) + [0x0A])
    }
}

/// The profile directory is missing or unreadable (a reload says which and why, not a framework's text).
struct ProfileDirectoryError: Error, CustomStringConvertible {
    let directory: String
    let problem: String
    var description: String { "the profile directory \(directory) \(problem)" }

    static func check(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ProfileDirectoryError(directory: directory, problem: "does not exist")
        }
        guard isDirectory.boolValue else { throw ProfileDirectoryError(directory: directory, problem: "is not a directory") }
        guard FileManager.default.isReadableFile(atPath: directory), (try? FileManager.default.contentsOfDirectory(atPath: directory)) != nil else {
            throw ProfileDirectoryError(directory: directory, problem: "cannot be read")
        }
    }
}
