import Foundation

/// Durations counted in buckets 5% wide (from 10 µs to about ten minutes), so that a process
/// that runs for days can say its percentiles in constant memory: a percentile it gives is at
/// most 5% above the true one.
public struct LatencyHistogram: Sendable, Hashable {
    static let smallest = 0.000_01
    static let growth = 1.05
    static let bucketCount = 370

    private var counts = [Int](repeating: 0, count: LatencyHistogram.bucketCount)
    /// Durations recorded.
    public private(set) var count = 0
    /// The longest duration recorded, exactly.
    public private(set) var maximum: Duration = .zero

    public init() {}

    public mutating func record(_ duration: Duration) {
        counts[Self.bucket(of: duration.timeInterval)] += 1
        count += 1
        maximum = max(maximum, duration)
    }

    /// The duration under which a `fraction` (0...1) of the recorded ones fall, as the upper
    /// edge of its bucket (never above the maximum); nil when nothing was recorded.
    public func percentile(_ fraction: Double) -> Duration? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (bucket, bucketCount) in counts.enumerated() {
            seen += bucketCount
            // The last bucket takes everything longer too: its edge is the maximum.
            if seen >= rank { return bucket == Self.bucketCount - 1 ? maximum : min(.seconds(Self.upperEdge(of: bucket)), maximum) }
        }
        return maximum
    }

    static func bucket(of seconds: Double) -> Int {
        guard seconds > smallest else { return 0 }
        let index = Int((log(seconds / smallest) / log(growth)).rounded(.up))
        return min(max(index, 0), bucketCount - 1)
    }

    static func upperEdge(of bucket: Int) -> Double {
        smallest * pow(growth, Double(bucket))
    }
}
