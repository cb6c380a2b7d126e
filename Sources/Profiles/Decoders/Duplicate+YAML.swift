import Faults

extension FaultDecoder {
    static let duplicate = FaultDecoder(name: "duplicate", keys: ["copies"]) { m throws(ProfileError) in
        .duplicate(DuplicateFault(copies: try m["copies"]?.int(in: 1...100) ?? 1))
    }
}
