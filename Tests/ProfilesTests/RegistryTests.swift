import Faults
import Foundation
import SSE
import Testing

@testable import Profiles

/// The repository's root.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

@Suite struct GeneratedFilesTests {
    @Test func schemaFileIsTheGeneratedSchema() throws {
        let file = try String(contentsOfFile: shippedDirectory + "/profile.schema.json", encoding: .utf8)
        #expect(
            file == ProfileSchema.text(),
            "Profiles/profile.schema.json is stale: run `swift run sputter profiles schema > Profiles/profile.schema.json`")
    }

    @Test func schemaIsValidJSONWithOneAlternativePerFault() throws {
        let object = try JSONSerialization.jsonObject(with: Data(ProfileSchema.text().utf8))
        let schema = try #require(object as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let defs = try #require(schema["$defs"] as? [String: Any])
        let alternatives = try #require((defs["fault"] as? [String: Any])?["oneOf"] as? [[String: Any]])
        let objects = alternatives.compactMap { ($0["required"] as? [String])?.first }
        #expect(objects == Fault.names)
        let bare = alternatives.compactMap { $0["const"] as? String }
        #expect(bare == FaultRegistry.standard.faults.filter { $0.bareNameAllowed }.map { $0.name })
        #expect(bare.contains("refuse") && !bare.contains("respond"))
    }

    @Test func faultsPageHoldsTheGeneratedCatalog() throws {
        let page = try String(contentsOfFile: packageRoot + "/docs/FAULTS.md", encoding: .utf8)
        let updated = try #require(FaultCatalogDocs.updating(page), "docs/FAULTS.md lacks the catalog markers")
        #expect(updated == page, "docs/FAULTS.md's catalog is stale: run `swift run sputter profiles catalog --update docs/FAULTS.md`")
        for name in Fault.names { #expect(page.contains("### \(name) — "), "docs/FAULTS.md lacks \(name)") }
    }

    @Test func everyDocumentedExampleDecodesToItsFault() throws {
        for type in FaultRegistry.standard.faults {
            #expect(!type.examples.isEmpty, "\(type.name) has no example")
            for example in type.examples {
                let p = try ProfileLibrary.parse(yaml: "name: x\ndescription: d\nfaults:\n  - \(example)\n", file: "example.yaml")
                #expect(p.faults.map(\.name) == [type.name], "\(example)")
            }
        }
    }

    @Test func everyKeyIsDocumented() {
        for type in FaultRegistry.standard.faults {
            #expect(!type.summary.isEmpty && !type.guide.isEmpty, "\(type.name)")
            for key in type.keys { #expect(key.doc.count > 5, "\(type.name).\(key.name) needs a doc") }
        }
    }

    @Test func catalogMarkersMissingIsNil() {
        #expect(FaultCatalogDocs.updating("# no markers here\n") == nil)
    }
}

/// The bar for a new fault: `NoteFault.swift` plus one registry entry.
@Suite struct NewFaultTests {
    let registry = FaultRegistry.standard.adding(NoteFault.self)

    @Test func decodesFromYAMLWithItsOwnErrors() throws {
        let p = try ProfileLibrary.parse(
            yaml: "name: n\ndescription: d\nfaults:\n  - note: { text: hi, blank_line: true, probability: 0.5 }\n", file: "n.yaml",
            registry: registry)
        #expect(p.faults == [FaultSpec(Fault(NoteFault(text: "hi", blankLine: true)), probability: 0.5)])
        #expect(p.faults[0].fault != Fault(NoteFault(text: "hi", blankLine: false)))
        #expect(p.faults[0].fault != .refuse(RefuseFault()))

        let missing = ProfileLibrary.decode(yaml: "name: n\ndescription: d\nfaults:\n  - note: {}\n", file: "n.yaml", registry: registry)
        #expect(missing.errors.map(\.description) == ["n.yaml:4: faults[0].note.text: missing key 'text' in note"])
        let unknown = ProfileLibrary.decode(
            yaml: "name: n\ndescription: d\nfaults:\n  - note: { txt: a }\n", file: "n.yaml", registry: registry)
        #expect(
            unknown.errors.map(\.description) == [
                "n.yaml:4: faults[0].note.txt: unknown key 'txt' in note; expected one of: text, blank_line, select, probability"
            ])
        // The standard registry does not know it.
        #expect(throws: ProfileError.self) {
            try ProfileLibrary.parse(yaml: "name: n\ndescription: d\nfaults:\n  - note: { text: hi }\n", file: "n.yaml")
        }
    }

    @Test func appearsInTheSchemaAndTheCatalog() throws {
        let text = ProfileSchema.text(registry: registry)
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let defs = try #require(schema["$defs"] as? [String: Any])
        let alternatives = try #require((defs["fault"] as? [String: Any])?["oneOf"] as? [[String: Any]])
        let note = try #require(alternatives.first { ($0["required"] as? [String]) == ["note"] })
        let settings = try #require((note["properties"] as? [String: Any])?["note"] as? [String: Any])
        #expect(settings["required"] as? [String] == ["text"])
        #expect(settings["additionalProperties"] as? Bool == false)
        let properties = try #require(settings["properties"] as? [String: Any])
        #expect(Set(properties.keys) == ["text", "blank_line", "select", "probability"])
        #expect((properties["text"] as? [String: Any])?["description"] as? String == "the comment's text, on one line")
        #expect(!ProfileSchema.text().contains("\"note\""))

        let docs = FaultCatalogDocs.markdown(registry: registry)
        #expect(docs.contains("### note — Write a comment before each matching event."))
        #expect(docs.contains("| `text` (required) | the comment's text, on one line |"))
    }

    @Test func runsAsAStage() throws {
        let p = try ProfileLibrary.parse(
            yaml: "name: n\ndescription: d\nfaults:\n  - note: { text: hi }\n", file: "n.yaml", registry: registry)
        var plan = FaultPlan(faults: p.faults, context: ConnectionContext(clientKey: "k"))
        #expect(!plan.isPassthrough)
        _ = plan.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        let event = SSEFrame(raw: Array("data: a\n\n".utf8), kind: .event, data: ["a"], index: 0)
        let comment = SSEFrame(raw: Array(": ping\n\n".utf8), kind: .commentOnly, index: 1)
        var bytes: [UInt8] = []
        for case .write(let b, _, _) in plan.frame(event, now: 1) + plan.frame(comment, now: 2) { bytes += b }
        #expect(String(decoding: bytes, as: UTF8.self) == ": hi\ndata: a\n\n: ping\n\n")
    }
}

@Suite struct CollectedErrorsTests {
    @Test func everyErrorOfAFileIsReportedInLineOrder() {
        let yaml = """
            name: Bad Name
            descripton: typo
            seed: -3
            faults:
              - drop: { every_nth: 0 }
              - explode
              - delay: { latency: 250 }
              - duplicate: {}
            attempts:
              first: []
              2: [ { respond: {} } ]
            """
        let decoded = ProfileLibrary.decode(yaml: yaml, file: "many.yaml")
        #expect(decoded.profile == nil)
        let names = Fault.names.joined(separator: ", ")
        #expect(
            decoded.errors.map(\.description) == [
                "many.yaml:1: name: expected a name of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit; found 'Bad Name'",
                "many.yaml:1: description: missing key 'description' in profile",
                "many.yaml:2: descripton: unknown key 'descripton' in profile; expected one of: name, description, seed, match, faults, attempts, client, terminator",
                "many.yaml:3: seed: expected an integer from 0 to 18446744073709551615, found '-3'",
                "many.yaml:5: faults[0].drop.every_nth: expected an integer ≥ 1, found 0",
                "many.yaml:6: faults[1].explode: unknown fault 'explode'; expected one of: \(names)",
                "many.yaml:7: faults[2].delay.latency: expected a duration such as '250ms' or '2s', found '250'",
                "many.yaml:10: attempts.first: expected an attempt number (1, 2, …) or 'default' as key in attempts, found 'first'",
                "many.yaml:11: attempts.2[0].respond.status: missing key 'status' in respond",
            ])
        // parse throws the first of them.
        #expect(throws: decoded.errors[0]) { try ProfileLibrary.parse(yaml: yaml, file: "many.yaml") }
    }
}
