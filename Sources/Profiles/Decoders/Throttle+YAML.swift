import Faults

extension FaultDecoder {
    static let throttle = FaultDecoder(name: "throttle", keys: ["bytes_per_second", "slice_bytes", "pause"]) {
        m throws(ProfileError) in
        let (key, v) = try m.exactlyOne(of: ["bytes_per_second", "slice_bytes"])
        if key == "bytes_per_second" {
            if let p = m["pause"] { throw p.error("pause goes with slice_bytes, not bytes_per_second") }
            return .throttle(ThrottleFault(.bytesPerSecond(try v.int(in: 1...Int.max))))
        }
        return .throttle(ThrottleFault(.drip(bytes: try v.int(in: 1...Int.max), pause: try m.required("pause").nanos())))
    }
}
