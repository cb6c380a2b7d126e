import Faults
import Testing

@testable import Profiles

@Suite struct EndInjectDecodeTests {
    func faults(_ entry: String) throws -> [FaultSpec] {
        try parse("name: x\ndescription: d\nfaults:\n  - \(entry)\n").faults
    }

    @Test func decodesEndAndInject() throws {
        #expect(try faults(#"end: { after_events: 5, terminator: "data: [DONE]\n\n" }"#)
            == [FaultSpec(.end(EndFault(.afterEvents(5), terminator: Array("data: [DONE]\n\n".utf8))))])
        #expect(try faults("end: { after: 2s }") == [FaultSpec(.end(EndFault(.after(2_000_000_000))))])
        #expect(try faults(#"inject: { after_events: 2, bytes: "data: x\n\n", then: end }"#)
            == [FaultSpec(.inject(InjectFault(.afterEvents(2), bytes: Array("data: x\n\n".utf8), thenEnd: true)))])
    }

    @Test func badSettingsNameWhatIsWrong() {
        #expect(errorOf("name: x\ndescription: d\nfaults:\n  - end: { inside_event: 2, at_byte: 3 }\n").contains("inside_event"))
        #expect(errorOf("name: x\ndescription: d\nfaults:\n  - end: {}\n").contains("after_events"))
        #expect(errorOf(#"name: x\#ndescription: d\#nfaults:\#n  - inject: { after_events: 1, bytes: "data: x" }\#n"#)
            .contains("ending with a blank line"))
        #expect(errorOf(#"name: x\#ndescription: d\#nfaults:\#n  - inject: { after_events: 1, bytes: "data: x\n\n", then: stop }"#)
            .contains("expected one of: continue, end"))
        #expect(errorOf("name: x\ndescription: d\nfaults:\n  - inject: { after_bytes: 3, bytes: \"x\\n\\n\" }\n").contains("after_bytes"))
    }
}
