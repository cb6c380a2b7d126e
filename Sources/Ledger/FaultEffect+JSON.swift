import Faults
import SSE

/// A fault effect in ledger lines and the control API: `"effect":{"kind":"cut","close":"rst",…}`, written
/// beside the `action` text and read back from these fields alone (the text is never parsed).
extension FaultEffect {
    /// The `kind` field.
    public var kindName: String {
        switch self {
        case .dropped: "dropped"
        case .delayed: "delayed"
        case .connectDelayed: "connect_delayed"
        case .firstByteDelayed: "first_byte_delayed"
        case .throttled: "throttled"
        case .dripped: "dripped"
        case .burstReleased: "burst_released"
        case .duplicated: "duplicated"
        case .reordered: "reordered"
        case .corrupted: "corrupted"
        case .idStripped: "id_stripped"
        case .idRewritten: "id_rewritten"
        case .retryRewritten: "retry_rewritten"
        case .retryInjected: "retry_injected"
        case .lastEventIDRemoved: "last_event_id_removed"
        case .lastEventIDReplaced: "last_event_id_replaced"
        case .cut: "cut"
        case .stalled: "stalled"
        case .withheld: "withheld"
        case .responded: "responded"
        case .refused: "refused"
        case .contentTypeRemoved: "content_type_removed"
        case .contentTypeSet: "content_type_set"
        case .described: "described"
        case .controlled: "controlled"
        }
    }

    /// One JSON object: `kind` and the effect's own fields (plus `fate`, for readers of the file).
    public var json: String {
        var w = JSONWriter(capacity: 96)
        w.string("kind", kindName)
        switch self {
        case .dropped(let bytes), .withheld(let bytes): w.int("bytes", bytes)
        case .delayed(let d), .connectDelayed(let d), .firstByteDelayed(let d): w.uint("ns", d)
        case .throttled(let rate, let writes):
            w.int("bytes_per_second", rate)
            w.int("writes", writes)
        case .dripped(let slices, let bytes, let pause):
            w.int("slices", slices)
            w.int("bytes", bytes)
            w.uint("pause_ns", pause)
        case .burstReleased(let frames, let bytes):
            w.int("frames", frames)
            w.int("bytes", bytes)
        case .duplicated(let extra): w.int("extra", extra)
        case .reordered(let moved): w.int("moved_after", moved)
        case .corrupted(let c): c.write(&w)
        case .idStripped(let id): w.optString("id", id)
        case .idRewritten(let from, let to):
            w.string("from", from)
            w.string("to", to)
        case .retryRewritten(let v), .retryInjected(let v): w.string("value", v)
        case .lastEventIDRemoved(let sent): w.string("sent", sent)
        case .lastEventIDReplaced(let sent, let v):
            w.optString("sent", sent)
            w.string("value", v)
        case .cut(let kind, let trigger, let dropped):
            w.string("close", kind.rawValue)
            w.raw("trigger", trigger.json)
            w.int("dropped_bytes", dropped)
        case .stalled(let trigger, let duration):
            w.raw("trigger", trigger.json)
            w.optUInt("duration_ns", duration)
        case .responded(let status, let retryAfter):
            w.int("status", status)
            w.optString("retry_after", retryAfter)
        case .contentTypeSet(let v): w.string("value", v)
        case .refused, .contentTypeRemoved: break
        case .described(let text): w.string("text", text)
        case .controlled(let a):
            w.string("verb", a.verb.rawValue)
            w.string("peer", a.peer)
            w.optString("cut", a.cut?.rawValue)
            if let n = a.afterEvents { w.int("after_events", n) }
            w.bool("landed", a.landed)
            w.bool("heartbeats", a.heartbeats)
            w.int("bytes", a.bytes)
            w.strings("faults", a.faults)
        }
        w.string("fate", fate.rawValue)
        return w.finish()
    }

    /// Reads `json`'s object back. Errors name the field.
    init(fields r: JSONFields) throws {
        let kind = try r.string("kind")
        switch kind {
        case "dropped": self = .dropped(bytes: try r.int("bytes"))
        case "withheld": self = .withheld(bytes: try r.int("bytes"))
        case "delayed": self = .delayed(try r.uint("ns"))
        case "connect_delayed": self = .connectDelayed(try r.uint("ns"))
        case "first_byte_delayed": self = .firstByteDelayed(try r.uint("ns"))
        case "throttled": self = .throttled(bytesPerSecond: try r.int("bytes_per_second"), writes: try r.int("writes"))
        case "dripped": self = .dripped(slices: try r.int("slices"), bytes: try r.int("bytes"), pause: try r.uint("pause_ns"))
        case "burst_released": self = .burstReleased(frames: try r.int("frames"), bytes: try r.int("bytes"))
        case "duplicated": self = .duplicated(extra: try r.int("extra"))
        case "reordered": self = .reordered(movedAfter: try r.int("moved_after"))
        case "corrupted": self = .corrupted(try Corruption(fields: r))
        case "id_stripped": self = .idStripped(id: r.optString("id"))
        case "id_rewritten": self = .idRewritten(from: try r.string("from"), to: try r.string("to"))
        case "retry_rewritten": self = .retryRewritten(value: try r.string("value"))
        case "retry_injected": self = .retryInjected(value: try r.string("value"))
        case "last_event_id_removed": self = .lastEventIDRemoved(sent: try r.string("sent"))
        case "last_event_id_replaced": self = .lastEventIDReplaced(sent: r.optString("sent"), with: try r.string("value"))
        case "cut":
            let name = try r.string("close")
            guard let close = CloseKind(spelling: name) else {
                throw LedgerParseError("field \"close\": expected rst, fin or half_close; found \"\(name)\"")
            }
            self = .cut(close, trigger: try Trigger(fields: try r.object("trigger")), droppedBytes: try r.int("dropped_bytes"))
        case "stalled": self = .stalled(trigger: try Trigger(fields: try r.object("trigger")), duration: r.optUInt("duration_ns"))
        case "responded": self = .responded(status: try r.int("status"), retryAfter: r.optString("retry_after"))
        case "refused": self = .refused
        case "content_type_removed": self = .contentTypeRemoved
        case "content_type_set": self = .contentTypeSet(try r.string("value"))
        case "described": self = .described(try r.string("text"))
        case "controlled":
            let verb = try r.string("verb")
            guard let v = LiveAction.Verb(rawValue: verb) else {
                throw LedgerParseError("field \"verb\": expected cut, stall, resume, inject or faults; found \"\(verb)\"")
            }
            var cut: LiveAction.CutKind?
            if let name = r.optString("cut") {
                guard let c = LiveAction.CutKind(rawValue: name) else { throw LedgerParseError("field \"cut\": expected rst, fin or clean; found \"\(name)\"") }
                cut = c
            }
            self = .controlled(LiveAction(verb: v, peer: try r.string("peer"), cut: cut, afterEvents: r.optInt("after_events"),
                                          landed: try r.bool("landed"), heartbeats: try r.bool("heartbeats"), bytes: try r.int("bytes"),
                                          faults: r.strings("faults")))
        default: throw LedgerParseError("field \"effect\": unknown kind \"\(kind)\"")
        }
    }
}

extension FaultEffect.Corruption {
    func write(_ w: inout JSONWriter) {
        switch self {
        case .truncated(let at, let of):
            w.string("mode", "truncated")
            w.int("at_byte", at)
            w.int("of", of)
        case .terminatorRemoved: w.string("mode", "terminator_removed")
        case .fieldRenamed(let from, let to):
            w.string("mode", "field_renamed")
            w.string("from", from)
            w.string("to", to)
        case .invalidUTF8(let n):
            w.string("mode", "invalid_utf8")
            w.int("bytes", n)
        case .jsonBroken: w.string("mode", "json_broken")
        case .lineEnds(let style):
            w.string("mode", "line_ends")
            w.string("style", style.rawValue)
        case .injected(.bom): w.string("mode", "injected_bom")
        case .injected(.oversizedEvent(let n)):
            w.string("mode", "injected_oversized_event")
            w.int("bytes", n)
        case .injected(.garbage(let n)):
            w.string("mode", "injected_garbage")
            w.int("bytes", n)
        case .injected(.nulComment): w.string("mode", "injected_nul_comment")
        }
    }

    init(fields r: JSONFields) throws {
        let mode = try r.string("mode")
        switch mode {
        case "truncated": self = .truncated(at: try r.int("at_byte"), of: try r.int("of"))
        case "terminator_removed": self = .terminatorRemoved
        case "field_renamed": self = .fieldRenamed(from: try r.string("from"), to: try r.string("to"))
        case "invalid_utf8": self = .invalidUTF8(bytes: try r.int("bytes"))
        case "json_broken": self = .jsonBroken
        case "line_ends":
            let name = try r.string("style")
            guard let style = Malformed.LineEnd(rawValue: name) else {
                throw LedgerParseError("field \"style\": expected lf, cr, crlf or mixed; found \"\(name)\"")
            }
            self = .lineEnds(style)
        case "injected_bom": self = .injected(.bom)
        case "injected_oversized_event": self = .injected(.oversizedEvent(dataBytes: try r.int("bytes")))
        case "injected_garbage": self = .injected(.garbage(bytes: try r.int("bytes")))
        case "injected_nul_comment": self = .injected(.nulComment)
        default: throw LedgerParseError("field \"mode\": unknown corruption \"\(mode)\"")
        }
    }
}

extension Trigger {
    /// `{"after_events":3}`, `{"after_bytes":120}`, `{"after_ns":2000000000}`, `{"inside_event":2,"at_byte":5}`.
    var json: String {
        var w = JSONWriter(capacity: 40)
        switch self {
        case .afterEvents(let n): w.int("after_events", n)
        case .afterBytes(let n): w.int("after_bytes", n)
        case .after(let t): w.uint("after_ns", t)
        case .insideEvent(let n, let k):
            w.int("inside_event", n)
            w.int("at_byte", k)
        }
        return w.finish()
    }

    init(fields r: JSONFields) throws {
        if let n = r.optInt("after_events") {
            self = .afterEvents(n)
        } else if let n = r.optInt("after_bytes") {
            self = .afterBytes(n)
        } else if let t = r.optUInt("after_ns") {
            self = .after(t)
        } else if let n = r.optInt("inside_event") {
            self = .insideEvent(n, atByte: try r.int("at_byte"))
        } else {
            throw LedgerParseError("field \"trigger\": expected after_events, after_bytes, after_ns or inside_event")
        }
    }
}
