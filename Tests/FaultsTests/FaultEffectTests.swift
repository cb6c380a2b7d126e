import SSE
import Testing

@testable import Faults

/// Fault effects: the text each one reads as (as the records read before effects were typed), the fate
/// it gives the frame it names, and the one spelling of each close kind.
@Suite struct FaultEffectTests {
    @Test func textIsWhatRecordsSaidBefore() {
        let cases: [(FaultEffect, String)] = [
            (.dropped(bytes: 33), "dropped 33 bytes"),
            (.delayed(284_702_000), "delayed 284702us"),
            (.connectDelayed(400_000_000), "connect delayed 400ms"),
            (.firstByteDelayed(2_000_000_000), "first byte delayed 2s"),
            (.throttled(bytesPerSecond: 100, writes: 3), "throttled to 100 B/s in 3 writes"),
            (.dripped(slices: 4, bytes: 7, pause: 5_000_000), "dripped in 4 slices of 7 bytes, 5ms apart"),
            (.burstReleased(frames: 9, bytes: 231), "released burst of 9 frames (231 bytes)"),
            (.duplicated(extra: 1), "duplicated (1 extra)"),
            (.reordered(movedAfter: 1), "reordered: moved after 1 later frame"),
            (.reordered(movedAfter: 2), "reordered: moved after 2 later frames"),
            (.corrupted(.truncated(at: 16, of: 33)), "truncated at byte 16 of 33 (17 bytes dropped)"),
            (.corrupted(.terminatorRemoved), "removed terminating blank line"),
            (.corrupted(.fieldRenamed(from: "data", to: "Data")), "renamed field 'data' to 'Data'"),
            (.corrupted(.invalidUTF8(bytes: 2)), "inserted 2 invalid UTF-8 bytes into data"),
            (.corrupted(.jsonBroken), "broke JSON in data"),
            (.corrupted(.lineEnds(.crlf)), "line ends converted to crlf"),
            (.corrupted(.injected(.bom)), "injected BOM before frame"),
            (.corrupted(.injected(.oversizedEvent(dataBytes: 9))), "injected oversized event of 9 data bytes before frame"),
            (.corrupted(.injected(.garbage(bytes: 13))), "injected 13 garbage bytes before frame"),
            (.corrupted(.injected(.nulComment)), "injected comment with NUL before frame"),
            (.idStripped(id: "7"), "stripped id '7'"),
            (.idStripped(id: nil), "stripped id line"),
            (.idRewritten(from: "5", to: "4"), "id '5' rewritten to '4'"),
            (.retryRewritten(value: "0"), "retry rewritten to '0'"),
            (.retryInjected(value: "0"), "retry '0' injected"),
            (.lastEventIDRemoved(sent: "42"), "Last-Event-ID '42' removed upstream"),
            (.lastEventIDReplaced(sent: nil, with: "1"), "Last-Event-ID (none) replaced with '1' upstream"),
            (.cut(.rst, trigger: .afterEvents(3), droppedBytes: 0), "rst after 3 events"),
            (.cut(.fin, trigger: .afterBytes(15), droppedBytes: 5), "fin after 15 bytes (5 bytes of the frame dropped)"),
            (.cut(.halfClose, trigger: .insideEvent(2, atByte: 5), droppedBytes: 12),
             "half_close inside event 2 at byte 5 (12 bytes of the frame dropped)"),
            (.stalled(trigger: .afterEvents(2), duration: nil), "stalled after 2 events forever"),
            (.stalled(trigger: .afterEvents(1), duration: 2_000_000_000), "stalled after 1 event for 2s"),
            (.withheld(bytes: 40), "withheld 40 bytes (stalled forever)"),
            (.responded(status: 503, retryAfter: "1"), "responded 503 (Retry-After: 1)"),
            (.responded(status: 204, retryAfter: nil), "responded 204"),
            (.refused, "refused (accept and RST)"),
            (.contentTypeRemoved, "Content-Type removed"),
            (.contentTypeSet("text/plain"), "Content-Type set to 'text/plain'"),
        ]
        for (effect, text) in cases {
            #expect(effect.description == text)
            #expect(FaultRecord(frameIndex: 1, fault: "f", effect: effect, at: 0).action == text)
        }
    }

    @Test func fateOfEachEffect() {
        let cases: [(FaultEffect, FrameFate)] = [
            (.dropped(bytes: 33), .dropped),
            (.duplicated(extra: 1), .duplicated),
            (.reordered(movedAfter: 1), .reordered),
            (.delayed(300_000_000), .delayed),
            (.dripped(slices: 4, bytes: 7, pause: 5_000_000), .delayed),
            (.throttled(bytesPerSecond: 100, writes: 3), .delayed),
            (.burstReleased(frames: 9, bytes: 231), .delayed),
            (.corrupted(.truncated(at: 16, of: 33)), .corrupted),
            (.corrupted(.injected(.garbage(bytes: 8))), .corrupted),
            (.idStripped(id: "1"), .corrupted),
            (.idRewritten(from: "5", to: "4"), .corrupted),
            (.retryInjected(value: "0"), .delivered),
            (.cut(.rst, trigger: .afterEvents(3), droppedBytes: 0), .delivered),
            (.cut(.halfClose, trigger: .insideEvent(2, atByte: 5), droppedBytes: 12), .lost),
            (.stalled(trigger: .afterEvents(3), duration: nil), .delivered),
            (.withheld(bytes: 40), .lost),
            (.described("did something"), .delivered),
        ]
        for (effect, fate) in cases { #expect(effect.fate == fate, "\(effect)") }
        #expect(FrameFate.of([]) == .delivered)
        // The most damaging wins, whatever the order.
        #expect(FrameFate.of([.dripped(slices: 3, bytes: 7, pause: 1), .corrupted(.terminatorRemoved)]) == .corrupted)
        #expect(FrameFate.of([.dropped(bytes: 3), .delayed(1)]) == .dropped)
        #expect(FrameFate.of([.duplicated(extra: 1), .reordered(movedAfter: 1)]) == .duplicated)
        #expect(FrameFate.allCases.map(\.rank) == Array(0..<7))
    }

    @Test func holdTimes() {
        #expect(FaultEffect.delayed(7).holdTime(frameSize: 10) == 7)
        #expect(FaultEffect.dripped(slices: 4, bytes: 7, pause: 5_000_000).holdTime(frameSize: 28) == 15_000_000)
        #expect(FaultEffect.throttled(bytesPerSecond: 100, writes: 3).holdTime(frameSize: 50) == 500_000_000)
        #expect(FaultEffect.dropped(bytes: 3).holdTime(frameSize: 3) == nil)
    }

    @Test func oneSpellingPerCloseKind() {
        #expect(CloseKind.allCases.map(\.rawValue) == ["rst", "fin", "half_close"])
        #expect(CloseKind(spelling: "half_close") == .halfClose)
        #expect(CloseKind(spelling: "halfClose") == .halfClose)
        #expect(CloseKind(spelling: "half-close") == .halfClose)
        #expect(CloseKind(spelling: "rst") == .rst)
        #expect(CloseKind(spelling: "reset") == nil)
    }

    @Test func aHalfCloseDisconnectRecordsTheProfileSpelling() {
        var p = plan([FaultSpec(.disconnect(DisconnectFault(.insideEvent(2, atByte: 4), kind: .halfClose)))])
        _ = run(&p, [event(0), event(1), event(2)])
        let records = p.drainRecords()
        #expect(records.map(\.effect) == [.cut(.halfClose, trigger: .insideEvent(2, atByte: 4), droppedBytes: 6)])
        #expect(records.map(\.action) == ["half_close inside event 2 at byte 4 (6 bytes of the frame dropped)"])
    }
}
