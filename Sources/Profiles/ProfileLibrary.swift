import Faults
import Foundation
import Yams

/// The profiles of one directory, by name.
public struct ProfileLibrary: Sendable {
    private var byName: [String: Profile]

    /// Profiles by name; a later one with the same name replaces an earlier one.
    public init(profiles: [Profile]) {
        byName = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    }

    /// Names, sorted.
    public var names: [String] { byName.keys.sorted() }
    /// Profiles, sorted by name.
    public var all: [Profile] { names.compactMap { byName[$0] } }
    public subscript(name: String) -> Profile? { byName[name] }

    /// Files of `directory` that are profiles: `*.yaml`, `*.yml` and `*.json` except
    /// `*.schema.json`, sorted by name. Subdirectories are not searched.
    public static func profileFiles(in directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.filter {
            ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json")) && !$0.hasSuffix(".schema.json")
                && !$0.hasPrefix(".")
        }.sorted().map { directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0 }
    }

    /// Loads every profile file of `directory`.
    /// - Throws: `ProfileLoadError` with every problem of every file (and names defined twice),
    ///   or the file system's error when the directory cannot be read.
    public static func load(directory: String, registry: FaultRegistry = .standard) throws -> ProfileLibrary {
        let (profiles, errors) = check(files: try profileFiles(in: directory), registry: registry)
        if !errors.isEmpty { throw ProfileLoadError(errors: errors) }
        return ProfileLibrary(profiles: profiles)
    }

    /// Parses `files`, returning the valid profiles and every error of every file (including a
    /// name defined in two files). For `sputter profiles check`.
    public static func check(files: [String], registry: FaultRegistry = .standard) -> (profiles: [Profile], errors: [ProfileError]) {
        var profiles: [Profile] = []
        var errors: [ProfileError] = []
        var seen: [String: (file: String, line: Int)] = [:]
        for file in files {
            let text: String
            do {
                text = try readFile(file)
            } catch {
                errors.append(error)
                continue
            }
            let decoded = decode(yaml: text, file: file, registry: registry)
            errors += decoded.errors
            guard let profile = decoded.profile else { continue }
            if let first = seen[profile.name] {
                errors.append(
                    ProfileError(
                        file: file, line: decoded.nameLine, field: "name",
                        message: "duplicate profile name '\(profile.name)'; already defined at \(first.file):\(first.line)"))
                continue
            }
            seen[profile.name] = (file, decoded.nameLine)
            profiles.append(profile)
        }
        return (profiles, errors)
    }

    private static func readFile(_ file: String) throws(ProfileError) -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ProfileError(file: file, line: 0, field: "(file)", message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProfileError(file: file, line: 0, field: "(file)", message: "expected UTF-8 text, found invalid bytes")
        }
        return text
    }

    /// Parses one profile. `file` is only used in errors and recorded in `Profile.file`.
    /// - Throws: the first of the file's errors (`decode` returns them all).
    public static func parse(yaml: String, file: String, registry: FaultRegistry = .standard) throws(ProfileError) -> Profile {
        let decoded = decode(yaml: yaml, file: file, registry: registry)
        if let first = decoded.errors.first { throw first }
        return decoded.profile!
    }

    static let topKeys = ["name", "description", "seed", "match", "faults", "attempts", "client", "terminator"]

    /// Parses one profile, collecting every error (sorted by line): each top-level key and each
    /// fault is checked even when an earlier one failed. `profile` is nil when there are errors. Lines are
    /// the editor's (`EditorLines`).
    public static func decode(yaml: String, file: String, registry: FaultRegistry = .standard)
        -> (profile: Profile?, nameLine: Int, errors: [ProfileError])
    {
        let decoded = decodeInYAMLLines(yaml: yaml, file: file, registry: registry)
        guard let lines = EditorLines(yaml) else { return decoded }
        return (decoded.profile, lines(decoded.nameLine), decoded.errors.map { e in
            var e = e
            e.line = lines(e.line)
            return e
        })
    }

    /// `decode`, with lines as YAML counts them.
    private static func decodeInYAMLLines(yaml: String, file: String, registry: FaultRegistry)
        -> (profile: Profile?, nameLine: Int, errors: [ProfileError])
    {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                let e = ProfileError(file: file, line: 1, field: "(document)", message: "expected a mapping with name, description and faults, found an empty file")
                return (nil, 0, [e])
            }
            root = node
        } catch {
            return (nil, 0, [yamlError(error, file: file, yaml: yaml)])
        }
        let doc = YAMLValue(node: root, path: "", file: file)
        guard case .mapping = root else {
            return (nil, 0, [doc.error("expected a mapping with name, description and faults, found \(doc.found)", field: "(document)")])
        }
        var errors: [ProfileError] = []
        func attempt<T>(_ body: () throws(ProfileError) -> T) -> T? {
            do {
                return try body()
            } catch {
                errors.append(error)
                return nil
            }
        }
        guard var m = attempt({ () throws(ProfileError) in try doc.map("a profile") }) else { return (nil, 0, errors) }
        m.what = "profile"
        errors += m.unknownKeys(allowed: topKeys)
        let nameValue = attempt { () throws(ProfileError) in try m.required("name") }
        let name = attempt { () throws(ProfileError) -> String in
            guard let nameValue else { return "" }
            let name = try nameValue.string("a profile name")
            guard isValidName(name) else {
                throw nameValue.error("expected a name of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit; found '\(name)'")
            }
            return name
        }
        let description = attempt { () throws(ProfileError) in try m.required("description").string("a description") }
        var profile = Profile(name: name ?? "", description: description ?? "", file: file)
        profile.seed = attempt { () throws(ProfileError) in try m["seed"]?.uint64() } ?? nil
        if let c = m["client"] {
            profile.client = attempt { () throws(ProfileError) in
                let text = try c.string("a client contract (\(ClientContract.names))")
                do throws(ContractError) { return try ClientContract.parse(text) } catch {
                    throw c.error(error.message)
                }
            }
        }
        if let t = m["terminator"] {
            profile.terminator = attempt { () throws(ProfileError) in
                let text = try t.string("an SSE field line such as 'data: [DONE]'")
                do throws(ContractError) { return try StreamTerminator(parsing: text) } catch { throw t.error(error.message) }
            }
        }
        if let match = m["match"] {
            profile.match = attempt { () throws(ProfileError) in
                var mm = try match.map("match")
                mm.what = "match"
                try mm.check(allowed: ["path", "method", "jsonrpc_method", "json"])
                return ProfileMatch(
                    path: try mm["path"].map { v throws(ProfileError) in Glob(try v.string("a path pattern such as '/events*'")) },
                    method: try mm["method"]?.string("a method such as GET"),
                    jsonrpcMethod: try mm["jsonrpc_method"].map { v throws(ProfileError) in
                        let text = try v.string("a JSON-RPC method or glob such as 'tools/call'")
                        guard !text.isEmpty else { throw v.error("expected a JSON-RPC method or glob such as 'tools/call', found ''") }
                        return Glob(text)
                    },
                    json: try mm["json"].map { v throws(ProfileError) in try decodeJSONMatch(v) } ?? [])
            }
        }
        if let f = m["faults"] { profile.faults = decodeFaults(f, registry, errors: &errors) }
        if let a = m["attempts"], let am = attempt({ () throws(ProfileError) in try a.map("attempts") }) {
            for e in am.entries {
                if e.key == "default" {
                    profile.defaultAttempt = decodeFaults(e.value, registry, errors: &errors)
                } else if let n = Int(e.key), n >= 1 {
                    profile.attempts[n] = decodeFaults(e.value, registry, errors: &errors)
                } else {
                    errors.append(ProfileError(
                        file: file, line: e.keyLine, field: e.value.path,
                        message: "expected an attempt number (1, 2, …) or 'default' as key in attempts, found '\(e.key)'"))
                }
            }
        }
        if m["faults"] == nil && m["attempts"] == nil {
            errors.append(doc.error("a profile needs 'faults', 'attempts' or both (use 'faults: []' for none)", field: "faults"))
        }
        // Stable: errors on one line keep the order in which they were found.
        let sorted = errors.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        return (sorted.isEmpty ? profile : nil, nameValue?.line ?? 0, sorted)
    }

    /// `json: { stream: true, model: "gpt-*", params.name: search }`: dotted paths to scalar values.
    static func decodeJSONMatch(_ value: YAMLValue) throws(ProfileError) -> [JSONFieldMatch] {
        var m = try value.map("match.json")
        m.what = "match.json"
        var fields: [JSONFieldMatch] = []
        for e in m.entries {
            let names = e.key.split(separator: ".", omittingEmptySubsequences: false)
            guard !names.contains(where: \.isEmpty) else {
                throw ProfileError(file: value.file, line: e.keyLine, field: e.value.path,
                                   message: "expected a field name or dotted path such as 'model' or 'params.name', found '\(e.key)'")
            }
            fields.append(JSONFieldMatch(path: names.map(String.init), value: try e.value.jsonFieldValue()))
        }
        guard !fields.isEmpty else { throw value.error("expected at least one field in match.json, such as '{ stream: true }'") }
        return fields
    }

    static func isValidName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.isLowerAlnum else { return false }
        return s.unicodeScalars.allSatisfy { $0.isLowerAlnum || $0 == "-" || $0 == "_" || $0 == "." }
    }

    static func yamlError(_ error: Error, file: String, yaml: String) -> ProfileError {
        func text(_ context: YamlError.Context?, _ problem: String) -> String {
            "invalid YAML: \(problem)\(context.map { " \($0.text)" } ?? "")"
        }
        switch error {
        case YamlError.scanner(let c, let p, let mark, _), YamlError.parser(let c, let p, let mark, _),
            YamlError.composer(let c, let p, let mark, _):
            return ProfileError(file: file, line: mark.line, field: "(yaml)", message: text(c, p))
        case YamlError.duplicatedKeysInMapping(let keys, let context):
            // Yams orders the keys with `Node`'s `<`, which is not a total order once a key is a collection
            // (`? [a]`, named "<uncovertable>") or two different keys have one text (`''` and a null key, or
            // the same text with another tag): the order and the first key's line then depend on hashing. So
            // the names are sorted here, each once, and with such keys no line is given (0): the same error
            // every run.
            let complex = keys.contains("<uncovertable>")
            let plain = keys.filter { $0 != "<uncovertable>" }
            let unique = Set(plain)
            let names = unique.sorted().map { "'\($0)'" } + (complex ? ["(a key that is a list or mapping)"] : [])
            return ProfileError(
                file: file, line: complex || unique.count != plain.count ? 0 : context.mark.line, field: "(yaml)",
                message: "duplicate key \(names.joined(separator: ", ")) in one mapping; each key may appear once")
        case YamlError.reader(let p, let offset, _, _):
            let line = offset.map { EditorLines.yamlLine(atUTF8Offset: $0, in: yaml) } ?? 0
            return ProfileError(file: file, line: line, field: "(yaml)", message: "invalid YAML: \(p)")
        default:
            return ProfileError(file: file, line: 0, field: "(yaml)", message: "invalid YAML: \(error)")
        }
    }
}

extension Unicode.Scalar {
    fileprivate var isLowerAlnum: Bool { ("a"..."z").contains(self) || ("0"..."9").contains(self) }
}
