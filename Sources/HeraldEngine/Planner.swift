import Foundation
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
        clock: any WallClock,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "herald.planner")
    ) {
        self.store = store
        self.renderer = renderer
        self.recipientPlanner = RecipientPlanner(routing: routing)
        self.segments = segments
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    /// Plans `campaign` to fire at `fireAt`, due at `fireAt` for every recipient.
    ///
    /// - Parameter recipients: named user ids that replace the campaign's audience (a one-off
    ///   send to known people); `nil` for the audience.
    public func plan(_ campaign: Campaign, fireAt: Date, recipients: [String]? = nil) async throws -> Result {
        let now = clock.now
        // Resolve the audience first: a bad rule must fail before anything is written.
        let filter = try recipients.map { UserFilter.ids($0) } ?? audienceFilter(for: campaign, now: fireAt)
        try await store.checkAudience(filter)
        try await store.saveCampaign(id: campaign.id, definitionHash: campaign.definitionHash, at: now)
        let occurrence = try await store.beginOccurrence(campaignID: campaign.id, fireAt: fireAt, definitionHash: campaign.definitionHash, at: now)
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
