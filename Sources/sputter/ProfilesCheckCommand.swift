import ArgumentParser
import Foundation
import Profiles

struct ProfilesCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate profile files.",
        discussion: """
        Prints `ok FILE (NAME)` for each valid file and `FILE:LINE: FIELD: MESSAGE` for each problem, on standard \
        output, in file order. A name defined in two files is a problem of the second. Exits 0 when every file \
        is valid, 1 otherwise. Without FILE and --profiles, checks the default profiles directory.
        """)

    @Argument(help: ArgumentHelp("Profile files to check (checked together, so duplicate names are found).", valueName: "file"))
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Also check every profile file (*.yaml, *.yml, *.json) of this directory.", valueName: "DIR"))
    var profiles: String?

    func validate() throws {
        _ = try filesToCheck()
    }

    func run() throws {
        let files = try filesToCheck()
        let (valid, errors) = ProfileLibrary.check(files: files)
        for file in files {
            let problems = errors.filter { $0.file == file }
            if problems.isEmpty, let profile = valid.first(where: { $0.file == file }) {
                say("ok \(file) (\(profile.name))")
            }
            for problem in problems { say(problem.description) }
        }
        if !errors.isEmpty { throw ExitCode(1) }
    }

    /// FILE… and the files of --profiles; else those of the default directory.
    func filesToCheck() throws -> [String] {
        var out = files
        var directory = profiles
        if files.isEmpty, profiles == nil {
            directory = try ProfileDirectory.resolve(nil)
            guard directory != nil else {
                throw ValidationError("no profiles directory found; give FILE… or --profiles DIR")
            }
        }
        if let directory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--profiles '\(directory)': not a directory")
            }
            let found = try ProfileLibrary.profileFiles(in: directory)
            if found.isEmpty { throw ValidationError("--profiles '\(directory)': no profile files (*.yaml, *.yml, *.json)") }
            out += found
        }
        return out
    }
}
