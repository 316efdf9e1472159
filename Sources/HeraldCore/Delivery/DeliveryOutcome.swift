import Foundation

/// What a transport says about one send. The recorder turns it into the next state.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The provider took the message; `providerMessageID` identifies it in webhooks.
    case accepted(providerMessageID: String)
    /// A temporary failure; try again, after `after` when the provider said so (Retry-After).
    case retry(after: Duration?, reason: String)
    /// A permanent failure for this message (bad payload, content refused).
    case rejected(reason: String)
    /// The address no longer exists (unregistered token, invalid number); the device is deactivated.
    case deadAddress(reason: String)
    /// The provider says the recipient opted out (e.g. SMS STOP).
    case optedOut(reason: String)
    /// Herald's configuration is wrong (bad credentials); retrying will not help until it is fixed.
    case misconfigured(reason: String)
}

/// One message handed to a transport: where to, what, and on whose behalf.
public struct OutboundMessage: Sendable, Hashable {
    public var notificationID: Int64
    public var campaignID: String
    public var userID: String
    public var channel: Channel
    /// The provider name from herald.yml that should carry it.
    public var provider: String
    /// Email address, E.164 phone, or device token / web push endpoint.
    public var address: String
    /// For web push: the subscription keys.
    public var subscription: WebPushSubscription?
    public var content: NotificationContent
    /// 1 for the first try.
    public var attempt: Int

    public init(
        notificationID: Int64, campaignID: String, userID: String, channel: Channel,
        provider: String, address: String, subscription: WebPushSubscription? = nil,
        content: NotificationContent, attempt: Int
    ) {
        self.notificationID = notificationID
        self.campaignID = campaignID
        self.userID = userID
        self.channel = channel
        self.provider = provider
        self.address = address
        self.subscription = subscription
        self.content = content
        self.attempt = attempt
    }
}

/// Sends messages of one channel through one provider.
///
/// A transport never throws: every failure is classified into a ``DeliveryOutcome`` so that the
/// recorder decides retries in one place.
public protocol Transport: Sendable {
    /// The provider name in herald.yml (`sendgrid`, `twilio`, …).
    var name: String { get }
    func send(_ message: OutboundMessage) async -> DeliveryOutcome
}

/// The source of the current instant. Domain logic asks it instead of calling `Date()`, so that
/// tests control time.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}
