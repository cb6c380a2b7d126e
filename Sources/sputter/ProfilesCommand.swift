import ArgumentParser
import Foundation
import Profiles

/// `sputter profiles list|show|check|schema|catalog`.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List, show and check fault profiles; print their schema and the fault catalog.",
        discussion: """
        Profiles come from --profiles DIR, else the shipped Profiles/ directory (the same one `sputter serve` uses).
        """,
        subcommands: [
            ProfilesListCommand.self, ProfilesShowCommand.self, ProfilesCheckCommand.self, ProfilesSchemaCommand.self,
            ProfilesCatalogCommand.self,
        ])
}

/// `--profiles DIR`, shared by the profiles subcommands.
struct ProfilesDirectoryOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Directory of profile files (*.yaml, *.json). Default: the shipped Profiles/ directory.",
        valueName: "DIR"))
    var profiles: String?

    /// The library `serve` would load, or a `ValidationError` saying why there is none.
    func library() throws -> ProfileLibrary {
        do {
            return try ProfileDirectory.load(ProfileDirectory.resolve(profiles))
        } catch let error as ProfileLoadError where error.errors.count == 1 && error.errors[0].field == "(directory)" {
            throw ValidationError("--profiles '\(error.errors[0].file)': \(error.errors[0].message)")
        } catch let error as ProfileLoadError {
            throw ValidationError("profiles in \(profiles ?? "the profiles directory") are invalid (see `sputter profiles check`):\n\(error)")
        } catch {
            throw ValidationError("cannot read profiles from \(profiles ?? "the profiles directory"): \(error.localizedDescription)")
        }
    }
}
