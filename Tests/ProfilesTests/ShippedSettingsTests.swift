import Faults
import Foundation
import SSE
import Testing

@testable import Profiles

/// Every shipped profile decodes to exactly the settings recorded in `Tests/Fixtures/shipped-settings.txt`
/// (written from the decoders before the fault registry replaced them). Regenerate on purpose with
/// `SPUTTER_WRITE_GOLDEN=1 swift test --filter ShippedSettingsTests`.
@Suite struct ShippedSettingsTests {
    static let goldenPath: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/shipped-settings.txt").path
    }()

    /// A profile as text: every field, each fault's settings value reflected in full.
    static func dump(_ p: Profile) -> String {
        var lines = ["profile \(p.name) seed=\(p.seed.map(String.init) ?? "nil") match=\(String(reflecting: p.match))"]
        func specs(_ title: String, _ list: [FaultSpec]) {
            lines.append("  \(title):")
            for s in list {
                var sel = s.selector
                let kinds = sel.kinds.map { $0.map(\.profileName).sorted().joined(separator: ",") } ?? "nil"
                sel.kinds = nil
                lines.append("    - \(s.name) \(String(reflecting: s.fault.settings))")
                lines.append("      kinds=\(kinds) selector=\(String(reflecting: sel)) probability=\(s.probability)")
            }
        }
        specs("faults", p.faults)
        for n in p.attempts.keys.sorted() { specs("attempt \(n)", p.attempts[n]!) }
        if let d = p.defaultAttempt { specs("default", d) }
        return lines.joined(separator: "\n")
    }

    @Test func everyShippedProfileDecodesToTheRecordedSettings() throws {
        let library = try ProfileLibrary.load(directory: shippedDirectory)
        let text = library.all.map(Self.dump).joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["SPUTTER_WRITE_GOLDEN"] == "1" {
            try text.write(toFile: Self.goldenPath, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: Self.goldenPath, encoding: .utf8)
        #expect(library.all.count == 16)
        let got = text.split(separator: "\n", omittingEmptySubsequences: false)
        let want = golden.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(got.count == want.count)
        for (i, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("line \(i + 1) differs:\n  got:  \(g)\n  want: \(w)")
        }
    }
}
