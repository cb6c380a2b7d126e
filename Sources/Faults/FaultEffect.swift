import SSE

/// What one fault decision did, as a value. Every `record` in the catalog writes one of these; the
/// ledger writes it as structured fields (beside its `description`), and the reports `switch` on it.
/// Its `description` is the human-readable text (the ledger's `action` field).
public enum FaultEffect: Sendable, Equatable, CustomStringConvertible {
    /// `drop`: the frame was not written.
    case dropped(bytes: Int)
    /// `delay`: the frame was held this long (rounded to µs).
    case delayed(Nanos)
    /// `delay`: the upstream connect waited this long.
    case connectDelayed(Nanos)
    /// `delay`: the response head waited this long.
    case firstByteDelayed(Nanos)
    /// `throttle` at a byte rate: the frame went out in `writes` slices.
    case throttled(bytesPerSecond: Int, writes: Int)
    /// `throttle` drip: `slices` slices of `bytes`, `pause` apart.
    case dripped(slices: Int, bytes: Int, pause: Nanos)
    /// `buffer`: the held frames went out together.
    case burstReleased(frames: Int, bytes: Int)
    /// `duplicate`: the frame was written `1 + extra` times.
    case duplicated(extra: Int)
    /// `reorder`: the frame was written after `movedAfter` later frames.
    case reordered(movedAfter: Int)
    /// `corrupt`: the frame's bytes were damaged, or bytes were injected before it.
    case corrupted(Corruption)
    /// `strip_ids`: the `id` line was removed (`id` is the frame's id, when it had a valid one).
    case idStripped(id: String?)
    /// `rewrite_ids`: the id was replaced (NUL shown as `\0`).
    case idRewritten(from: String, to: String)
    /// `retry`: an existing `retry:` line was set to `value`.
    case retryRewritten(value: String)
    /// `retry`: a `retry:` line was added.
    case retryInjected(value: String)
    /// `last_event_id`: the client's header was not sent upstream.
    case lastEventIDRemoved(sent: String)
    /// `last_event_id`: the header sent upstream was replaced (`sent` nil: the client sent none).
    case lastEventIDReplaced(sent: String?, with: String)
    /// `disconnect`: the connection was cut by `kind` when `trigger` fired; `droppedBytes` of the frame
    /// it fired on were never written (0: the frame named is the last one written whole).
    case cut(CloseKind, trigger: Trigger, droppedBytes: Int)
    /// `stall`: the stream stopped when `trigger` fired, for `duration` (nil: forever).
    case stalled(trigger: Trigger, duration: Nanos?)
    /// `stall` forever: a frame that arrived after the stall was never written.
    case withheld(bytes: Int)
    /// `respond`: Sputter answered with `status` instead of connecting upstream.
    case responded(status: Int, retryAfter: String?)
    /// `refuse`: the connection was accepted and reset.
    case refused
    /// `content_type`: the header was removed.
    case contentTypeRemoved
    /// `content_type`: the header was set to `value`.
    case contentTypeSet(String)
    /// A record read from a ledger line that carries only its text (older files, or an effect this
    /// version does not know). Never produced by the fault engine.
    case described(String)
    /// An action of the control API on the open stream (`POST /clients/KEY/cut`, …).
    case controlled(LiveAction)

    /// One kind of damage by `corrupt`.
    public enum Corruption: Sendable, Equatable {
        /// Cut at byte `at` of `of` (the rest dropped).
        case truncated(at: Int, of: Int)
        case terminatorRemoved
        case fieldRenamed(from: String, to: String)
        case invalidUTF8(bytes: Int)
        case jsonBroken
        case lineEnds(Malformed.LineEnd)
        /// Bytes written just before the frame (the frame itself intact).
        case injected(Injection)
    }

    /// What `corrupt` wrote before a frame.
    public enum Injection: Sendable, Equatable {
        case bom
        case oversizedEvent(dataBytes: Int)
        case garbage(bytes: Int)
        case nulComment
    }

    public var description: String {
        switch self {
        case .dropped(let bytes): return "dropped \(bytes) bytes"
        case .delayed(let d): return "delayed \(formatNanos(d))"
        case .connectDelayed(let d): return "connect delayed \(formatNanos(d))"
        case .firstByteDelayed(let d): return "first byte delayed \(formatNanos(d))"
        case .throttled(let rate, let writes): return "throttled to \(rate) B/s in \(writes) writes"
        case .dripped(let slices, let bytes, let pause):
            return "dripped in \(slices) slices of \(bytes) bytes, \(formatNanos(pause)) apart"
        case .burstReleased(let frames, let bytes): return "released burst of \(frames) frames (\(bytes) bytes)"
        case .duplicated(let extra): return "duplicated (\(extra) extra)"
        case .reordered(let moved): return "reordered: moved after \(moved) later frame\(moved == 1 ? "" : "s")"
        case .corrupted(let c): return c.description
        case .idStripped(let id): return "stripped id \(id.map { "'\($0)'" } ?? "line")"
        case .idRewritten(let from, let to): return "id '\(from)' rewritten to '\(to)'"
        case .retryRewritten(let v): return "retry rewritten to '\(v)'"
        case .retryInjected(let v): return "retry '\(v)' injected"
        case .lastEventIDRemoved(let sent): return "Last-Event-ID '\(sent)' removed upstream"
        case .lastEventIDReplaced(let sent, let v):
            return "Last-Event-ID \(sent.map { "'\($0)'" } ?? "(none)") replaced with '\(v)' upstream"
        case .cut(let kind, let trigger, let dropped):
            return "\(kind.rawValue) \(trigger)\(dropped > 0 ? " (\(dropped) bytes of the frame dropped)" : "")"
        case .stalled(let trigger, let duration):
            return "stalled \(trigger) \(duration.map { "for \(formatNanos($0))" } ?? "forever")"
        case .withheld(let bytes): return "withheld \(bytes) bytes (stalled forever)"
        case .responded(let status, let retryAfter):
            return "responded \(status)\(retryAfter.map { " (Retry-After: \($0))" } ?? "")"
        case .refused: return "refused (accept and RST)"
        case .contentTypeRemoved: return "Content-Type removed"
        case .contentTypeSet(let v): return "Content-Type set to '\(v)'"
        case .described(let text): return text
        case .controlled(let action): return action.description
        }
    }

    /// What this effect does to the frame the record names (the reports' colour for it). Effects about
    /// the connection rather than a frame (`connectDelayed`, `responded`, …) are `.delivered`.
    public var fate: FrameFate {
        switch self {
        case .dropped: return .dropped
        case .delayed, .throttled, .dripped, .burstReleased: return .delayed
        case .duplicated: return .duplicated
        case .reordered: return .reordered
        case .corrupted, .idStripped, .idRewritten: return .corrupted
        case .cut(_, _, let dropped): return dropped > 0 ? .lost : .delivered
        case .withheld: return .lost
        case .stalled, .retryRewritten, .retryInjected, .lastEventIDRemoved, .lastEventIDReplaced, .responded,
             .refused, .contentTypeRemoved, .contentTypeSet, .connectDelayed, .firstByteDelayed, .described, .controlled:
            return .delivered
        }
    }

    /// How long after its arrival the frame this effect names was written, when the effect alone says:
    /// a delay, or the time its last slice went out (`dripped`: the pauses; `throttled`: size / rate).
    public func holdTime(frameSize: Int) -> Nanos? {
        switch self {
        case .delayed(let d): return d
        case .dripped(let slices, _, let pause): return slices > 0 ? UInt64(slices - 1) &* pause : nil
        case .throttled(let rate, _):
            return rate > 0 ? UInt64((Double(frameSize) / Double(rate) * 1e9).rounded(.down)) : nil
        default: return nil
        }
    }
}

extension FaultEffect.Corruption: CustomStringConvertible {
    public var description: String {
        switch self {
        case .truncated(let at, let of): return "truncated at byte \(at) of \(of) (\(of - at) bytes dropped)"
        case .terminatorRemoved: return "removed terminating blank line"
        case .fieldRenamed(let from, let to): return "renamed field '\(from)' to '\(to)'"
        case .invalidUTF8(let n): return "inserted \(n) invalid UTF-8 bytes into data"
        case .jsonBroken: return "broke JSON in data"
        case .lineEnds(let style): return "line ends converted to \(style.rawValue)"
        case .injected(let what): return "injected \(what) before frame"
        }
    }
}

extension FaultEffect.Injection: CustomStringConvertible {
    public var description: String {
        switch self {
        case .bom: return "BOM"
        case .oversizedEvent(let n): return "oversized event of \(n) data bytes"
        case .garbage(let n): return "\(n) garbage bytes"
        case .nulComment: return "comment with NUL"
        }
    }
}

/// What happened to one upstream frame on its way to the client, as the reports show it.
public enum FrameFate: String, Sendable, CaseIterable, Comparable {
    /// Passed on as the upstream sent it (possibly with a fault noted that changes neither its bytes nor
    /// its timing much, such as an injected `retry`).
    case delivered
    /// Held back: `delay`, `throttle`, a `buffer` burst, a `stall` with a duration.
    case delayed
    /// Written after later frames (`reorder`).
    case reordered
    /// Written more than once (`duplicate`).
    case duplicated
    /// Changed in transit: `corrupt` (torn, merged, mangled, bytes injected before it), `strip_ids`,
    /// `rewrite_ids`.
    case corrupted
    /// Deliberately not written (`drop`).
    case dropped
    /// Never written because the connection was cut before or inside it (`disconnect`) or the stream
    /// stalled for good (`stall` without a duration).
    case lost

    /// Which fate wins when several faults acted on one frame: the most damaging (the declaration order).
    public var rank: Int { FrameFate.allCases.firstIndex(of: self)! }

    public static func < (a: FrameFate, b: FrameFate) -> Bool { a.rank < b.rank }

    /// The fate of a frame from the effects recorded about it: the most damaging one.
    public static func of(_ effects: [FaultEffect]) -> FrameFate {
        effects.map(\.fate).max() ?? .delivered
    }

    public var label: String {
        switch self {
        case .lost: "lost at a cut"
        default: rawValue
        }
    }

    public var explanation: String {
        switch self {
        case .delivered: "passed on unchanged"
        case .delayed: "delay, throttle, buffer burst or a stall that ends; the tail reaches the time it was written"
        case .reordered: "written after later events; the tail reaches the time it was written"
        case .duplicated: "written more than once"
        case .corrupted: "torn, merged, mangled, id stripped or rewritten, or bytes injected before it"
        case .dropped: "deliberately not written"
        case .lost: "the connection was cut before or inside it, or the stream stalled for good"
        }
    }
}
