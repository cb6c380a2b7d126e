import Faults

extension FaultDecoder {
    static let stripIDs = FaultDecoder(name: "strip_ids", keys: []) { _ throws(ProfileError) in .stripIDs(StripIDsFault()) }
}
