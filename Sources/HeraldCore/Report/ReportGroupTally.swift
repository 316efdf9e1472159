import Foundation

/// A report by provider or by day (``ReportGrouping``), put together from the three figures each
/// store's queries give, per campaign, group and channel: the notifications by state and reason,
/// the distinct people, and the engagement from the trail. The stores keep their SQL; what the
/// rows mean, and their order, is this one type's.
///
/// ```swift
/// var tally = ReportGroupTally()
/// tally.add(3, campaignID: "spring", group: "sendgrid", channel: "email", state: "sent", reason: nil)
/// tally.setRecipients(2, campaignID: "spring", group: "sendgrid", channel: "email")
/// let rows = tally.rows   // one row: spring, sendgrid, email, 2 people, 3 sent
/// ```
public struct ReportGroupTally: Sendable {
    struct Key: Hashable {
        var campaign: String
        var group: String
        var channel: String
    }

    /// Engagement counts of a group, each notification once per kind.
    public struct Engagement: Sendable, Hashable {
        public var opened: Int
        public var machineOpened: Int
        public var clicked: Int
        public var unsubscribed: Int
        public var complained: Int

        public init(opened: Int, machineOpened: Int, clicked: Int, unsubscribed: Int, complained: Int) {
            self.opened = opened
            self.machineOpened = machineOpened
            self.clicked = clicked
            self.unsubscribed = unsubscribed
            self.complained = complained
        }
    }

    var entries: [Key: ReportRow] = [:]

    public init() {}

    /// Counts `count` notifications of a group in `state`; a channel or state this version does
    /// not know is left out. A nil or empty group (no provider) is shown as `none`.
    public mutating func add(_ count: Int, campaignID: String, group: String?, channel: String, state: String, reason: String?) {
        guard let parsed = Channel(rawValue: channel), let state = NotificationState(rawValue: state) else { return }
        let key = Key(campaign: campaignID, group: group ?? "", channel: channel)
        var row = entries[key] ?? ReportRow(campaignID: campaignID, channel: parsed)
        row.group = key.group.isEmpty ? "none" : key.group
        row.add(count, in: state, reason: reason)
        entries[key] = row
    }

    /// The distinct people of a group counted by ``add(_:campaignID:group:channel:state:reason:)``.
    public mutating func setRecipients(_ count: Int, campaignID: String, group: String?, channel: String) {
        entries[Key(campaign: campaignID, group: group ?? "", channel: channel)]?.recipients = count
    }

    /// The engagement of a group counted by ``add(_:campaignID:group:channel:state:reason:)``.
    public mutating func setEngagement(_ engagement: Engagement, campaignID: String, group: String?, channel: String) {
        let key = Key(campaign: campaignID, group: group ?? "", channel: channel)
        guard var row = entries[key] else { return }
        row.opened = engagement.opened
        row.machineOpened = engagement.machineOpened
        row.clicked = engagement.clicked
        row.unsubscribed = engagement.unsubscribed
        row.complained = engagement.complained
        entries[key] = row
    }

    /// The rows by campaign, then group, then channel.
    public var rows: [ReportRow] {
        entries.values.sorted { lhs, rhs in
            if lhs.campaignID != rhs.campaignID { return lhs.campaignID < rhs.campaignID }
            if lhs.group != rhs.group { return (lhs.group ?? "") < (rhs.group ?? "") }
            return lhs.channel < rhs.channel
        }
    }
}
