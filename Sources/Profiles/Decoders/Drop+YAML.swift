import Faults

extension FaultDecoder {
    static let drop = FaultDecoder(name: "drop", keys: ["every_nth", "heartbeats_only"]) { m throws(ProfileError) in
        .drop(DropFault(everyNth: try m["every_nth"]?.int(in: 1...Int.max), heartbeatsOnly: try m["heartbeats_only"]?.bool() ?? false))
    }
}
