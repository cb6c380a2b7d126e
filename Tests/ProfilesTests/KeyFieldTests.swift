import Profiles
import Testing

/// Errors about a mapping's keys name a field (fuzz finding: `?` and a list as a key named none).
@Suite struct KeyFieldTests {
    @Test(arguments: [("?", "(empty key)"), ("[a]: 1\n", "(key)")])
    func keyErrorsNameAField(_ text: String, _ field: String) {
        do {
            _ = try ProfileLibrary.parse(yaml: text, file: "k.yaml")
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.field == field, "\(error)")
        }
    }
}
