import ArgumentParser
import Profiles

/// `sputter profiles schema`: the JSON Schema of profile files, generated from the fault registry.
struct ProfilesSchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of profile files (draft 2020-12), generated from the fault catalog.",
        discussion: """
        Profiles/profile.schema.json is this output (`sputter profiles schema > Profiles/profile.schema.json`); \
        a test fails when the two differ.
        """)

    func run() throws {
        print(ProfileSchema.text(), terminator: "")
    }
}
