#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A random extra wait, drawn from the connection's seeded source.
public enum Jitter: Sendable, Equatable {
    /// Uniform in [min, max].
    case uniform(min: Nanos, max: Nanos)
    /// Normal with `mean` and standard deviation `sigma` (the total wait is clamped at 0).
    case normal(mean: Double, sigma: Double)
    /// Log-normal: `median · e^(sigma·Z)`; heavy right tail, never negative.
    case lognormal(median: Nanos, sigma: Double)
    /// Pareto with scale x_m and shape α: `scale / U^(1/α)`, capped at `cap`.
    case pareto(scale: Nanos, shape: Double, cap: Nanos)

    /// One draw, in nanoseconds (may be negative for `normal`).
    public func sample(_ rng: inout SplitMix64) -> Double {
        switch self {
        case .uniform(let lo, let hi):
            return Double(lo) + rng.nextUnit() * Double(hi - lo)
        case .normal(let mean, let sigma):
            return mean + sigma * Jitter.standardNormal(&rng)
        case .lognormal(let median, let sigma):
            return Double(median) * exp(sigma * Jitter.standardNormal(&rng))
        case .pareto(let scale, let shape, let cap):
            let u = 1 - rng.nextUnit()  // (0, 1]
            return Swift.min(Double(scale) / pow(u, 1 / shape), Double(cap))
        }
    }

    /// Box–Muller, one value per call (two uniforms).
    static func standardNormal(_ rng: inout SplitMix64) -> Double {
        let u1 = 1 - rng.nextUnit()
        let u2 = rng.nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// Adds a non-negative double of nanoseconds to a time, clamping at 0 and at the maximum.
func clampedNanos(_ x: Double) -> Nanos {
    if !(x > 0) { return 0 }
    if x >= 1.8e19 { return Nanos.max / 2 }
    return Nanos(x.rounded())
}

extension Jitter {
    static let distributionKeys: [(name: String, keys: [String])] = [
        ("uniform", ["min", "max"]), ("normal", ["mean", "sigma"]), ("lognormal", ["median", "sigma"]),
        ("pareto", ["scale", "shape", "cap"]),
    ]

    /// `{ distribution: uniform|normal|lognormal|pareto, …parameters }`
    static func decode<V: SettingsValue>(_ v: V) throws(V.Failure) -> Jitter {
        let m = try v.map("jitter")
        let d = try m.required("distribution")
        let name = try d.string("a string")
        guard let keys = distributionKeys.first(where: { $0.name == name })?.keys else {
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
                mean: try m["mean"]?.duration(allowNegative: true) ?? 0,
                sigma: try inner.required("sigma").duration(allowNegative: false))
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

    /// One alternative per distribution, each with only its own parameters.
    static let schema: JSONValue = [
        "type": "object",
        "required": ["distribution"],
        "oneOf": [
            [
                "properties": ["distribution": ["const": "uniform"], "min": Schema.duration, "max": Schema.duration],
                "required": ["max"], "additionalProperties": false,
            ],
            [
                "properties": ["distribution": ["const": "normal"], "mean": Schema.signedDuration, "sigma": Schema.duration],
                "required": ["sigma"], "additionalProperties": false,
            ],
            [
                "properties": [
                    "distribution": ["const": "lognormal"], "median": Schema.duration, "sigma": Schema.number(exclusiveMin: 0),
                ],
                "required": ["median", "sigma"], "additionalProperties": false,
            ],
            [
                "properties": [
                    "distribution": ["const": "pareto"], "scale": Schema.duration, "shape": Schema.number(exclusiveMin: 0),
                    "cap": Schema.duration,
                ],
                "required": ["scale", "shape"], "additionalProperties": false,
            ],
        ],
    ]
}
