import Faults
import SSE

extension FaultDecoder {
    /// Keys allowed besides `mode`, per mode.
    static let corruptModes: [(mode: String, keys: [String])] = [
        ("truncate", ["at_byte", "fraction", "terminate"]), ("remove_terminator", []), ("mangle_field", ["field", "to"]),
        ("invalid_utf8", ["bytes"]), ("break_json", []), ("line_ends", ["to"]), ("bom", []), ("oversized", ["bytes"]),
        ("garbage", ["length"]), ("nul_comment", []),
    ]

    static let corrupt = FaultDecoder(
        name: "corrupt", keys: ["mode"] + Array(Set(corruptModes.flatMap(\.keys))).sorted()
    ) { m throws(ProfileError) in
        let modeValue = try m.required("mode")
        let mode = try modeValue.string()
        guard let keys = corruptModes.first(where: { $0.mode == mode })?.keys else {
            throw modeValue.error("expected one of: \(corruptModes.map(\.mode).joined(separator: ", ")); found \(modeValue.found)")
        }
        var inner = m
        inner.what = "corrupt (mode \(mode))"
        try inner.check(allowed: ["mode"] + keys + FaultDecoder.commonKeys)
        switch mode {
        case "truncate":
            let (key, v) = try inner.exactlyOne(of: ["at_byte", "fraction"])
            let cut: CorruptFault.Cut =
                key == "at_byte"
                ? .atByte(try v.int(in: 1...Int.max))
                : .fraction(try v.double("a fraction between 0 and 1 (exclusive)") { $0 > 0 && $0 < 1 })
            return .corrupt(CorruptFault(.truncate(cut, terminate: try m["terminate"]?.bool() ?? false)))
        case "remove_terminator": return .corrupt(CorruptFault(.removeTerminator))
        case "mangle_field":
            return .corrupt(CorruptFault(.mangleField(field: try m["field"]?.string() ?? "data", to: try m["to"]?.string())))
        case "invalid_utf8":
            var bytes = Malformed.invalidUTF8
            if let b = m["bytes"] {
                bytes = []
                for v in try b.list("byte values") { bytes.append(UInt8(try v.int(in: 0...255))) }
                guard !bytes.isEmpty else { throw b.error("expected at least one byte value, found an empty list") }
            }
            return .corrupt(CorruptFault(.invalidUTF8(bytes: bytes)))
        case "break_json": return .corrupt(CorruptFault(.breakJSON))
        case "line_ends":
            let v = try inner.required("to")
            guard let style = Malformed.LineEnd(rawValue: try v.string()) else {
                throw v.error("expected one of: lf, cr, crlf, mixed; found \(v.found)")
            }
            return .corrupt(CorruptFault(.lineEnds(style)))
        case "bom": return .corrupt(CorruptFault(.bom))
        case "oversized": return .corrupt(CorruptFault(.oversized(bytes: try m["bytes"]?.int(in: 1...(64 << 20)) ?? (1 << 20))))
        case "garbage": return .corrupt(CorruptFault(.garbage(length: try m["length"]?.int(in: 1...(1 << 20)) ?? 16)))
        default: return .corrupt(CorruptFault(.nulComment))
        }
    }
}
