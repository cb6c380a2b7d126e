import SSE
import Testing

@testable import Faults

@Suite struct MalformedTests {
    @Test func linesSplitAtCRLFLFAndLoneCR() {
        let ls = Malformed.lines(bytes("a: 1\r\nb: 2\rc\n\nrest"))
        #expect(ls.map { text($0.content) } == ["a: 1", "b: 2", "c", "", "rest"])
        #expect(ls.map(\.ending) == [[13, 10], [13], [10], [10], []])
        #expect(Malformed.join(ls) == bytes("a: 1\r\nb: 2\rc\n\nrest"))
        #expect(ls[2].fieldName == bytes("c"))
        #expect(ls[0].fieldValue == bytes("1"))
    }

    @Test func fieldEditsKeepALeadingBOM() {
        let raw = Malformed.bom + bytes("id: 1\ndata: x\n\n")
        #expect(Malformed.setField(raw, name: "id", value: bytes("9")) == Malformed.bom + bytes("id: 9\ndata: x\n\n"))
        #expect(Malformed.removeField(raw, name: "id") == Malformed.bom + bytes("data: x\n\n"))
        #expect(Malformed.insertField(bytes("data: x\r\n\r\n"), name: "retry", value: bytes("0")) == bytes("data: x\r\nretry: 0\r\n\r\n"))
        #expect(Malformed.removeTerminator(bytes(": hi\n")) == bytes(": hi\n"))
        #expect(Malformed.renameField(bytes(": c\n\n"), from: "data", to: "Data") == nil)
    }

    @Test func disconnectAfterZeroEventsFiresAtStreamStart() {
        var p = plan([FaultSpec(.disconnect(DisconnectFault(.afterEvents(0), kind: .fin)))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 500)
        #expect(p.nextTimer == 500)
        #expect(p.timer(now: 500) == [.close(.fin, notBefore: 500)])
    }

    @Test func firstByteDelayShiftsStreamStart() {
        var p = plan([FaultSpec(.delay(DelayFault(firstByte: 1_000 * ms))), FaultSpec(.disconnect(DisconnectFault(.after(100 * ms))))])
        _ = p.responseHead(status: 200, contentType: "text/event-stream", now: 0)
        #expect(p.nextTimer == 1_100 * ms)
    }
}
