import Faults

extension FaultDecoder {
    static let delay = FaultDecoder(name: "delay", keys: ["latency", "jitter", "first_byte", "connect"]) {
        m throws(ProfileError) in
        guard m.keys.contains(where: { ["latency", "jitter", "first_byte", "connect"].contains($0) }) else {
            throw m.value.error("delay needs at least one of: latency, jitter, first_byte, connect; found none")
        }
        return .delay(
            DelayFault(
                latency: try m["latency"]?.nanos() ?? 0, jitter: try m["jitter"].map(decodeJitter),
                firstByte: try m["first_byte"]?.nanos() ?? 0, connect: try m["connect"]?.nanos() ?? 0))
    }

    static let jitterKeys: [String: [String]] = [
        "uniform": ["min", "max"], "normal": ["mean", "sigma"], "lognormal": ["median", "sigma"],
        "pareto": ["scale", "shape", "cap"],
    ]

    /// `{ distribution: uniform|normal|lognormal|pareto, …parameters }`
    static func decodeJitter(_ v: YAMLValue) throws(ProfileError) -> Jitter {
        let m = try v.map("jitter")
        let d = try m.required("distribution")
        let name = try d.string()
        guard let keys = jitterKeys[name] else {
            throw d.error("expected one of: uniform, normal, lognormal, pareto; found \(d.found)")
        }
        var inner = m
        inner.what = "jitter (\(name))"
        try inner.check(allowed: ["distribution"] + keys)
        switch name {
        case "uniform":
            let lo = try m["min"]?.nanos() ?? 0
            let hiValue = try inner.required("max")
            let hi = try hiValue.nanos()
            guard hi >= lo else { throw hiValue.error("expected max ≥ min (\(formatNanos(lo))), found \(formatNanos(hi))") }
            return .uniform(min: lo, max: hi)
        case "normal":
            return .normal(
                mean: try m["mean"]?.duration(allowNegative: true) ?? 0, sigma: try inner.required("sigma").duration())
        case "lognormal":
            return .lognormal(
                median: try inner.required("median").nanos(),
                sigma: try inner.required("sigma").double("a positive number (the spread of ln(delay))") { $0 > 0 })
        default:
            return .pareto(
                scale: try inner.required("scale").nanos(),
                shape: try inner.required("shape").double("a positive number (α; smaller is heavier-tailed)") { $0 > 0 },
                cap: try m["cap"]?.nanos() ?? 60_000_000_000)
        }
    }
}
