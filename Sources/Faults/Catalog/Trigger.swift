/// When a disconnect or a stall happens. Counts are 1-based and count only frames the
/// fault's selector matches (by default: events); bytes count everything written.
public enum Trigger: Sendable, Equatable, CustomStringConvertible {
    /// Right after the nth matching frame (0 = as soon as the stream starts).
    case afterEvents(Int)
    /// After exactly n bytes of the stream (a frame crossing the mark is cut there).
    case afterBytes(Int)
    /// At stream start + T (after whatever was queued before then is written).
    case after(Nanos)
    /// Inside the nth matching frame, after `atByte` of its bytes.
    case insideEvent(Int, atByte: Int)

    public var description: String {
        switch self {
        case .afterEvents(let n): "after \(n) event\(n == 1 ? "" : "s")"
        case .afterBytes(let n): "after \(n) bytes"
        case .after(let t): "after \(formatNanos(t))"
        case .insideEvent(let n, let k): "inside event \(n) at byte \(k)"
        }
    }
}

/// Counting towards a trigger. Shared by `disconnect` and `stall`.
struct TriggerState: Sendable {
    let trigger: Trigger
    var events = 0
    var bytes = 0
    private(set) var deadline: Nanos?

    init(_ trigger: Trigger) { self.trigger = trigger }

    mutating func start(_ ctx: StageContext) {
        switch trigger {
        case .after(let t): deadline = ctx.streamStart + t
        case .afterEvents(0), .afterBytes(0): deadline = ctx.streamStart
        default: break
        }
    }

    mutating func disarm() { deadline = nil }

    /// What feeding one item did.
    struct Step {
        var fired = false
        /// The part of a cut frame after the trigger point.
        var remainder: Chunk?
        /// The frame the trigger fired on.
        var frameIndex: Int?
    }

    /// Appends the part of `item` before the trigger point to `out`.
    mutating func feed(_ item: StreamItem, matching: Bool, into out: inout [StreamItem]) -> Step {
        guard case .chunk(let c) = item else {
            out.append(item)
            return Step()
        }
        var step = Step(frameIndex: c.frameIndex)
        var cutAt: Int?
        switch trigger {
        case .afterEvents(let n):
            if matching {
                events += 1
                step.fired = events >= n
            }
        case .afterBytes(let n):
            if bytes + c.bytes.count >= n {
                step.fired = true
                if bytes + c.bytes.count > n { cutAt = n - bytes }
            }
            bytes += c.bytes.count
        case .after:
            break
        case .insideEvent(let n, let k):
            if matching {
                events += 1
                if events == n {
                    step.fired = true
                    if k < c.bytes.count { cutAt = k }
                }
            }
        }
        if let cutAt {
            var head = c, tail = c
            head.bytes = Array(c.bytes[..<cutAt])
            tail.bytes = Array(c.bytes[cutAt...])
            tail.frame = nil
            out.append(.chunk(head))
            step.remainder = tail
        } else {
            out.append(item)
        }
        if step.fired { deadline = nil }
        return step
    }
}

extension Trigger {
    static let names = ["after_events", "after_bytes", "after", "inside_event"]

    /// The trigger keys of `disconnect` and `stall`.
    static let keys = [
        SettingKey("after_events", Schema.integer(min: 0), "right after the Nth matching event (0 = at stream start)"),
        SettingKey("after_bytes", Schema.integer(min: 0), "after exactly N bytes of the stream (a frame crossing the mark is cut)"),
        SettingKey("after", Schema.duration, "at stream start + T"),
        SettingKey("inside_event", Schema.integer(min: 1), "inside the Nth matching event (1-based); needs `at_byte`"),
        SettingKey("at_byte", Schema.integer(min: 0), "with `inside_event`: bytes of the event written before the cut"),
    ]

    /// Exactly one trigger; `at_byte` only with `inside_event`.
    static let schemaRules = [
        JSONMember(
            "oneOf",
            .array(
                names.dropLast().map { ["required": [.string($0)], "not": ["required": ["at_byte"]]] }
                    + [["required": ["inside_event", "at_byte"]]]))
    ]

    static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> Trigger {
        let (key, v) = try m.exactlyOne(of: names)
        if key != "inside_event", let at = m["at_byte"] {
            throw at.error("at_byte goes with inside_event, not \(key)")
        }
        switch key {
        case "after_events": return .afterEvents(try v.int(in: 0...Int.max))
        case "after_bytes": return .afterBytes(try v.int(in: 0...Int.max))
        case "after": return .after(try v.nanos())
        default:
            let n = try v.int(in: 1...Int.max)
            return .insideEvent(n, atByte: try m.required("at_byte").int(in: 0...Int.max))
        }
    }
}
