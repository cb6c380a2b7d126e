import SSE
import Testing

@testable import Faults

/// The registry's static metadata, against the table the `Fault` enum's switches held before
/// the registry replaced them (name, default kinds, probability scope, stage phase).
@Suite struct FaultRegistryTests {
    static let expected: [(fault: Fault, name: String, kinds: Set<SSEFrame.Kind>, scope: ProbabilityScope)] = [
        (.delay(DelayFault(latency: 1)), "delay", SSEFrame.Kind.allKinds, .perFrame),
        (.buffer(BufferFault(release: .atEnd)), "buffer", SSEFrame.Kind.allKinds, .perFrame),
        (.throttle(ThrottleFault(.bytesPerSecond(10))), "throttle", SSEFrame.Kind.allKinds, .perFrame),
        (.drop(DropFault()), "drop", [.event], .perFrame),
        (.duplicate(DuplicateFault()), "duplicate", [.event], .perFrame),
        (.reorder(ReorderFault()), "reorder", [.event], .perFrame),
        (.corrupt(CorruptFault(.bom)), "corrupt", [.event], .perFrame),
        (.stripIDs(StripIDsFault()), "strip_ids", [.event, .fieldsOnly], .perFrame),
        (.rewriteIDs(RewriteIDsFault(.appendNUL)), "rewrite_ids", [.event, .fieldsOnly], .perFrame),
        (.retry(RetryFault(value: "0")), "retry", [.event, .fieldsOnly], .perFrame),
        (.lastEventID(LastEventIDFault(.remove)), "last_event_id", [.event], .perConnection),
        (.disconnect(DisconnectFault(.afterEvents(1))), "disconnect", [.event], .perConnection),
        (.stall(StallFault(.afterEvents(1))), "stall", [.event], .perConnection),
        (.respond(RespondFault(status: 503)), "respond", [.event], .perConnection),
        (.refuse(RefuseFault()), "refuse", [.event], .perConnection),
        (.contentType(ContentTypeFault(.remove)), "content_type", [.event], .perConnection),
    ]

    /// The original faults keep their order; a new one is added after them (no edit here).
    @Test func namesKindsAndScopesAreTheCatalogs() {
        #expect(Array(Fault.names.prefix(Self.expected.count)) == Self.expected.map(\.name))
        #expect(Set(Fault.names).count == Fault.names.count)
        for e in Self.expected {
            #expect(e.fault.name == e.name)
            #expect(e.fault.defaultKinds == e.kinds, "\(e.name)")
            #expect(e.fault.probabilityScope == e.scope, "\(e.name)")
            #expect(FaultRegistry.standard.named(e.name).map { ObjectIdentifier($0) } == ObjectIdentifier(type(of: e.fault.settings)))
        }
        #expect(Fault.drop(DropFault(heartbeatsOnly: true)).defaultKinds == [.commentOnly])
    }

    @Test func onlyThrottleWorksOnBytes() {
        for e in Self.expected {
            let phase = type(of: e.fault.makeStage()).phase
            #expect(phase == (e.name == "throttle" ? .bytes : .frames), "\(e.name)")
        }
    }

    @Test func equalityComparesTypeAndSettings() {
        #expect(Fault.drop(DropFault(everyNth: 2)) == .drop(DropFault(everyNth: 2)))
        #expect(Fault.drop(DropFault(everyNth: 2)) != .drop(DropFault(everyNth: 3)))
        #expect(Fault.stripIDs(StripIDsFault()) != .refuse(RefuseFault()))
        #expect(FaultSpec(.refuse(RefuseFault())) != FaultSpec(.refuse(RefuseFault()), probability: 0.5))
    }

    @Test func bareNamesAreTheFaultsWithoutRequiredSettings() {
        let known = Set(Self.expected.map(\.name))
        let bare = FaultRegistry.standard.faults.filter { $0.bareNameAllowed && known.contains($0.name) }.map { $0.name }
        #expect(bare == ["drop", "duplicate", "reorder", "strip_ids", "refuse"])
    }
}
