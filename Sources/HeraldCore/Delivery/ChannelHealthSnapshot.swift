import Foundation

/// What a channel's delivery looked like at one check, for ``AlertsConfiguration``'s thresholds:
/// counts over the alert window, the age of the oldest due notification, and each provider's
/// state.
///
/// The delivery workers build one per channel and check; the alert monitor keeps no counters of
/// its own, so the counts are whatever the store or the workers measured over the window.
public struct ChannelHealthSnapshot: Sendable, Hashable {
    /// One provider of the channel.
    public struct Provider: Sendable, Hashable {
        /// The provider's name in herald.yml, e.g. `twilio`.
        public var name: String
        /// Why the provider cannot send (a refused credential, a missing setting), or `nil` when
        /// nothing says it is misconfigured. No secrets: this goes into a webhook.
        public var misconfigured: String?
        /// When its circuit breaker opened; `nil` while it is closed (or half-open and probing).
        public var breakerOpenSince: Date?
        /// Whether the process looking has heard from the provider (sent through it) yet. A
        /// provider it has not heard from tells it nothing: its incidents, perhaps opened by
        /// another process that did, are neither fired nor cleared on its word. Default true.
        public var hasAnswered: Bool

        public init(name: String, misconfigured: String? = nil, breakerOpenSince: Date? = nil, hasAnswered: Bool = true) {
            self.name = name
            self.misconfigured = misconfigured
            self.breakerOpenSince = breakerOpenSince
            self.hasAnswered = hasAnswered
        }
    }

    public var channel: Channel
    /// Send attempts that ended in the window, whatever their outcome.
    public var attempts: Int
    /// Those of `attempts` that failed: a retry, the last attempt, a send the provider failed for
    /// good (a refused message, a dead address). Not opt-outs, which are skipped, not failed.
    public var failures: Int
    /// Notifications dead-lettered (no attempts left) in the window.
    public var deadLetters: Int
    /// How long, in seconds, the oldest notification that is due and not yet sent has waited past
    /// its due time; `nil` when none is due.
    public var oldestDueAge: TimeInterval?
    public var providers: [Provider]

    public init(
        channel: Channel, attempts: Int = 0, failures: Int = 0, deadLetters: Int = 0, oldestDueAge: TimeInterval? = nil,
        providers: [Provider] = []
    ) {
        self.channel = channel
        self.attempts = attempts
        self.failures = failures
        self.deadLetters = deadLetters
        self.oldestDueAge = oldestDueAge
        self.providers = providers
    }
}
