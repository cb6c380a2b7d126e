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
