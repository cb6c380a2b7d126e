import Faults

extension FaultDecoder {
    static let stall = FaultDecoder(name: "stall", keys: triggerKeys + ["at_byte", "duration"]) { m throws(ProfileError) in
        .stall(StallFault(try decodeTrigger(m), duration: try m["duration"]?.nanos()))
    }
}
