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
    public static func load(directory: String) throws -> ProfileLibrary {
        let (profiles, errors) = check(files: try profileFiles(in: directory))
        if !errors.isEmpty { throw ProfileLoadError(errors: errors) }
        return ProfileLibrary(profiles: profiles)
    }

    /// Parses `files`, returning the valid profiles and every error (including a name defined
    /// in two files). For `sputter profiles check`.
    public static func check(files: [String]) -> (profiles: [Profile], errors: [ProfileError]) {
        var profiles: [Profile] = []
        var errors: [ProfileError] = []
        var seen: [String: (file: String, line: Int)] = [:]
        for file in files {
            do {
                let text = try readFile(file)
                let (profile, nameLine) = try parseLocated(yaml: text, file: file)
                if let first = seen[profile.name] {
                    errors.append(
                        ProfileError(
                            file: file, line: nameLine, field: "name",
                            message: "duplicate profile name '\(profile.name)'; already defined at \(first.file):\(first.line)"))
                    continue
                }
                seen[profile.name] = (file, nameLine)
                profiles.append(profile)
            } catch {
                errors.append(error)
            }
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
    public static func parse(yaml: String, file: String) throws(ProfileError) -> Profile {
        try parseLocated(yaml: yaml, file: file).profile
    }

    static let topKeys = ["name", "description", "seed", "match", "faults", "attempts"]

    static func parseLocated(yaml: String, file: String) throws(ProfileError) -> (profile: Profile, nameLine: Int) {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ProfileError(file: file, line: 1, field: "(document)", message: "expected a mapping with name, description and faults, found an empty file")
            }
            root = node
        } catch let e as ProfileError {
            throw e
        } catch {
            throw yamlError(error, file: file, yaml: yaml)
        }
        let doc = YAMLValue(node: root, path: "", file: file)
        guard case .mapping = root else {
            throw doc.error("expected a mapping with name, description and faults, found \(doc.found)", field: "(document)")
        }
        var m = try doc.map("a profile")
        m.what = "profile"
        try m.check(allowed: topKeys)
        let nameValue = try m.required("name")
        let name = try nameValue.string("a profile name")
        guard isValidName(name) else {
            throw nameValue.error("expected a name of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit; found '\(name)'")
        }
        let descriptionValue = try m.required("description")
        var profile = Profile(name: name, description: try descriptionValue.string("a description"), file: file)
        profile.seed = try m["seed"]?.uint64()
        if let match = m["match"] {
            var mm = try match.map("match")
            mm.what = "match"
            try mm.check(allowed: ["path", "method"])
            profile.match = ProfileMatch(
                path: try mm["path"].map { v throws(ProfileError) in Glob(try v.string("a path pattern such as '/events*'")) },
                method: try mm["method"]?.string("a method such as GET"))
        }
        if let f = m["faults"] { profile.faults = try decodeFaults(f) }
        if let a = m["attempts"] {
            let am = try a.map("attempts")
            for e in am.entries {
                if e.key == "default" {
                    profile.defaultAttempt = try decodeFaults(e.value)
                } else if let n = Int(e.key), n >= 1 {
                    profile.attempts[n] = try decodeFaults(e.value)
                } else {
                    throw ProfileError(
                        file: file, line: e.keyLine, field: e.value.path,
                        message: "expected an attempt number (1, 2, …) or 'default' as key in attempts, found '\(e.key)'")
                }
            }
        }
        if m["faults"] == nil && m["attempts"] == nil {
            throw doc.error("a profile needs 'faults', 'attempts' or both (use 'faults: []' for none)", field: "faults")
        }
        return (profile, nameValue.line)
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
            return ProfileError(
                file: file, line: context.mark.line, field: "(yaml)",
                message: "duplicate key \(keys.map { "'\($0)'" }.joined(separator: ", ")) in one mapping; each key may appear once")
        case YamlError.reader(let p, let offset, _, _):
            let line = offset.map { o in yaml.utf8.prefix(o).filter { $0 == 0x0A }.count + 1 } ?? 0
            return ProfileError(file: file, line: line, field: "(yaml)", message: "invalid YAML: \(p)")
        default:
            return ProfileError(file: file, line: 0, field: "(yaml)", message: "invalid YAML: \(error)")
        }
    }
}

extension Unicode.Scalar {
    fileprivate var isLowerAlnum: Bool { ("a"..."z").contains(self) || ("0"..."9").contains(self) }
}
