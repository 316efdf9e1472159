/// SplitMix64 (Steele, Lea and Flood, "Fast Splittable Pseudorandom Number Generators",
/// OOPSLA 2014; constants as in Vigna's reference `splitmix64.c`): a 64-bit state advanced by the
/// golden-ratio increment and scrambled by two xor-shift-multiply rounds.
///
/// Used for synthetic data, never for secrets. Unlike `SystemRandomNumberGenerator`, or the
/// standard library's `random(in:using:)` whose algorithm may change between Swift releases,
/// every operation here is specified integer or exact floating-point arithmetic, so one seed gives
/// the same numbers on every machine and every Swift version.
public struct SplitMix64: Sendable, Hashable {
    /// The golden-ratio increment, 2^64 / φ, odd.
    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The current state; the next output is `mix(state + increment)`.
    public private(set) var state: UInt64

    /// A generator whose first output is `mix(seed + increment)`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// The SplitMix64 finalizer: a bijection on 64-bit values with good avalanche, also used to
    /// derive independent seeds (one per generated user) from a seed and an index.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` by Lemire's multiply-shift (without the rejection step,
    /// whose bias below 2^-40 for the small bounds used here does not matter for test data).
    /// `bound` must be positive; a non-positive bound gives 0.
    public mutating func next(below bound: Int) -> Int {
        guard bound > 0 else { return 0 }
        return Int(truncatingIfNeeded: UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// A uniform integer in `range`.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + next(below: range.upperBound - range.lowerBound + 1)
    }

    /// A uniform double in `0..<1`, from the top 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with the given probability.
    public mutating func chance(_ probability: Double) -> Bool {
        nextUnit() < probability
    }
}
