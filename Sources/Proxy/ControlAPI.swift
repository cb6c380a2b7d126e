import Foundation
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
/// | `GET /metrics` | Prometheus text: connections by profile, events, faults by kind, bytes, upstream errors, ledger records |
/// | `GET /clients` | the ledger's summary of every client |
/// | `GET /clients/KEY` | one client (percent-encoded key): connections, predictions, findings, verdict |
/// | `GET /connections/ID` | one connection's records |
///
/// Runtime profiles, next attempts and waits: see `ControlAPI+Live.swift`.
final class ControlAPI {
    unowned let proxy: ProxyServer

    init(proxy: ProxyServer) { self.proxy = proxy }

    func handle(_ request: MiniServer.Request) -> MiniServer.Reply {
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
            } catch {
                return json(["error": "\(error)"], status: 400)
            }
        case ("GET", "/settings"):
            return json(settings())
        case ("PUT", "/settings"), ("POST", "/settings"):
            return updateSettings(request.body)
        case ("GET", "/metrics"):
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
