import Foundation
import Profiles
import Proxy

/// Where profiles come from: `--profiles DIR`, else the shipped `Profiles/` directory (found
/// beside the executable's checkout or in the working directory), else passthrough only.
enum ProfileDirectory {
    static func resolve(_ option: String?) throws -> String? {
        if let option {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: option, isDirectory: &isDir), isDir.boolValue else {
                throw ProfileLoadError(errors: [ProfileError(file: option, line: 0, field: "(directory)", message: "not a directory")])
            }
            return option
        }
        for candidate in candidates() {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), isDir.boolValue { return candidate }
        }
        return nil
    }

    /// `./Profiles`, then `Profiles/` above the executable (a checkout's `.build/<config>/sputter`),
    /// then `share/sputter/Profiles` beside an installed `bin/sputter`.
    static func candidates() -> [String] {
        var out = [FileManager.default.currentDirectoryPath + "/Profiles"]
        // The executable's real path (argv[0] may be a bare name found on PATH, or a symlink).
        let exePath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let exe = URL(fileURLWithPath: exePath).resolvingSymlinksInPath().deletingLastPathComponent()
        var dir = exe
        for _ in 0..<4 {
            out.append(dir.appendingPathComponent("Profiles").path)
            dir = dir.deletingLastPathComponent()
        }
        out.append(exe.deletingLastPathComponent().appendingPathComponent("share/sputter/Profiles").path)
        return out
    }

    static func load(_ directory: String?) throws -> ProfileLibrary {
        try ProxyServer.loadProfiles(directory: directory)
    }
}
