import Faults

extension FaultDecoder {
    static let buffer = FaultDecoder(name: "buffer", keys: ["every_events", "every_bytes", "every", "until_end"]) {
        m throws(ProfileError) in
        let (key, v) = try m.exactlyOne(of: ["every_events", "every_bytes", "every", "until_end"])
        switch key {
        case "every_events": return .buffer(BufferFault(release: .everyEvents(try v.int(in: 1...Int.max))))
        case "every_bytes": return .buffer(BufferFault(release: .everyBytes(try v.int(in: 1...Int.max))))
        case "every":
            let t = try v.nanos()
            guard t > 0 else { throw v.error("expected a duration above 0, found 0") }
            return .buffer(BufferFault(release: .every(t)))
        default:
            try v.trueFlag()
            return .buffer(BufferFault(release: .atEnd))
        }
    }
}
