import ArgumentParser
import Foundation
import Profiles

/// `sputter profiles catalog`: the fault catalog of docs/FAULTS.md, generated from the fault registry.
struct ProfilesCatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Print the fault catalog (Markdown), generated from the fault catalog's files.",
        discussion: """
        docs/FAULTS.md holds this output between its catalog markers; a test fails when they differ. \
        --update FILE rewrites the text between the markers of FILE in place.
        """)

    @Option(name: .long, help: ArgumentHelp("Replace the catalog between the markers of this Markdown file.", valueName: "FILE"))
    var update: String?

    func run() throws {
        guard let update else { return print(FaultCatalogDocs.markdown(), terminator: "") }
        guard let data = FileManager.default.contents(atPath: update), let page = String(data: data, encoding: .utf8) else {
            throw ValidationError("--update '\(update)': cannot read the file")
        }
        guard let updated = FaultCatalogDocs.updating(page) else {
            throw ValidationError("--update '\(update)': no catalog markers (\(FaultCatalogDocs.begin) … \(FaultCatalogDocs.end))")
        }
        try updated.write(toFile: update, atomically: true, encoding: .utf8)
    }
}
