import Faults
import SSE

/// Ledger files written before fault lines carried an `effect` object have only the text. To read them,
/// the numbers and quoted values in the text are collected, every effect the fault could have written is
/// built from them, and the one whose `description` is exactly the text is taken (the text is never
/// interpreted by its wording: a candidate either reproduces it byte for byte or is not taken). Texts
/// that match no candidate stay `.described`.
enum LegacyFaultText {
    static func effect(fault: String, text: String) -> FaultEffect {
        let t = Tokens(text)
        let found = candidates(fault: fault, t, text).first { c in
            if c.description == text { return true }
            // Older versions spelled the half-close `half-close`.
            if case .cut(.halfClose, _, _) = c { return "half-close" + c.description.dropFirst("half_close".count) == text }
            return false
        }
        return found ?? .described(text)
    }

    /// The values in a text: integers, durations as `formatNanos` writes them, `'quoted'` strings.
    struct Tokens {
        var ints: [Int] = []
        var durations: [Nanos] = []
        var quoted: [String] = []

        init(_ text: String) {
            let chars = Array(text.unicodeScalars)
            var i = 0
            while i < chars.count {
                let c = chars[i]
                if isDigit(c) {
                    var j = i
                    var v = 0
                    while j < chars.count, isDigit(chars[j]) {
                        v = v &* 10 &+ Int(chars[j].value - 48)
                        j += 1
                    }
                    var unit = ""
                    var k = j
                    while k < chars.count, (chars[k].value | 0x20) >= 0x61, (chars[k].value | 0x20) <= 0x7A {
                        unit.unicodeScalars.append(chars[k])
                        k += 1
                    }
                    let scale: UInt64? = ["ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000][unit]
                    if let scale, v >= 0 {
                        durations.append(UInt64(v) &* scale)
                        i = k
                    } else {
                        ints.append(v)
                        i = j
                    }
                    continue
                }
                i += 1
            }
            // Quoted values: between the 1st and 2nd `'`, the 3rd and 4th, …
            let parts = text.split(separator: "'", omittingEmptySubsequences: false)
            var n = 1
            while n < parts.count - 1 {
                quoted.append(String(parts[n]))
                n += 2
            }
        }

        private func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

        func int(_ k: Int) -> Int? { k < ints.count ? ints[k] : nil }
        func duration(_ k: Int) -> Nanos? { k < durations.count ? durations[k] : nil }
        func quote(_ k: Int) -> String? { k < quoted.count ? quoted[k] : nil }
    }

    private static func triggers(_ t: Tokens) -> [Trigger] {
        var out: [Trigger] = []
        if let n = t.int(0) {
            out += [.afterEvents(n), .afterBytes(n)]
            if let k = t.int(1) { out.append(.insideEvent(n, atByte: k)) }
        }
        if let d = t.duration(0) { out.append(.after(d)) }
        return out
    }

    private static func candidates(fault: String, _ t: Tokens, _ text: String) -> [FaultEffect] {
        var c: [FaultEffect] = []
        switch fault {
        case "drop":
            if let n = t.int(0) { c.append(.dropped(bytes: n)) }
        case "delay":
            if let d = t.duration(0) { c += [.delayed(d), .connectDelayed(d), .firstByteDelayed(d)] }
        case "throttle":
            if let a = t.int(0), let b = t.int(1) {
                c.append(.throttled(bytesPerSecond: a, writes: b))
                if let p = t.duration(0) { c.append(.dripped(slices: a, bytes: b, pause: p)) }
            }
        case "buffer":
            if let a = t.int(0), let b = t.int(1) { c.append(.burstReleased(frames: a, bytes: b)) }
        case "duplicate":
            if let n = t.int(0) { c.append(.duplicated(extra: n)) }
        case "reorder":
            if let n = t.int(0) { c.append(.reordered(movedAfter: n)) }
        case "corrupt":
            c += [.corrupted(.terminatorRemoved), .corrupted(.jsonBroken), .corrupted(.injected(.bom)), .corrupted(.injected(.nulComment))]
            c += Malformed.LineEnd.allCases.map { .corrupted(.lineEnds($0)) }
            if let n = t.int(0) {
                c += [.corrupted(.invalidUTF8(bytes: n)), .corrupted(.injected(.oversizedEvent(dataBytes: n))), .corrupted(.injected(.garbage(bytes: n)))]
                if let of = t.int(1) { c.append(.corrupted(.truncated(at: n, of: of))) }
            }
            if let a = t.quote(0), let b = t.quote(1) { c.append(.corrupted(.fieldRenamed(from: a, to: b))) }
        case "strip_ids":
            c.append(.idStripped(id: nil))
            if let a = t.quote(0) { c.append(.idStripped(id: a)) }
        case "rewrite_ids":
            if let a = t.quote(0), let b = t.quote(1) { c.append(.idRewritten(from: a, to: b)) }
        case "retry":
            if let a = t.quote(0) { c += [.retryRewritten(value: a), .retryInjected(value: a)] }
        case "last_event_id":
            if let a = t.quote(0) {
                c += [.lastEventIDRemoved(sent: a), .lastEventIDReplaced(sent: nil, with: a)]
                if let b = t.quote(1) { c.append(.lastEventIDReplaced(sent: a, with: b)) }
            }
        case "disconnect":
            for kind in CloseKind.allCases {
                for trigger in triggers(t) {
                    c.append(.cut(kind, trigger: trigger, droppedBytes: 0))
                    if let last = t.ints.last { c.append(.cut(kind, trigger: trigger, droppedBytes: last)) }
                }
            }
        case "stall":
            if let n = t.int(0) { c.append(.withheld(bytes: n)) }
            for trigger in triggers(t) {
                c.append(.stalled(trigger: trigger, duration: nil))
                if let d = t.durations.last { c.append(.stalled(trigger: trigger, duration: d)) }
            }
        case "respond":
            if let status = t.int(0) {
                c.append(.responded(status: status, retryAfter: nil))
                // "responded 503 (Retry-After: VALUE)": VALUE is what follows the third space, without the ")".
                let words = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                if words.count == 4 { c.append(.responded(status: status, retryAfter: String(words[3].dropLast()))) }
            }
        case "refuse":
            c.append(.refused)
        case "content_type":
            c.append(.contentTypeRemoved)
            if let a = t.quote(0) { c.append(.contentTypeSet(a)) }
        default:
            break
        }
        return c
    }
}
