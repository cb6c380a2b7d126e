import ArgumentParser
import Faults
import Foundation
import Profiles

struct ProfilesShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a profile: its file, description, seed, match and faults per attempt.")

    @Argument(help: "The profile's name (see `sputter profiles list`).")
    var name: String

    @OptionGroup var directory: ProfilesDirectoryOption

    func validate() throws {
        _ = try profile()
    }

    func run() throws {
        say(describe(try profile()).joined(separator: "\n"))
    }

    func profile() throws -> Profile {
        let library = try directory.library()
        guard let profile = library[name] else {
            throw ValidationError("unknown profile '\(name)'; known profiles: \(library.names.joined(separator: ", "))")
        }
        return profile
    }
}

/// A profile as `sputter profiles show` prints it.
func describe(_ profile: Profile) -> [String] {
    var lines = [
        "name:   \(profile.name)",
        "file:   \(profile.file ?? "(built in)")",
        "seed:   \(profile.seed.map(String.init) ?? "(none: --seed, Sputter-Seed or the start-up seed)")",
        "match:  \(describe(profile.match))",
        "",
    ]
    lines += wrap(profile.description, width: 96).map { "  " + $0 }
    lines.append("")
    let numbers = profile.attempts.keys.sorted()
    for n in numbers {
        lines.append("attempt \(n):")
        lines += describe(profile.attempts[n] ?? [])
    }
    if numbers.isEmpty {
        lines.append("every attempt:")
    } else if numbers == Array(1...numbers.count) {
        lines.append("default (attempt \(numbers.count + 1) and later):")
    } else {
        lines.append("default (every other attempt):")
    }
    lines += describe(profile.defaultAttempt ?? profile.faults)
    return lines
}

func describe(_ match: ProfileMatch?) -> String {
    var parts: [String] = []
    if let method = match?.method { parts.append("method \(method)") }
    if let path = match?.path { parts.append("path \(path)") }
    if let rpc = match?.jsonrpcMethod { parts.append("JSON-RPC method \(rpc)") }
    for field in match?.json ?? [] { parts.append("JSON \(field.path.joined(separator: ".")) \(field.value)") }
    return parts.isEmpty ? "any request" : parts.joined(separator: ", ")
}

/// One line per fault: `  - NAME: settings; select: …; probability p`.
func describe(_ faults: [FaultSpec]) -> [String] {
    if faults.isEmpty { return ["  (no faults: relayed as is)"] }
    return faults.map { spec in
        var parts = ["  - \(spec.name)"]
        let settings = settingsText(spec.fault)
        if !settings.isEmpty { parts[0] += ": " + settings }
        let selector = describe(spec.selector)
        if !selector.isEmpty { parts.append("select: " + selector) }
        if spec.probability != 1 { parts.append("probability \(spec.probability)") }
        return parts.joined(separator: "; ")
    }
}

/// The selector with the keys profiles use; empty for "everything the fault targets by default".
func describe(_ s: FaultSelector) -> String {
    var parts: [String] = []
    if let kinds = s.kinds { parts.append("kinds \(kinds.map(\.profileName).sorted().joined(separator: ","))") }
    if let types = s.eventTypes { parts.append("types \(types.joined(separator: ","))") }
    if let id = s.id { parts.append("id \(id)") }
    if let r = s.idRange { parts.append("id_range \(r)") }
    if let r = s.frameIndex { parts.append("frame_index \(r)") }
    if let r = s.eventIndex { parts.append("event_index \(r)") }
    return parts.joined(separator: ", ")
}

/// A fault's settings by reflection: `label: value, …` in snake_case. Leaves out what is
/// unset or off (nil, empty, false, a zero duration). Durations (`Nanos`) are printed with
/// `formatNanos`; a nested struct in braces; an enum case with its payload in parentheses.
func settingsText(_ fault: Fault) -> String {
    fieldsText(fault.settings)
}

private func fieldsText(_ value: Any) -> String {
    Mirror(reflecting: value).children.compactMap { child -> String? in
        guard let label = child.label, let text = valueText(child.value) else { return nil }
        return label.hasPrefix(".") ? text : "\(snakeCase(label)): \(text)"
    }.joined(separator: ", ")
}

/// nil when the value is unset or off.
private func valueText(_ value: Any) -> String? {
    let mirror = Mirror(reflecting: value)
    switch value {
    case let n as Nanos: return n == 0 ? nil : formatNanos(n)
    case let b as Bool: return b ? "true" : nil
    case let s as String: return "\"\(s)\""
    case let bytes as [UInt8]:
        if bytes.isEmpty { return nil }
        if let text = String(bytes: bytes, encoding: .utf8), !text.contains(where: { $0.isASCII && $0.asciiValue! < 0x20 }) {
            return "\"\(text)\""
        }
        return bytes.map { String(format: "%02X", $0) }.joined(separator: " ")
    case let d as CustomStringConvertible where mirror.displayStyle != .optional && mirror.displayStyle != .collection:
        return d.description
    default: break
    }
    switch mirror.displayStyle {
    case .optional:
        return mirror.children.first.flatMap { valueText($0.value) }
    case .collection, .set:
        let items = mirror.children.compactMap { valueText($0.value) }
        return items.isEmpty ? nil : "[" + items.joined(separator: ", ") + "]"
    case .struct, .tuple:
        return "{" + fieldsText(value) + "}"
    case .enum:
        if let raw = (value as? any RawRepresentable)?.rawValue as? String { return raw }
        guard let payload = mirror.children.first, let caseName = payload.label else { return snakeCase(String(describing: value)) }
        let inner = Mirror(reflecting: payload.value).displayStyle == .tuple
            ? fieldsText(payload.value) : valueText(payload.value) ?? ""
        return "\(snakeCase(caseName))(\(inner))"
    default:
        return String(describing: value)
    }
}

/// `bytesPerSecond` → `bytes_per_second`, `invalidUTF8` → `invalid_utf8`.
private func snakeCase(_ name: String) -> String {
    var out = ""
    var previous: Character?
    for c in name {
        if c.isUppercase, let p = previous, p.isLowercase || p.isNumber { out += "_" }
        out += c.lowercased()
        previous = c
    }
    return out
}

/// Words of `text` in lines of at most `width` characters (a longer word gets a line of its own).
func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(whereSeparator: \.isWhitespace) {
        if !line.isEmpty, line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += (line.isEmpty ? "" : " ") + word
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
