import Faults
import SSE

/// The fault catalog of docs/FAULTS.md, generated from the registry (between `begin` and
/// `end`): `sputter profiles catalog` prints it, and a test fails when the page differs.
public enum FaultCatalogDocs {
    public static let begin = "<!-- BEGIN fault catalog: generated from Sources/Faults/Catalog by `sputter profiles catalog` -->"
    public static let end = "<!-- END fault catalog -->"

    /// The Markdown between the markers: one section per fault, in registry order.
    public static func markdown(registry: FaultRegistry = .standard) -> String {
        registry.faults.map { section($0) }.joined(separator: "\n")
    }

    static func section(_ type: any FaultSettings.Type) -> String {
        var lines = ["### \(type.name) — \(type.summary)"]
        let scope = type.probabilityScope == .perFrame ? "drawn per matching frame" : "drawn once per connection"
        lines.append("Default kinds: \(kindsText(type.defaultKinds)). Probability: \(scope).")
        lines.append("")
        lines.append(type.guide)
        if !type.keys.isEmpty {
            lines += ["", "| key | meaning |", "|---|---|"]
            for key in type.keys {
                let name = "`\(key.name)`" + (key.required ? " (required)" : "")
                lines.append("| \(name) | \(key.doc.replacingOccurrences(of: "|", with: "\\|")) |")
            }
        }
        lines += ["", "```yaml"]
        lines += type.examples.map { "- " + $0 }
        lines.append("```")
        return lines.joined(separator: "\n") + "\n"
    }

    static func kindsText(_ kinds: Set<SSEFrame.Kind>) -> String {
        if kinds == SSEFrame.Kind.allKinds { return "all" }
        let order: [SSEFrame.Kind] = [.event, .fieldsOnly, .commentOnly, .blank]
        return order.filter(kinds.contains).map(\.profileName).joined(separator: ", ")
    }

    /// `page` with the text between the markers replaced by the generated catalog, or nil when
    /// the page lacks the markers.
    public static func updating(_ page: String, registry: FaultRegistry = .standard) -> String? {
        guard let b = page.range(of: begin), let e = page.range(of: end, range: b.upperBound..<page.endIndex) else {
            return nil
        }
        return String(page[..<b.upperBound]) + "\n" + markdown(registry: registry) + String(page[e.lowerBound...])
    }
}
