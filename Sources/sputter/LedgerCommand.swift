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

    @Option(name: .long, help: ArgumentHelp("Write the visual report to this HTML file (- for standard output) instead of printing the text report.", valueName: "file"))
    var html: String?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let html else {
            print(LedgerReportRenderer.render(jsonLines: text), terminator: "")
            return
        }
        let replay = LedgerReplay(jsonLines: text)
        let page = LedgerHTMLRenderer.render(replay, source: (file as NSString).lastPathComponent)
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
        let keys = Set(replay.clients.map(\.key)).count
        var note = "wrote \(html): \(keys) client key\(keys == 1 ? "" : "s"), \(replay.recordCount) records"
        let unreadable = replay.unreadable.count
        if unreadable > 0 { note += "; \(unreadable) unreadable line\(unreadable == 1 ? "" : "s") (listed in the page)" }
        FileHandle.standardError.write(Data((note + "\n").utf8))
    }
}
