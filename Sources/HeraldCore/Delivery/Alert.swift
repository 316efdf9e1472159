import Foundation

/// One incident of a channel in trouble, as it is logged and posted: a condition of
/// ``AlertsConfiguration`` that started (or ended) for a channel, or for one of its providers.
public struct Alert: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Too many attempts failed over the window.
        case failureRate = "failure_rate"
        /// Too many notifications were dead-lettered over the window.
        case deadLetters = "dead_letters"
        /// A due notification has waited too long.
        case oldestDue = "oldest_due"
        /// A provider cannot send as configured (refused credentials, a bad sender).
        case misconfigured
        /// A provider's circuit breaker has stayed open too long.
        case breakerOpen = "breaker_open"
    }

    public enum Severity: String, Sendable, Hashable, Comparable {
        /// Delivery is slowed or partly failing.
        case warning
        /// Delivery on the channel or through a provider is failing or stopped.
        case critical

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            lhs == .warning && rhs == .critical
        }
    }

    /// What identifies an incident: at most one is open per key.
    public struct Key: Sendable, Hashable {
        public var kind: Kind
        public var channel: Channel
        /// Set for `misconfigured` and `breakerOpen`, `nil` for the channel-wide kinds.
        public var provider: String?

        public init(kind: Kind, channel: Channel, provider: String? = nil) {
            self.kind = kind
            self.channel = channel
            self.provider = provider
        }
    }

    public var kind: Kind
    public var channel: Channel
    public var provider: String?
    /// One sentence that says what is wrong (or that it cleared), with the numbers and the
    /// threshold: `sms: 34% of 210 attempts failed in the last 5m (threshold 20%)`.
    public var message: String
    public var severity: Severity
    /// When the incident started.
    public var startedAt: Date
    /// When this was observed: the start for a fired alert, the end for a resolved one.
    public var at: Date

    public init(kind: Kind, channel: Channel, provider: String? = nil, message: String, severity: Severity, startedAt: Date, at: Date) {
        self.kind = kind
        self.channel = channel
        self.provider = provider
        self.message = message
        self.severity = severity
        self.startedAt = startedAt
        self.at = at
    }

    public var key: Key { Key(kind: kind, channel: channel, provider: provider) }
}

/// What the alert monitor asks its caller to do: say that an incident started, or that it ended.
public enum AlertAction: Sendable, Hashable {
    /// An incident started: log an error and post it.
    case fire(Alert)
    /// An incident that was fired has cleared: log a notice and post the recovery.
    case resolve(Alert)

    public var alert: Alert {
        switch self {
        case .fire(let alert), .resolve(let alert): alert
        }
    }

    /// `fired` or `resolved`, as in a webhook's body.
    public var event: String {
        switch self {
        case .fire: "fired"
        case .resolve: "resolved"
        }
    }
}
