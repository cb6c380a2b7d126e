import Faults

extension FaultDecoder {
    static let disconnect = FaultDecoder(name: "disconnect", keys: triggerKeys + ["at_byte", "kind"]) {
        m throws(ProfileError) in
        var kind = CloseKind.rst
        if let k = m["kind"] {
            switch try k.string() {
            case "rst": kind = .rst
            case "fin": kind = .fin
            case "half_close": kind = .halfClose
            default: throw k.error("expected one of: rst, fin, half_close; found \(k.found)")
            }
        }
        return .disconnect(DisconnectFault(try decodeTrigger(m), kind: kind))
    }
}
