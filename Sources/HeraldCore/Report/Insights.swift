import Foundation

/// Sends, first human opens and clicks of a campaign in one UTC hour.
public struct ActivityCount: Sendable, Hashable, Codable {
    public var campaignID: String
    /// The hour's first instant.
    public var hour: Date
    public var sent: Int
    public var opened: Int
    public var clicked: Int

    public init(campaignID: String, hour: Date, sent: Int, opened: Int, clicked: Int) {
        self.campaignID = campaignID
        self.hour = hour
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
    }
}

/// People of a campaign by their locale: targeted, sent to, opened, clicked.
public struct LocaleCount: Sendable, Hashable, Codable {
    public var campaignID: String
    /// As the user's record holds it; `""` for none.
    public var locale: String
    public var people: Int
    public var sent: Int
    public var opened: Int
    public var clicked: Int

    public init(campaignID: String, locale: String, people: Int, sent: Int, opened: Int, clicked: Int) {
        self.campaignID = campaignID
        self.locale = locale
        self.people = people
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
    }
}

/// People a campaign reached on one channel, and those of them who converted.
public struct ChannelConversions: Sendable, Hashable, Codable {
    public var campaignID: String
    public var channel: Channel
    public var people: Int
    public var converted: Int

    public init(campaignID: String, channel: Channel, people: Int, converted: Int) {
        self.campaignID = campaignID
        self.channel = channel
        self.people = people
        self.converted = converted
    }
}

/// One notification of a campaign, for `herald report --recipients`.
public struct RecipientRow: Sendable, Hashable {
    public var notificationID: Int64
    public var campaignID: String
    /// When its send happened (an API send: when the request came).
    public var fireAt: Date
    public var userID: String
    public var channel: Channel
    /// The email, phone or device token it went (or would have gone) to, if known.
    public var address: String?
    public var state: NotificationState
    public var reason: String?
    public var provider: String?
    public var updatedAt: Date

    public init(
        notificationID: Int64, campaignID: String, fireAt: Date, userID: String, channel: Channel, address: String?, state: NotificationState,
        reason: String?, provider: String?, updatedAt: Date
    ) {
        self.notificationID = notificationID
        self.campaignID = campaignID
        self.fireAt = fireAt
        self.userID = userID
        self.channel = channel
        self.address = address
        self.state = state
        self.reason = reason
        self.provider = provider
        self.updatedAt = updatedAt
    }
}

/// Which notifications ``InsightStore/recipients(matching:after:limit:)`` lists.
public struct RecipientFilter: Sendable, Hashable {
    public var campaignID: String?
    public var channel: Channel?
    public var state: NotificationState?
    public var reason: String?

    public init(campaignID: String? = nil, channel: Channel? = nil, state: NotificationState? = nil, reason: String? = nil) {
        self.campaignID = campaignID
        self.channel = channel
        self.state = state
        self.reason = reason
    }
}

/// How often one link of a campaign was clicked.
public struct LinkClicks: Sendable, Hashable {
    public var campaignID: String
    public var url: String
    /// Every click.
    public var clicks: Int
    /// Notifications (people, per channel) that clicked it at least once.
    public var notifications: Int

    public init(campaignID: String, url: String, clicks: Int, notifications: Int) {
        self.campaignID = campaignID
        self.url = url
        self.clicks = clicks
        self.notifications = notifications
    }
}
