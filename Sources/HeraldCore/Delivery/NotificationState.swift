/// Where a notification is in its life. `sent`, `delivered`, `failed`, `dead` and `skipped` are
/// terminal: every (occurrence, recipient, channel) ends in exactly one of them (DESIGN.md,
/// invariant 1).
public enum NotificationState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Rendered and waiting in the outbox (also after a retry was scheduled).
    case planned
    /// Claimed by a dispatcher and handed to a provider; may be repeated only after a crash.
    case sending
    /// Accepted by the provider.
    case sent
    /// Confirmed delivered by a provider webhook.
    case delivered
    /// Permanently rejected.
    case failed
    /// Gave up after the last retry.
    case dead
    /// Not sent, for the reason recorded with it.
    case skipped

    public var isTerminal: Bool {
        switch self {
        case .planned, .sending: false
        case .sent, .delivered, .failed, .dead, .skipped: true
        }
    }
}

/// Why a notification was not sent. Stable strings: they are stored and reported.
public enum SkipReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// No email, phone or active device for the channel.
    case noAddress = "no_address"
    /// The user opted out of the channel or the category.
    case optedOut = "opted_out"
    /// `delivery: first_available` already reached the user on an earlier channel.
    case notNeeded = "not_needed"
    /// Past `expires_after`.
    case expired
    /// A frequency cap was full.
    case capped
    /// In quiet hours with `then: drop`.
    case quietHours = "quiet_hours"
    /// The template could not be rendered for this recipient.
    case renderFailed = "render_failed"
    /// No provider is configured for the channel or device platform.
    case noProvider = "no_provider"
    /// The user was deleted (GDPR erasure) while the notification waited in the outbox.
    case userDeleted = "user_deleted"
    /// The content is over a limit of the provider that would carry it (payload size, SMS
    /// length): found when an API send is planned (a campaign's is refused at send time).
    case overLimit = "over_limit"
    /// In the campaign's holdout: would have been sent, and is kept to compare against.
    case holdout
}

/// What happened to a notification, appended to the event trail in the same transaction as the
/// state change it records.
public enum DeliveryEventType: String, Sendable, Hashable, Codable, CaseIterable {
    case planned
    case skipped
    /// Planned, but a template variable was missing and rendered empty.
    case renderWarning = "render_warning"
    case sending
    /// A send that was in flight when its lease expired (a crash) was claimed again.
    case reclaimed
    /// An outcome that arrived after another dispatcher had taken the claim over; recorded,
    /// not applied.
    case lateOutcome = "late_outcome"
    /// Given back to the outbox without an outcome at a graceful shutdown.
    case released
    /// Put off without counting an attempt: the provider is misconfigured, or its circuit
    /// breaker is open and the channel has no provider to fail over to.
    case postponed
    /// A provider could not take the message (a temporary failure: an error, a timeout, its
    /// misconfiguration) and it went on at once to the next provider of the channel's failover
    /// order; the detail names the provider and its answer. One per provider passed over,
    /// recorded with the outcome.
    case failedOver = "failed_over"
    case sent
    case retryScheduled = "retry_scheduled"
    case failed
    case dead
    case delivered
    case opened
    case clicked
    case unsubscribed
    /// A dead notification put back in the outbox by an operator (`herald dead-letter retry`),
    /// with a fresh set of attempts.
    case requeued
    /// A dead notification closed as `failed` by an operator (`herald dead-letter discard`).
    case discarded
}
