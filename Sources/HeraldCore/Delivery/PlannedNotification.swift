import Foundation

/// The identity of one planned send of a campaign: a campaign at one fire instant.
public struct Occurrence: Sendable, Hashable {
    public var id: Int64
    public var campaignID: String
    public var fireAt: Date
    public var definitionHash: String
    /// False when the occurrence already existed (it was planned before, maybe partly).
    public var isNew: Bool

    public init(id: Int64, campaignID: String, fireAt: Date, definitionHash: String, isNew: Bool) {
        self.id = id
        self.campaignID = campaignID
        self.fireAt = fireAt
        self.definitionHash = definitionHash
        self.isNew = isNew
    }
}

/// The planner's decision for one (occurrence, recipient, channel[, device]): either content to
/// send or a reason not to.
public struct PlannedNotification: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        case send(NotificationContent)
        case skip(SkipReason, detail: String?)
    }

    /// Unique in the store: the same key is never planned twice.
    public var dedupeKey: String
    public var occurrenceID: Int64
    public var campaignID: String
    public var category: String
    public var userID: String
    public var channel: Channel
    public var provider: String?
    public var address: String?
    public var dueAt: Date
    public var decision: Decision
    /// A problem that did not stop the send (a variable that rendered empty); recorded as a
    /// `render_warning` event.
    public var warning: String?

    public init(
        dedupeKey: String, occurrenceID: Int64, campaignID: String, category: String, userID: String,
        channel: Channel, provider: String?, address: String?, dueAt: Date, decision: Decision, warning: String? = nil
    ) {
        self.warning = warning
        self.dedupeKey = dedupeKey
        self.occurrenceID = occurrenceID
        self.campaignID = campaignID
        self.category = category
        self.userID = userID
        self.channel = channel
        self.provider = provider
        self.address = address
        self.dueAt = dueAt
        self.decision = decision
    }

    /// `<occurrence>:<user>:<channel>` and, for push, the device address: one key per send.
    public static func dedupeKey(occurrenceID: Int64, userID: String, channel: Channel, device: String? = nil) -> String {
        var key = "\(occurrenceID):\(userID):\(channel.rawValue)"
        if let device { key += ":\(device)" }
        return key
    }
}

/// An outbox row claimed by a dispatcher, with what it needs to send and to re-check consent.
public struct ClaimedNotification: Sendable, Hashable {
    public var message: OutboundMessage
    public var category: String
    public var dueAt: Date
    /// The user's preferences as they are now (opt-out wins, also after planning).
    public var preferences: Preferences
    /// True when this send was already in flight once (its lease expired: a crash).
    public var wasInFlight: Bool
    /// Who holds the claim; with `message.attempt` it identifies this claim, so that an outcome
    /// that arrives after another dispatcher took the row over changes nothing.
    public var leaseOwner: String

    public init(message: OutboundMessage, category: String, dueAt: Date, preferences: Preferences, wasInFlight: Bool, leaseOwner: String = "") {
        self.leaseOwner = leaseOwner
        self.message = message
        self.category = category
        self.dueAt = dueAt
        self.preferences = preferences
        self.wasInFlight = wasInFlight
    }
}

/// The next state of a claimed notification, decided by the recorder from a transport outcome.
public enum DeliveryResolution: Sendable, Hashable {
    case sent(providerMessageID: String, provider: String)
    case retry(at: Date, reason: String)
    /// A permanent failure; with `deactivateAddress` the push device is switched off too (an
    /// unregistered token is not tried again by later campaigns).
    case failed(reason: String, deactivateAddress: Bool = false)
    case dead(reason: String)
    case skipped(SkipReason, detail: String?)
    /// The provider says the recipient opted out (SMS STOP): skipped, and the channel opt-out is
    /// saved so that no later send tries again.
    case optedOutAtProvider(reason: String)
}
