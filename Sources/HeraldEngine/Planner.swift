import Foundation
import HeraldContent
import HeraldCore
import Logging

/// Expands one occurrence of a campaign into notifications: pages through the audience in id
/// order, decides per recipient and channel, and writes each page in one transaction.
///
/// Never holds the whole audience in memory: one page of `batchSize` users at a time. Planning
/// the same occurrence twice writes nothing new (notifications are keyed by occurrence, user,
/// channel and device).
public struct Planner: Sendable {
    public struct Configuration: Sendable {
        /// Users per page and per write transaction. Default 1000.
        public var batchSize: Int

        public init(batchSize: Int = 1000) {
            self.batchSize = batchSize
        }
    }

    /// What planning an occurrence did.
    public struct Result: Sendable, Hashable {
        public var occurrence: Occurrence
        public var recipients: Int
        public var summary: PlanSummary
    }

    let store: any Store
    let renderer: any NotificationRendering
    let recipientPlanner: RecipientPlanner
    let segments: [String: Segment]
    let clock: any WallClock
    let configuration: Configuration
    let logger: Logger

    public init(
        store: any Store,
        renderer: any NotificationRendering,
        routing: ChannelRouting,
        segments: [String: Segment] = [:],
        unsubscribeLinks: UnsubscribeLinks? = nil,
        clock: any WallClock,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "herald.planner")
    ) {
        self.store = store
        self.renderer = renderer
        self.recipientPlanner = RecipientPlanner(routing: routing, unsubscribeLinks: unsubscribeLinks)
        self.segments = segments
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    /// The users an occurrence of `campaign` selects: its audience, or the named `recipients`.
    ///
    /// - Throws: when the audience rule does not check or cannot run, before anything is written.
    public func audience(of campaign: Campaign, at fireAt: Date, recipients: [String]? = nil) async throws -> UserFilter {
        let filter = try recipients.map { UserFilter.ids($0) } ?? audienceFilter(for: campaign, now: fireAt)
        try await store.checkAudience(filter)
        return filter
    }

    /// Plans `occurrence` of `campaign`, due at its fire instant for every recipient. The
    /// occurrence's own `params` override the campaign's.
    ///
    /// Resuming an occurrence planned in part (or being planned by another process) is safe:
    /// users it already planned keep their decisions, and a notification is never written twice.
    ///
    /// - Parameter recipients: named user ids that replace the campaign's audience (a one-off
    ///   send to known people); `nil` for the audience.
    public func plan(_ campaign: Campaign, occurrence: Occurrence, recipients: [String]? = nil) async throws -> Result {
        let fireAt = occurrence.fireAt
        var campaign = campaign
        campaign.override(params: occurrence.params)
        // Resolve the audience first: a bad rule must fail before anything is written.
        let filter = try await audience(of: campaign, at: fireAt, recipients: recipients)
        try await store.saveCampaign(id: campaign.id, definitionHash: campaign.definitionHash, at: clock.now)
        var lastID: String?
        var recipients = 0
        var summary = PlanSummary()
        while true {
            let users = try await store.users(matching: filter, after: lastID, limit: configuration.batchSize)
            guard let last = users.last else { break }
            lastID = last.id
            recipients += users.count
            // When resuming, a user already planned keeps the decisions made then: planning them
            // again from today's devices and preferences could reach them on a second channel.
            let done = occurrence.isNew ? [] : try await store.plannedUserIDs(occurrenceID: occurrence.id, among: users.map(\.id))
            var batch: [PlannedNotification] = []
            batch.reserveCapacity(users.count * campaign.channels.count)
            for user in users where !done.contains(user.id) {
                batch += recipientPlanner.plan(user, campaign: campaign, occurrence: occurrence, dueAt: fireAt, renderer: renderer)
            }
            summary = summary + (try await store.savePlanned(batch, at: clock.now))
            summary.alreadyPlannedUsers += done.count
        }
        try await store.finishOccurrence(id: occurrence.id, at: clock.now)
        logger.info("planned occurrence", metadata: [
            "campaign.id": "\(campaign.id)", "occurrence.id": "\(occurrence.id)",
            "planned": "\(summary.planned)", "skipped": "\(summary.skipped)", "duplicates": "\(summary.duplicates)",
        ])
        return Result(occurrence: occurrence, recipients: recipients, summary: summary)
    }

    /// Plans the occurrence of `campaign` at `fireAt` (a scheduled instant), created if new.
    public func plan(_ campaign: Campaign, fireAt: Date, recipients: [String]? = nil) async throws -> Result {
        _ = try await audience(of: campaign, at: fireAt, recipients: recipients)
        let occurrence = try await store.beginOccurrence(campaignID: campaign.id, fireAt: fireAt, definitionHash: campaign.definitionHash, at: clock.now)
        return try await plan(campaign, occurrence: occurrence, recipients: recipients)
    }

    func audienceFilter(for campaign: Campaign, now: Date) throws -> UserFilter {
        switch campaign.audience {
        case .everyone:
            return .everyone
        case .rule(let source):
            return .rule(source, now: now, campaignID: campaign.id)
        case .segment(let name, let location):
            guard let segment = segments[name] else {
                throw Diagnostic("unknown segment '\(name)'", at: location, hint: Suggestion.hint(for: name, in: segments.keys.sorted()))
            }
            return .rule(segment.rule, now: now, campaignID: campaign.id)
        }
    }
}
