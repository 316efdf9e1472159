import Foundation

/// What `herald report` shows beyond the counts per send (``ReportStore``): the counts by
/// provider or day, each recipient's notifications, the most clicked links, the experiments, and
/// what the HTML report draws. Read from the store alone (the event trail, the notifications and
/// the campaigns' recorded conversions), never from logs, and the same on every store.
///
/// A role of the store apart from ``Store``: the engine never reads it, and a tool that only
/// reports needs only this.
///
/// ```swift
/// let providers = try await store.report(campaignID: "winter-sale", by: .provider)
/// let links = try await store.topLinks(campaignID: "winter-sale", limit: 10)
/// ```
public protocol InsightStore: Sendable {
    /// The ids of every campaign the store has planned, sorted.
    func campaignIDs() async throws -> [String]

    /// Counts per campaign and channel, and per send, provider or day. By send it is
    /// ``ReportStore/report(campaignID:)``; by provider or day (UTC, when due) one row per
    /// campaign, group and channel, without totals, ordered by campaign, group, then channel.
    func report(campaignID: String?, by grouping: ReportGrouping) async throws -> [ReportRow]

    /// Up to `limit` notifications matching `filter` whose id is after `lastID`, in id order: a
    /// page of the recipients list.
    func recipients(matching filter: RecipientFilter, after lastID: Int64?, limit: Int) async throws -> [RecipientRow]

    /// The `limit` most clicked links of each campaign (or of one), most people first, then most
    /// clicks, then by URL: from the click events of tracked links and of provider webhooks,
    /// whose detail is `source: URL`.
    func topLinks(campaignID: String?, limit: Int) async throws -> [LinkClicks]

    /// Per campaign that splits its recipients, per group (each variant, `treatment`,
    /// `holdout`): the people in it, and how many were sent to, opened, clicked and converted.
    /// Ordered by campaign, then variants by name, the holdout last.
    ///
    /// A person belongs to a group through their notifications of the campaign that were sent
    /// or were to be (the holdout's: `skipped(holdout)`); a person skipped for another reason
    /// (no address, opted out) is in no group, as they would be in none had there been no test.
    /// A conversion is the campaign's conversion event received for the person within the
    /// window after their first send (its `sent` event, else its due time); for the holdout,
    /// after the due time of the send they would have had. The window opens at the second of the
    /// send, since events are often dated to the second (`herald trigger`, ISO 8601 without a
    /// fraction): a purchase in the same second as the send counts.
    func experimentReport(campaignID: String?) async throws -> [ExperimentGroupCounts]

    /// Per campaign with a `conversion:` and channel: the people sent to on the channel, and those
    /// of them who converted within the window after their send on it (from the second of it).
    func conversionsByChannel(campaignID: String?) async throws -> [ChannelConversions]

    /// Sends (accepted by a provider), first human opens and clicks per campaign and UTC hour,
    /// from the event trail, by campaign then hour: what the HTML report draws over time.
    func activity(campaignID: String?) async throws -> [ActivityCount]

    /// Per campaign and recipient locale (as the user's record holds it now; `""` for none or
    /// an erased user): people targeted, people sent to, and people who opened or clicked. By
    /// campaign, then most people first, then locale.
    func localeBreakdown(campaignID: String?) async throws -> [LocaleCount]
}

extension ExperimentGroupCounts {
    /// The order ``InsightStore/experimentReport(campaignID:)`` gives: by campaign, variants in
    /// name order, the holdout last, as the report compares each with it.
    public static func reportOrder(_ lhs: ExperimentGroupCounts, _ rhs: ExperimentGroupCounts) -> Bool {
        if lhs.campaignID != rhs.campaignID { return lhs.campaignID < rhs.campaignID }
        if lhs.isHoldout != rhs.isHoldout { return !lhs.isHoldout }
        return lhs.group < rhs.group
    }
}
