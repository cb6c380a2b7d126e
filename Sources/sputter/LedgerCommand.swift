import ArgumentParser
import Foundation
import Ledger

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Read a ledger file (--ledger FILE) and print a report: per client a timeline of connections, the findings and a verdict.",
        discussion: """
            With --html FILE, writes a self-contained HTML page instead (no network needed to view it; its \
            script draws the run, embedded as JSON): per client a timeline with one lane per connection attempt, \
            each upstream frame coloured by its fate (delivered, delayed, reordered, duplicated, corrupted, \
            dropped, lost at a cut), how each connection ended, synthetic responses, the findings and the \
            verdict. `--html -` writes the page to standard output. Ledger files of older versions are read too.
            """)

    @Argument(help: "A ledger file written by `sputter serve --ledger FILE`.")
    var file: String

    @Argument(help: ArgumentHelp("More ledger files: one per instance of a fleet; all are merged by client key into one report.", valueName: "more-files"))
    var more: [String] = []

    @Option(name: .long, help: ArgumentHelp("Write the visual report to this HTML file (- for standard output) instead of printing the text report.", valueName: "file"))
    var html: String?

    func run() throws {
        let parsed = try LedgerFiles.read([file] + more)
        guard let html else {
            print(parsed.textReport(), terminator: "")
            return
        }
        let page = parsed.htmlReport()
        if html == "-" {
            print(page, terminator: "")
            return
        }
        let target = URL(fileURLWithPath: html)
        let directory = target.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("cannot write \(html): no directory \(directory)")
        }
        do {
            try Data(page.utf8).write(to: target, options: .atomic)
        } catch {
            throw ValidationError("cannot write \(html): \(error.localizedDescription)")
        }
        let keys = Set(parsed.records.map(\.clientKey)).count
        var note = "wrote \(html): \(keys) client key\(keys == 1 ? "" : "s"), \(parsed.records.count) records"
        if !parsed.unreadable.isEmpty { note += "; \(parsed.unreadable.count) unreadable line\(parsed.unreadable.count == 1 ? "" : "s") (listed in the page)" }
        FileHandle.standardError.write(Data((note + "\n").utf8))
    }
}
