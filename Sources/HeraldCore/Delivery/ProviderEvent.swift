import Foundation

/// One thing a provider reported about a message, from its webhook.
public struct ProviderEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The provider accepted it for delivery (Twilio `sent`, SendGrid `processed`): nothing new.
        case accepted
        case delivered
        /// Not delivered for now; the provider retries (SendGrid `deferred`).
        case deferred
        /// Not delivered, for good: `hard` bounces turn the channel off for the user.
        case bounced(hard: Bool)
        /// The provider did not send it (SendGrid `dropped`, Twilio `undelivered`/`failed`).
        case dropped
        /// The recipient reported it as spam: an opt-out.
        case complained
        /// The recipient unsubscribed through the provider's own link.
        case unsubscribed
        /// Opened; `machine` when a privacy proxy fetched the pixel, not a person.
        case opened(machine: Bool)
        case clicked(url: String)
    }

    /// How the webhook names the message.
    public enum Target: Sendable, Hashable {
        case notification(Int64)
        case providerMessage(String)
        /// A tracking link's notification, by its structural key.
        case key(NotificationKey)
    }

    public var target: Target
    public var kind: Kind
    /// The provider kind (`sendgrid`, `twilio`, `mandrill`), for the trail and the dedupe key.
    public var provider: String
    /// Unique per event for the provider: a repeat of it changes nothing.
    public var eventKey: String
    public var at: Date
    /// What the provider said (a bounce reason), without addresses.
    public var detail: String?

    public init(target: Target, kind: Kind, provider: String, eventKey: String, at: Date, detail: String? = nil) {
        self.target = target
        self.kind = kind
        self.provider = provider
        self.eventKey = eventKey
        self.at = at
        self.detail = detail
    }
}

/// What applying a webhook's events did.
public struct WebhookSummary: Sendable, Hashable {
    public var applied = 0
    /// Seen before (a retry or a replay): nothing recorded.
    public var repeated = 0
    /// About no notification Herald knows (sent by another system, or erased).
    public var unknown = 0

    public init() {}
}

