import Foundation
import Logging

/// A small, fast, seedable generator (SplitMix64), so that a failing run is reproducible from the
/// seed it prints.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// The sequence of `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    public mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    /// True with the given probability.
    public mutating func chance(_ probability: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < probability }
    /// One of `items`, which must not be empty.
    public mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// The seed of this run of a randomized test: `HERALD_TEST_SEED` when set, a new random one
    /// otherwise. Printed either way, so that any failure of the run can be replayed with
    /// `HERALD_TEST_SEED=<seed> swift test --filter <test>`. A case a random run finds belongs in
    /// the fixed cases too (`RuleFixtures.semanticsCases`), where every run checks it.
    public static func runSeed(_ test: String = #function) -> UInt64 {
        let seed: UInt64
        if let text = ProcessInfo.processInfo.environment[seedVariable], let given = UInt64(text) {
            seed = given
        } else {
            seed = UInt64.random(in: 0...UInt64.max)
        }
        Logger(label: "herald.test").notice("\(test): seed \(seed) (rerun with \(seedVariable)=\(seed))")
        return seed
    }

    /// The environment variable that fixes the seed.
    public static let seedVariable = "HERALD_TEST_SEED"
}
