import Foundation

extension Duration {
    /// The duration in seconds, as Foundation's `TimeInterval`, for arithmetic with `Date`.
    public var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }

    /// A duration of `interval` seconds (at millisecond precision); negative intervals are zero.
    public static func interval(_ interval: TimeInterval) -> Duration {
        .milliseconds(Int64((max(interval, 0) * 1000).rounded(.up).clamped(to: 0...9e15)))
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}
