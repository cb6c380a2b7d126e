import Faults

extension FaultDecoder {
    static let reorder = FaultDecoder(name: "reorder", keys: ["distance"]) { m throws(ProfileError) in
        .reorder(ReorderFault(distance: try m["distance"]?.int(in: 1...1000) ?? 1))
    }
}
