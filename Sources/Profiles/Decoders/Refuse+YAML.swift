import Faults

extension FaultDecoder {
    static let refuse = FaultDecoder(name: "refuse", keys: []) { _ throws(ProfileError) in .refuse(RefuseFault()) }
}
