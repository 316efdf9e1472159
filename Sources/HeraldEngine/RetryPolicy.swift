import Foundation
import HeraldCore

/// Decides what a transport outcome means for a notification: sent, retried later, or finished.
///
/// A pure value: no clock and no randomness of its own, so it is tested without I/O. The caller
/// passes the time and a jitter fraction (0 ≤ jitter ≤ 1; the dispatcher derives it from the
/// notification and the attempt, so that runs repeat).
///
/// Backoff is exponential with *full jitter* (AWS, "Exponential Backoff And Jitter"): after attempt
/// `n` failed, the delay is spread uniformly between a small floor and the ceiling
/// `min(maximum, initial · 2^(n-1))`, so that a batch that failed together does not come back
/// together. A provider's Retry-After is honoured when it is longer than that delay.
///
/// ```swift
/// let policy = RetryPolicy(maxAttempts: 8, initial: .seconds(2), maximum: .seconds(1800))
/// policy.backoff(afterAttempt: 3, jitter: 0.5)   // ceiling 8 s: 0.08 + 7.92 × 0.5 = 4.04 s
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts before a temporary failure becomes `dead`. Default 8 (herald.yml `retry.max_attempts`).
    public var maxAttempts: Int
    /// The backoff ceiling after the first failed attempt; it doubles per attempt. Default 2 s.
    public var initial: Duration
    /// The largest backoff ceiling. Default 30 minutes.
    public var maximum: Duration
    /// How long a notification waits after its provider answered `.misconfigured` (bad credentials,
    /// unknown sender): time for an operator to fix herald.yml. Default 5 minutes.
    ///
    /// Such a retry does not count against `maxAttempts` (it never becomes `dead`): the dispatcher
    /// gives the attempt back when it records the resolution, because the message itself never
    /// had a chance.
    public var misconfiguredPause: Duration

    /// The longest delay between two attempts, whatever the configuration says: 30 days.
    static let longestDelay: Double = 30 * 86_400
    /// The backoff is never below 1% of its ceiling, nor below 100 ms when the ceiling allows it:
    /// a full-jitter delay of 0 would retry at once, in the same instant as the failure.
    static let floorFraction: Double = 0.01
    static let floorSeconds: Double = 0.1

    /// A policy; every parameter has the default documented on its property.
    public init(
        maxAttempts: Int = 8, initial: Duration = .seconds(2), maximum: Duration = .seconds(1800),
        misconfiguredPause: Duration = .seconds(300)
    ) {
        self.maxAttempts = maxAttempts
        self.initial = initial
        self.maximum = maximum
        self.misconfiguredPause = misconfiguredPause
    }

    /// The policy of herald.yml's `retry:` section; `misconfiguredPause` keeps its default.
    public init(_ configuration: RetryConfiguration) {
        self.init(maxAttempts: configuration.maxAttempts, initial: configuration.initial.duration, maximum: configuration.max.duration)
    }

    /// The longest backoff after attempt `attempt` failed: `min(maximum, initial · 2^(attempt-1))`,
    /// and never more than 30 days.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        .microseconds(Int64((ceilingSeconds(afterAttempt: attempt) * 1e6).rounded()))
    }

    /// The delay before attempt `attempt + 1`, after attempt `attempt` failed: full jitter.
    ///
    /// `floor + (ceiling - floor) · jitter`, where `floor = min(1% of ceiling, 100 ms)`: jitter 0
    /// gives the floor (never 0 unless `initial` is 0), jitter 1 the ceiling. A jitter outside
    /// 0…1 is clamped. Microsecond precision.
    public func backoff(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let ceiling = ceilingSeconds(afterAttempt: attempt)
        let floor = min(ceiling * RetryPolicy.floorFraction, RetryPolicy.floorSeconds)
        let fraction = jitter.isNaN ? 0 : min(max(jitter, 0), 1)
        let seconds = floor + (ceiling - floor) * fraction
        return .microseconds(Int64((seconds * 1e6).rounded()))
    }

    /// The resolution of one outcome of attempt `message.attempt`.
    ///
    /// - `.retry(after:)` and `.throttled(after:)`: retried after the longer of the backoff and the provider's Retry-After
    ///   (a short Retry-After does not bring a whole failed batch back at once); `dead` once
    ///   `maxAttempts` attempts are used.
    /// - `.misconfigured`: retried after `misconfiguredPause`, never `dead`; the dispatcher gives
    ///   the attempt back (see ``misconfiguredPause``).
    /// - everything else is final.
    public func resolve(_ outcome: DeliveryOutcome, of message: OutboundMessage, at now: Date, jitter: Double) -> DeliveryResolution {
        switch outcome {
        case .accepted(let providerMessageID):
            return .sent(providerMessageID: providerMessageID, provider: message.provider)
        case .rejected(let reason):
            return .failed(reason: reason)
        case .deadAddress(let reason):
            return .failed(reason: reason, deactivateAddress: true)
        case .optedOut(let reason):
            return .optedOutAtProvider(reason: reason)
        case .retry(let after, let reason), .throttled(let after, let reason):
            return retry(message, after: after, reason: reason, now: now, jitter: jitter)
        case .misconfigured(let reason):
            // Herald's fault, not the message's: waiting for an operator must not use up the
            // attempts, or a long credentials outage would kill every queued notification.
            return .retry(at: now.addingTimeInterval(Self.seconds(misconfiguredPause)), reason: "misconfigured: \(reason)")
        }
    }

    private func retry(_ message: OutboundMessage, after: Duration?, reason: String, now: Date, jitter: Double) -> DeliveryResolution {
        guard message.attempt < maxAttempts else {
            return .dead(reason: "gave up after \(message.attempt) attempts: \(reason)")
        }
        let backoffSeconds = Self.seconds(backoff(afterAttempt: message.attempt, jitter: jitter))
        let delay = max(backoffSeconds, min(after.map(Self.seconds) ?? 0, RetryPolicy.longestDelay))
        return .retry(at: now.addingTimeInterval(delay), reason: reason)
    }

    private func ceilingSeconds(afterAttempt attempt: Int) -> Double {
        let exponent = Double(max(0, min(attempt - 1, 40)))
        let ceiling = min(Self.seconds(maximum), Self.seconds(initial) * pow(2, exponent))
        // Bounded so that an absurd `retry.max` cannot overflow the conversion.
        return max(0, min(ceiling, RetryPolicy.longestDelay))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
