import Faults

extension FaultDecoder {
    static let retry = FaultDecoder(name: "retry", keys: ["value", "inject"]) { m throws(ProfileError) in
        let v = try m.required("value")
        let value = try v.string("a retry value (digits, or anything bogus)")
        guard !value.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw v.error("expected a value on one line, found a line break")
        }
        return .retry(RetryFault(value: value, inject: try m["inject"]?.bool() ?? true))
    }
}
