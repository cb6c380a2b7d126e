import SSE
import Testing

@testable import Faults

/// `FaultPlan.frame`'s shortcut (a frame no stage acts on passes without running the stages) against the
/// full run of every stage: the same emissions, records and timers, on profiles mixing stages that opt in
/// (`FaultStage.passesOthersUntouched`) with ones that do not, selectors that match some frames, and draws.
@Suite struct PlanShortcutTests {
    static let profiles: [(String, [FaultSpec])] = [
        ("drop never matching", [FaultSpec(.drop(DropFault()), selector: FaultSelector(eventTypes: ["never-sent"]))]),
        ("drop by type, p 0.5", [FaultSpec(.drop(DropFault()), selector: FaultSelector(eventTypes: ["tick"]), probability: 0.5)]),
        ("rewrite then drop by id", [
            FaultSpec(.rewriteIDs(RewriteIDsFault(.offset(100))), selector: FaultSelector(eventIndex: IntRange(from: 3, to: 5))),
            FaultSpec(.drop(DropFault()), selector: FaultSelector(idRange: IntRange(from: 103, to: 104))),
        ]),
        ("delay some, duplicate others", [
            FaultSpec(.delay(DelayFault(latency: 25 * ms)), selector: FaultSelector(frameIndex: IntRange(from: 4, to: 6))),
            FaultSpec(.duplicate(DuplicateFault(copies: 2)), selector: FaultSelector(id: Glob("1*")), probability: 0.7),
        ]),
        ("strip ids and retry on a few, heartbeat drop", [
            FaultSpec(.stripIDs(StripIDsFault()), selector: FaultSelector(eventIndex: IntRange(from: 8))),
            FaultSpec(.retry(RetryFault(value: "1500")), selector: FaultSelector(eventIndex: IntRange(from: 2, to: 2))),
            FaultSpec(.drop(DropFault(heartbeatsOnly: true)), probability: 0.3),
        ]),
        ("with a stage that does not opt in (throttle)", [
            FaultSpec(.drop(DropFault()), selector: FaultSelector(eventTypes: ["none"])),
            FaultSpec(.throttle(ThrottleFault(.bytesPerSecond(2_000)))),
        ]),
        ("corrupt every third", [FaultSpec(.corrupt(CorruptFault(.removeTerminator)), selector: FaultSelector(eventIndex: IntRange(from: 0)),
                                           probability: 0.33)]),
    ]

    static func frames() -> [SSEFrame] {
        var out: [SSEFrame] = []
        for i in 0..<40 {
            switch i % 5 {
            case 4: out.append(comment(i))
            case 2: out.append(event(i, "payload \(i)", id: String(i), type: "tick"))
            default: out.append(event(i, "payload \(i)", id: String(i)))
            }
        }
        return out
    }

    @Test(arguments: 0..<profiles.count)
    func shortcutMatchesFullRun(_ k: Int) {
        let (name, specs) = Self.profiles[k]
        for seed: UInt64 in [1, 2, 3] {
            let context = ConnectionContext(clientKey: "c", attempt: 1, seed: seed, lastEventID: nil)
            var results: [(emissions: [[Emission]], records: [[FaultRecord]])] = []
            for shortcut in [true, false] {
                var plan = FaultPlan(faults: specs, context: context, shortcut: shortcut)
                _ = plan.responseHead(status: 200, contentType: "text/event-stream", now: 0)
                var emissions: [[Emission]] = []
                var records: [[FaultRecord]] = []
                var now: Nanos = 0
                for f in Self.frames() {
                    now += 3 * ms
                    var out: [Emission] = []
                    if let t = plan.nextTimer, t <= now { out += plan.timer(now: now) }
                    plan.frame(f, now: now, into: &out)
                    emissions.append(out)
                    records.append(plan.drainRecords())
                }
                emissions.append(plan.upstreamEnded(now: now + ms))
                records.append(plan.drainRecords())
                results.append((emissions, records))
            }
            #expect(results[0].emissions == results[1].emissions, "\(name), seed \(seed)")
            #expect(results[0].records == results[1].records, "\(name), seed \(seed)")
            #expect(results[0].emissions.joined().contains { if case .write = $0 { true } else { false } }, "\(name)")
        }
    }

    /// The shortcut is taken where it can be: a stage that does not opt in keeps every frame on the full run,
    /// and an opted-in stage that matches nothing lets the stream through as written.
    @Test func optInFlags() {
        #expect(FaultSlot(spec: FaultSpec(.drop(DropFault())), seed: 1).passesOthers)
        #expect(FaultSlot(spec: FaultSpec(.delay(DelayFault(latency: ms))), seed: 1).passesOthers)
        #expect(!FaultSlot(spec: FaultSpec(.throttle(ThrottleFault(.bytesPerSecond(10)))), seed: 1).passesOthers)
        var p = plan([FaultSpec(.drop(DropFault()), selector: FaultSelector(eventTypes: ["never-sent"]))])
        let frames = Self.frames()
        #expect(written(run(&p, frames)) == text(frames.flatMap(\.raw)))
    }
}
