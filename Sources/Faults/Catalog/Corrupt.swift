import SSE

/// Malformed frames: each mode produces one kind of damage a real stream shows.
/// Modes that insert something (`bom`, `oversized`, `garbage`, `nul_comment`) write it just
/// before the matching frame and leave the frame intact.
public struct CorruptFault: Sendable, Equatable {
    public enum Cut: Sendable, Equatable {
        case atByte(Int)
        /// 0 < f < 1 of the frame's length (at least 1 byte kept, at least 1 cut).
        case fraction(Double)
    }

    public enum Mode: Sendable, Equatable {
        /// Cut the frame's bytes; the rest of it is dropped and the stream goes on (the torn
        /// tail runs into the next frame). `terminate` ends the torn piece with a blank line.
        case truncate(Cut, terminate: Bool)
        /// Remove the terminating blank line: this event and the next merge.
        case removeTerminator
        /// Rename a field (`data` → `Data` when `to` is nil: case matters in SSE).
        case mangleField(field: String, to: String?)
        /// Insert bytes that are not UTF-8 in the middle of the first data value.
        case invalidUTF8(bytes: [UInt8])
        /// Break the JSON in the data (drop its last `}`/`]`, or prefix `{"`).
        case breakJSON
        /// Rewrite the frame's line ends.
        case lineEnds(Malformed.LineEnd)
        /// A BOM before the frame (only one at stream start is legal).
        case bom
        /// An extra event of `bytes` data bytes before the frame.
        case oversized(bytes: Int)
        /// `length` random bytes before the frame.
        case garbage(length: Int)
        /// A comment containing a NUL byte before the frame.
        case nulComment
    }

    public var mode: Mode
    public init(_ mode: Mode) { self.mode = mode }
}

struct CorruptStage: FaultStage {
    var passesOthersUntouched: Bool { true }
    let settings: CorruptFault
    init(_ settings: CorruptFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        var c = chunk
        let raw = chunk.bytes
        func inject(_ bytes: [UInt8], _ what: FaultEffect.Injection) {
            out.append(.chunk(.injected(bytes, at: chunk.notBefore)))
            ctx.record(chunk.frameIndex, .corrupted(.injected(what)))
        }
        switch settings.mode {
        case .truncate(let cut, let terminate):
            guard raw.count > 1 else { break }
            let k: Int
            switch cut {
            case .atByte(let n): k = n
            case .fraction(let f): k = Int(Double(raw.count) * f)
            }
            let at = Swift.min(Swift.max(1, k), raw.count - 1)
            guard at < raw.count else { break }
            c.bytes = Malformed.truncate(raw, at: at)
            if terminate { c.bytes += Malformed.lineEnd(of: raw) + Malformed.lineEnd(of: raw) }
            ctx.record(chunk.frameIndex, .corrupted(.truncated(at: at, of: raw.count)))
        case .removeTerminator:
            let cut = Malformed.removeTerminator(raw)
            if cut != raw {
                c.bytes = cut
                ctx.record(chunk.frameIndex, .corrupted(.terminatorRemoved))
            }
        case .mangleField(let field, let to):
            let replacement = to ?? (field.prefix(1).uppercased() + field.dropFirst())
            if let r = Malformed.renameField(raw, from: field, to: replacement) {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.fieldRenamed(from: field, to: replacement)))
            }
        case .invalidUTF8(let bytes):
            if let r = Malformed.insertIntoData(raw, bytes: bytes) {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.invalidUTF8(bytes: bytes.count)))
            }
        case .breakJSON:
            if let r = Malformed.breakJSON(raw) {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.jsonBroken))
            }
        case .lineEnds(let style):
            let r = Malformed.convertLineEnds(raw, to: style)
            if r != raw {
                c.bytes = r
                ctx.record(chunk.frameIndex, .corrupted(.lineEnds(style)))
            }
        case .bom:
            inject(Malformed.bom, .bom)
        case .oversized(let bytes):
            inject(Malformed.oversizedEvent(dataBytes: bytes), .oversizedEvent(dataBytes: bytes))
        case .garbage(let length):
            var g: [UInt8] = []
            g.reserveCapacity(length)
            while g.count < length {
                var r = ctx.rng.next()
                for _ in 0..<Swift.min(8, length - g.count) {
                    g.append(UInt8(truncatingIfNeeded: r))
                    r >>= 8
                }
            }
            inject(g, .garbage(bytes: length))
        case .nulComment:
            inject(Malformed.nulComment(), .nulComment)
        }
        out.append(.chunk(c))
    }
}

extension CorruptFault: FaultSettings {
    /// One mode: its own keys (besides `mode`) and what it does.
    struct ModeSpec: Sendable {
        let name: String
        let keys: [SettingKey]
        /// Extra schema members of this mode's alternative.
        var rules: [JSONMember] = []
        let effect: String
    }

    static let modes: [ModeSpec] = [
        ModeSpec(
            name: "truncate",
            keys: [
                SettingKey("at_byte", Schema.integer(min: 1), "cut after K bytes"),
                SettingKey("fraction", Schema.number(exclusiveMin: 0, exclusiveMax: 1), "cut after this fraction 0<f<1 of the frame"),
                SettingKey("terminate", Schema.boolean, "end the torn piece with a blank line"),
            ],
            rules: [Schema.exactlyOne([["at_byte"], ["fraction"]])],
            effect: "exactly one of `at_byte`, `fraction`: cut the frame's bytes there (the rest is dropped and recorded); "
                + "without `terminate` the torn piece runs into the next frame"),
        ModeSpec(name: "remove_terminator", keys: [], effect: "drop the terminating blank line: this event merges with the next"),
        ModeSpec(
            name: "mangle_field",
            keys: [
                SettingKey("field", Schema.string, "the field to rename (default `data`)"),
                SettingKey("to", Schema.string, "the new name (default: capitalised, `Data`)"),
            ],
            effect: "rename a field (`dta`, `Data`: names are case-sensitive)"),
        ModeSpec(
            name: "invalid_utf8",
            keys: [
                SettingKey(
                    "bytes", ["type": "array", "minItems": 1, "items": Schema.integer(min: 0, max: 255)],
                    "the bytes to insert (default `80 E2 82 C0 AF`)")
            ],
            effect: "insert bytes in the middle of the first data value"),
        ModeSpec(name: "break_json", keys: [], effect: "remove the data's last `}`/`]`, or prefix `{\"`"),
        ModeSpec(
            name: "line_ends",
            keys: [SettingKey("to", Schema.oneOf(["lf", "cr", "crlf", "mixed"]), "`lf`, `cr`, `crlf` or `mixed`", required: true)],
            effect: "rewrite the frame's line ends (mixed cycles CR, LF, CRLF)"),
        ModeSpec(name: "bom", keys: [], effect: "a BOM before the frame (only one at stream start is legal)"),
        ModeSpec(
            name: "oversized",
            keys: [SettingKey("bytes", Schema.integer(min: 1, max: 64 << 20), "data bytes of the extra event (default 1 MiB)")],
            effect: "an extra event of that many data bytes before the frame"),
        ModeSpec(
            name: "garbage", keys: [SettingKey("length", Schema.integer(min: 1, max: 1 << 20), "how many bytes (default 16)")],
            effect: "seeded random bytes before the frame"),
        ModeSpec(name: "nul_comment", keys: [], effect: "a comment containing NUL before the frame"),
    ]

    public static let name = "corrupt"
    public static let summary = "Malformed frames."
    public static var guide: String {
        var rows = ["`mode:` and its settings:", "", "| mode | settings | effect |", "|---|---|---|"]
        for mode in modes {
            let settings = mode.keys.map { "`\($0.name)`\($0.required ? " (required)" : "")" }.joined(separator: ", ")
            rows.append("| `\(mode.name)` | \(settings.isEmpty ? "–" : settings) | \(mode.effect) |")
        }
        return rows.joined(separator: "\n")
    }
    /// `mode`, then every mode's keys (sorted); a key several modes share documents each.
    public static let keys: [SettingKey] = {
        var byName: [String: [(mode: String, key: SettingKey)]] = [:]
        for mode in modes { for key in mode.keys { byName[key.name, default: []].append((mode.name, key)) } }
        let modeKey = SettingKey("mode", Schema.oneOf(modes.map(\.name)), "which damage (table above)", required: true)
        return [modeKey]
            + byName.keys.sorted().map { name in
                let uses = byName[name]!
                let doc = uses.map { "\($0.mode): \($0.key.doc)" }.joined(separator: "; ")
                return SettingKey(name, uses.count == 1 ? uses[0].key.schema : [:], doc)
            }
    }()
    public static let examples = [
        "corrupt: { mode: truncate, fraction: 0.5, select: { event_index: { from: 2, to: 2 } } }",
        "corrupt: { mode: line_ends, to: cr, probability: 0.1 }",
    ]
    public static let defaultKinds: Set<FrameKind> = [.event]
    public static let probabilityScope = ProbabilityScope.perFrame

    /// One alternative per mode, each allowing only that mode's keys.
    public static func settingsSchema(common: [JSONMember]) -> JSONValue {
        let alternatives = modes.map { mode -> JSONValue in
            let own = mode.keys.map { JSONMember($0.name, $0.schema.merging([JSONMember("description", .string($0.doc))])) }
            let required = ["mode"] + mode.keys.filter(\.required).map(\.name)
            return .object(
                [
                    JSONMember("type", "object"), JSONMember("description", .string(mode.effect)),
                    JSONMember("properties", .object([JSONMember("mode", ["const": .string(mode.name)])] + own + common)),
                    JSONMember("additionalProperties", false),
                    JSONMember("required", .array(required.map { .string($0) })),
                ] + mode.rules)
        }
        return [
            "type": "object", "description": .string(summary), "required": ["mode"], "oneOf": .array(alternatives),
        ]
    }

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> CorruptFault {
        let modeValue = try m.required("mode")
        let mode = try modeValue.string("a string")
        guard let keys = modes.first(where: { $0.name == mode })?.keys.map(\.name) else {
            throw modeValue.error("expected one of: \(modes.map(\.name).joined(separator: ", ")); found \(modeValue.found)")
        }
        var inner = m
        inner.what = "corrupt (mode \(mode))"
        try inner.check(allowed: ["mode"] + keys + ["select", "probability"])
        switch mode {
        case "truncate":
            let (key, v) = try inner.exactlyOne(of: ["at_byte", "fraction"])
            let cut: CorruptFault.Cut =
                key == "at_byte"
                ? .atByte(try v.int(in: 1...Int.max))
                : .fraction(try v.double("a fraction between 0 and 1 (exclusive)") { $0 > 0 && $0 < 1 })
            return CorruptFault(.truncate(cut, terminate: try m["terminate"]?.bool() ?? false))
        case "remove_terminator": return CorruptFault(.removeTerminator)
        case "mangle_field":
            return CorruptFault(.mangleField(field: try m["field"]?.string("a string") ?? "data", to: try m["to"]?.string("a string")))
        case "invalid_utf8":
            var bytes = Malformed.invalidUTF8
            if let b = m["bytes"] {
                bytes = []
                for v in try b.list("byte values") { bytes.append(UInt8(try v.int(in: 0...255))) }
                guard !bytes.isEmpty else { throw b.error("expected at least one byte value, found an empty list") }
            }
            return CorruptFault(.invalidUTF8(bytes: bytes))
        case "break_json": return CorruptFault(.breakJSON)
        case "line_ends":
            let v = try inner.required("to")
            guard let style = Malformed.LineEnd(rawValue: try v.string("a string")) else {
                throw v.error("expected one of: lf, cr, crlf, mixed; found \(v.found)")
            }
            return CorruptFault(.lineEnds(style))
        case "bom": return CorruptFault(.bom)
        case "oversized": return CorruptFault(.oversized(bytes: try m["bytes"]?.int(in: 1...(64 << 20)) ?? (1 << 20)))
        case "garbage": return CorruptFault(.garbage(length: try m["length"]?.int(in: 1...(1 << 20)) ?? 16))
        default: return CorruptFault(.nulComment)
        }
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(CorruptStage(self)) }
}

extension Fault {
    public static func corrupt(_ f: CorruptFault) -> Fault { Fault(f) }
}
