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
