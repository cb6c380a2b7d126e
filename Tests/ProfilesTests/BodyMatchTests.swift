import Faults
import Testing

@testable import Profiles

/// `match: jsonrpc_method / json`: decoding, errors, and what a body matches.
@Suite struct BodyMatchTests {
    static let mcp = """
        name: mcp-tools
        description: d
        match:
          method: POST
          jsonrpc_method: tools/*
          json: { stream: true, model: "gpt-*", params.name: search, n: 2, temperature: 0.5, user: null, flag: "true" }
        faults: []
        """

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func decodesBodyMatchers() throws {
        let p = try parse(Self.mcp)
        let m = try #require(p.match)
        #expect(m.method == "POST")
        #expect(m.jsonrpcMethod == Glob("tools/*"))
        #expect(m.matchesBody)
        #expect(m.json == [
            JSONFieldMatch(path: ["stream"], value: .bool(true)),
            JSONFieldMatch(path: ["model"], value: .string(Glob("gpt-*"))),
            JSONFieldMatch(path: ["params", "name"], value: .string(Glob("search"))),
            JSONFieldMatch(path: ["n"], value: .number(2)),
            JSONFieldMatch(path: ["temperature"], value: .number(0.5)),
            JSONFieldMatch(path: ["user"], value: .null),
            JSONFieldMatch(path: ["flag"], value: .string(Glob("true"))),  // quoted: the string
        ])
        #expect(try parse("name: a\ndescription: d\nmatch: { path: /x }\nfaults: []").match?.matchesBody == false)
    }

    @Test func badBodyMatchersNameFileLineAndField() {
        let head = "name: a\ndescription: d\nfaults: []\nmatch:\n"
        #expect(errorOf(head + "  jsonrpc_method: [a, b]") ==
                "broken.yaml:5: match.jsonrpc_method: expected a JSON-RPC method or glob such as 'tools/call', found a list")
        #expect(errorOf(head + "  jsonrpc_method: ''") ==
                "broken.yaml:5: match.jsonrpc_method: expected a JSON-RPC method or glob such as 'tools/call', found ''")
        #expect(errorOf(head + "  json: [stream]") == "broken.yaml:5: match.json: expected a mapping for match.json, found a list")
        #expect(errorOf(head + "  json:\n    stream: [true]") ==
                "broken.yaml:6: match.json.stream: expected a string, number, true/false or null to compare the field with, found a list")
        #expect(errorOf(head + "  json:\n    model: x\n    params..name: y") ==
                "broken.yaml:7: match.json.params..name: expected a field name or dotted path such as 'model' or 'params.name', found 'params..name'")
        #expect(errorOf(head + "  json: {}") == "broken.yaml:5: match.json: expected at least one field in match.json, such as '{ stream: true }'")
        #expect(errorOf(head + "  jsonrpc: tools/call") ==
                "broken.yaml:5: match.jsonrpc: unknown key 'jsonrpc' in match; expected one of: path, method, jsonrpc_method, json")
    }

    @Test func jsonrpcMethodMatchesAMessageOrAnyOfABatch() {
        let m = ProfileMatch(method: "POST", jsonrpcMethod: Glob("tools/call"))
        func ok(_ body: String, method: String = "POST") -> Bool { m.matches(method: method, path: "/mcp", body: bytes(body)) }
        #expect(ok(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#))
        #expect(!ok(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#))
        #expect(!ok(#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#, method: "GET"))
        #expect(ok(#"[{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"tools/call"}]"#))
        #expect(!ok(#"[{"jsonrpc":"2.0","method":"notifications/x"}, 3, "tools/call"]"#))
        #expect(!ok(#"{"jsonrpc":"2.0","id":1,"result":{"method":"tools/call"}}"#), "a response's nested method is not its method")
        #expect(!ok(#"{"method": 7}"#))
        #expect(ProfileMatch(jsonrpcMethod: Glob("tools/*")).matches(method: "POST", path: "/", body: bytes(#"{"method":"tools/list"}"#)))
    }

    @Test func jsonFieldsAreEqualOrGlobbedAndAllMustHold() {
        let m = ProfileMatch(json: [JSONFieldMatch(dotted: "stream", value: .bool(true)),
                                    JSONFieldMatch(dotted: "model", value: .string(Glob("gpt-*"))),
                                    JSONFieldMatch(dotted: "options.n", value: .number(2))])
        func ok(_ body: String) -> Bool { m.matches(method: "POST", path: "/v1/chat", body: bytes(body)) }
        #expect(ok(#"{"model":"gpt-4o","stream":true,"options":{"n":2.0}}"#))
        #expect(!ok(#"{"model":"gpt-4o","stream":false,"options":{"n":2}}"#))
        #expect(!ok(#"{"model":"claude","stream":true,"options":{"n":2}}"#))
        #expect(!ok(#"{"model":"gpt-4o","stream":1,"options":{"n":2}}"#), "1 is not true")
        #expect(!ok(#"{"model":"gpt-4o","stream":"true","options":{"n":2}}"#), "the string is not the boolean")
        #expect(!ok(#"{"model":"gpt-4o","stream":true,"options":{"n":3}}"#))
        #expect(!ok(#"{"model":"gpt-4o","stream":true}"#), "a missing field does not match")
        #expect(!ok(#"[{"model":"gpt-4o","stream":true,"options":{"n":2}}]"#), "json needs an object body")
        let null = ProfileMatch(json: [JSONFieldMatch(dotted: "user", value: .null)])
        #expect(null.matches(method: "POST", path: "/", body: bytes(#"{"user":null}"#)))
        #expect(!null.matches(method: "POST", path: "/", body: bytes(#"{}"#)))
    }

    @Test func bodiesThatAreNotJSONOrNotReadDoNotMatch() {
        let m = ProfileMatch(jsonrpcMethod: Glob("*"))
        #expect(m.matches(method: "POST", path: "/", body: bytes(#"{"method":"a"}"#)))
        #expect(!m.matches(method: "POST", path: "/", body: nil), "not read (no body, over the bound)")
        #expect(!m.matches(method: "POST", path: "/", body: []))
        #expect(!m.matches(method: "POST", path: "/", body: bytes("method=a")))
        #expect(!m.matches(method: "POST", path: "/", body: bytes(#"{"method":"a""#)))
        #expect(!m.matches(method: "POST", path: "/", body: [0x7B, 0x22, 0x6D, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]), "not UTF-8")
        // Deep nesting is refused by the parser, not a stack overflow.
        let deep = String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)
        #expect(!m.matches(method: "POST", path: "/", body: bytes(deep)))
        // Head criteria alone need no body.
        #expect(ProfileMatch(method: "POST").matches(method: "POST", path: "/", body: nil))
    }
}

@Suite struct BodyMatchDocsTests {
    /// docs/FAULTS.md's body-matching example is a valid profile that means what the page says.
    @Test func documentedExampleDecodes() throws {
        let page = try String(contentsOfFile: packageRoot + "/docs/FAULTS.md", encoding: .utf8)
        let start = try #require(page.range(of: "```yaml\nname: mcp-tool-calls\n"))
        let end = try #require(page.range(of: "```", range: start.upperBound..<page.endIndex))
        let yaml = "name: mcp-tool-calls\n" + page[start.upperBound..<end.lowerBound]
        let p = try ProfileLibrary.parse(yaml: yaml, file: "FAULTS.md")
        let m = try #require(p.match)
        #expect(m.matches(method: "POST", path: "/mcp", body: Array(#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#.utf8)))
        #expect(!m.matches(method: "POST", path: "/mcp", body: Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.utf8)))
    }
}
