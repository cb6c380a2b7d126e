import ArgumentParser
import Foundation
import Ledger

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Read a ledger file (--ledger FILE) and print a report: per client a timeline of connections, the findings and a verdict.")

    @Argument(help: "A ledger file written by `sputter serve --ledger FILE`.")
    var file: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        print(LedgerReportRenderer.render(jsonLines: String(decoding: data, as: UTF8.self)), terminator: "")
    }
}
