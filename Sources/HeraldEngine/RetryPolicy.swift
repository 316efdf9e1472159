import Foundation
import HeraldCore

/// Decides what a transport outcome means for a notification: sent, retried later, or finished.
///
/// A pure value: no clock and no randomness of its own, so it is tested without I/O. Backoff is
/// exponential from `initial`, capped at `maximum`, with "full jitter" scaled by the `jitter`
/// fraction the caller passes (0 ≤ jitter < 1); a provider's Retry-After wins when given.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initial: Duration
    public var maximum: Duration

    /// The longest delay between two attempts, whatever the configuration says: 30 days.
    static let longestDelay: Double = 30 * 86_400

    public init(maxAttempts: Int = 8, initial: Duration = .seconds(2), maximum: Duration = .seconds(1800)) {
        self.maxAttempts = maxAttempts
        self.initial = initial
        self.maximum = maximum
    }

    public init(_ configuration: RetryConfiguration) {
        self.init(maxAttempts: configuration.maxAttempts, initial: configuration.initial.duration, maximum: configuration.max.duration)
    }

    /// The delay before attempt `attempt + 1`, after attempt `attempt` failed.
    public func backoff(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let initialSeconds = Double(initial.components.seconds)
        let maximumSeconds = Double(maximum.components.seconds)
        let exponent = Double(max(0, min(attempt - 1, 40)))
        let ceiling = min(maximumSeconds, initialSeconds * pow(2, exponent))
        // Half fixed, half jittered: never zero, and spread so that retries do not arrive together.
        let seconds = ceiling / 2 + ceiling / 2 * min(max(jitter, 0), 1)
        // Bounded so that an absurd `retry.max` cannot overflow the conversion.
        return .milliseconds(Int64(min(seconds, RetryPolicy.longestDelay) * 1000))
    }

    /// The resolution of one outcome of attempt `message.attempt`.
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
        case .retry(let after, let reason):
            return retry(message, after: after, reason: reason, now: now, jitter: jitter)
        case .misconfigured(let reason):
            // Retried like a temporary failure: an operator can fix credentials before the
            // attempts run out, and nothing is lost meanwhile.
            return retry(message, after: nil, reason: "misconfigured: \(reason)", now: now, jitter: jitter)
        }
    }

    private func retry(_ message: OutboundMessage, after: Duration?, reason: String, now: Date, jitter: Double) -> DeliveryResolution {
        guard message.attempt < maxAttempts else {
            return .dead(reason: "gave up after \(message.attempt) attempts: \(reason)")
        }
        let delay = after ?? backoff(afterAttempt: message.attempt, jitter: jitter)
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        return .retry(at: now.addingTimeInterval(seconds), reason: reason)
    }
}
