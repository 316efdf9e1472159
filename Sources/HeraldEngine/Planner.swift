import Foundation
import HeraldContent
import HeraldCore
import Logging
import Synchronization

/// Expands one occurrence of a campaign into notifications: pages through the audience in id
/// order, decides per recipient and channel, and writes each page in one transaction.
///
/// Never holds the whole audience in memory: one page of `batchSize` users at a time. Planning
/// the same occurrence twice writes nothing new (notifications are keyed by occurrence, user,
/// channel and device). Frequency caps are checked inside each page's write transaction, from
/// the cap ledger as it is then, so concurrent planners cannot together go past a cap.
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
        /// Recipients without a valid zone of their own, whose local times were read in
        /// `default_timezone`.
        public var defaultZoneRecipients: Int
    }

    /// Called after each page with the number of recipients done so far.
    public typealias Progress = @Sendable (_ recipientsDone: Int) -> Void

    let store: any UserStore & PlanningStore
    let renderer: any NotificationRendering
    var recipientPlanner: RecipientPlanner
    let segments: [String: Segment]
    let clock: any WallClock
    let configuration: Configuration
    let logger: Logger

    public init(
        store: any UserStore & PlanningStore,
        renderer: any NotificationRendering,
        routing: ChannelRouting,
        segments: [String: Segment] = [:],
        unsubscribeLinks: UnsubscribeLinks? = nil,
        trackingLinks: TrackingLinks? = nil,
        limits: RecipientPlanner.Limits = RecipientPlanner.Limits(),
        clock: any WallClock,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "herald.planner")
    ) {
        self.store = store
        self.renderer = renderer
        self.recipientPlanner = RecipientPlanner(routing: routing, unsubscribeLinks: unsubscribeLinks, trackingLinks: trackingLinks, limits: limits)
        self.segments = segments
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    /// This planner, checking each notification's content with `check` before planning it
    /// (``RecipientPlanner/contentCheck``): what API sends use, so that their answer already says
    /// which notifications a provider would refuse.
    public func checkingContent(_ check: @escaping RecipientPlanner.ContentCheck) -> Planner {
        var planner = self
        planner.recipientPlanner.contentCheck = check
        return planner
    }

    /// The users an occurrence of `campaign` selects: its audience, or the named `recipients`.
    ///
    /// - Throws: when the audience rule does not check or cannot run, before anything is written.
    public func audience(of campaign: Campaign, at fireAt: Date, recipients: [String]? = nil) async throws -> UserFilter {
        let filter = try recipients.map { UserFilter.ids($0) } ?? audienceFilter(for: campaign, now: fireAt)
        try await store.checkAudience(filter)
        return filter
    }

    /// Plans `occurrence` of `campaign`. The occurrence's own `params` override the campaign's.
    ///
    /// Resuming an occurrence planned in part (or being planned by another process) is safe:
    /// users it already planned keep their decisions, a notification is never written twice,
    /// and the throttle continues from the sends already planned.
    ///
    /// - Parameter recipients: named user ids that replace the campaign's audience (a one-off
    ///   send to known people); `nil` for the audience.
    public func plan(_ campaign: Campaign, occurrence: Occurrence, recipients: [String]? = nil, progress: Progress? = nil) async throws -> Result {
        var campaign = campaign
        campaign.override(params: occurrence.params)
        // Resolve the audience first: a bad rule must fail before anything is written.
        let filter = try await audience(of: campaign, at: occurrence.fireAt, recipients: recipients)
        try await store.saveCampaign(id: campaign.id, definitionHash: campaign.definitionHash, conversion: campaign.experiment.conversion, at: clock.now)
        // The throttle holds across the campaign's sends: it starts from every send of the
        // campaign already due from this one's instant on (its ledger), and a resumed planning
        // from its own sends too (those planned before the ledger existed are only there).
        var throttle = campaign.throttle.map(ThrottleSlots.init)
        if let rate = campaign.throttle {
            var usage = try await store.throttleUsage(campaignID: campaign.id, intervalSeconds: rate.per.seconds, since: occurrence.fireAt)
            if !occurrence.isNew {
                for (start, count) in try await store.plannedSendsByInterval(occurrenceID: occurrence.id, intervalSeconds: rate.per.seconds) {
                    usage[start] = max(usage[start] ?? 0, count)
                }
            }
            for (start, count) in usage { throttle?.reserve(count, at: start) }
        }
        let state = PlanningState(throttle: throttle)
        // When resuming, a user already planned keeps the decisions made then: planning them
        // again from today's devices and preferences could reach them on a second channel.
        let result = try await walk(campaign, occurrence: occurrence, filter: filter, state: state, skipsPlanned: !occurrence.isNew, progress: progress) { prepared in
            var summary = try await store.savePlanned(prepared.page, at: clock.now)
            summary.alreadyPlannedUsers += prepared.alreadyPlanned
            return summary
        }
        try await store.finishOccurrence(id: occurrence.id, at: clock.now)
        logger.info("planned occurrence", metadata: [
            "campaign.id": "\(campaign.id)", "occurrence.id": "\(occurrence.id)",
            "planned": "\(result.summary.planned)", "skipped": "\(result.summary.skipped)", "duplicates": "\(result.summary.duplicates)",
        ])
        return result
    }

    /// How far back from an occurrence's fire instant the cap ledger matters for `campaign`;
    /// nil when no cap applies (a transactional campaign, or none configured).
    public func capReach(of campaign: Campaign) -> Double? {
        let caps = campaign.isTransactional ? [] : recipientPlanner.limits.frequencyCaps + campaign.frequencyCaps
        return caps.map(\.reach).max()
    }

    /// The decisions for `users` in `occurrence` of `campaign` (its params laid over the
    /// campaign's), given each user's cap ledger: pure, for a store that decides inside its
    /// write transaction. A throttle is not applied (API sends have none).
    public func decide(_ campaign: Campaign, occurrence: Occurrence, users: [User], history: [String: [CapEntry]]) -> [PlannedNotification] {
        var campaign = campaign
        campaign.override(params: occurrence.params)
        let now = clock.now
        return users.flatMap { user in
            recipientPlanner.plan(user, campaign: campaign, occurrence: occurrence, now: now, history: history[user.id] ?? [], renderer: renderer)
        }
    }

    /// Plans the occurrence of `campaign` at `fireAt` (a scheduled instant), created if new.
    public func plan(_ campaign: Campaign, fireAt: Date, recipients: [String]? = nil, progress: Progress? = nil) async throws -> Result {
        _ = try await audience(of: campaign, at: fireAt, recipients: recipients)
        let occurrence = try await store.beginOccurrence(campaignID: campaign.id, fireAt: fireAt, definitionHash: campaign.definitionHash, at: clock.now)
        return try await plan(campaign, occurrence: occurrence, recipients: recipients, progress: progress)
    }

    /// Decides what sending `campaign` at `fireAt` would do, writing nothing: the same
    /// decisions as ``plan(_:occurrence:recipients:progress:)`` against the store as it is now
    /// (its users, preferences and cap ledger), handed to `observe` one page at a time.
    public func dryRun(
        _ campaign: Campaign, fireAt: Date, params: [String: String] = [:], progress: Progress? = nil,
        observe: (_ users: [User], _ decisions: [PlannedNotification]) -> Void
    ) async throws -> Result {
        var campaign = campaign
        campaign.override(params: params)
        let filter = try await audience(of: campaign, at: fireAt)
        let occurrence = Occurrence(id: 0, campaignID: campaign.id, fireAt: fireAt, definitionHash: campaign.definitionHash, params: params, isNew: true)
        var throttle = campaign.throttle.map(ThrottleSlots.init)
        if let rate = campaign.throttle {
            for (start, count) in try await store.throttleUsage(campaignID: campaign.id, intervalSeconds: rate.per.seconds, since: fireAt) {
                throttle?.reserve(count, at: start)
            }
        }
        let state = PlanningState(throttle: throttle)
        let now = clock.now
        return try await walk(campaign, occurrence: occurrence, filter: filter, state: state, skipsPlanned: false, progress: progress) { prepared in
            let decisions = prepared.page.decisions
            observe(prepared.users, decisions)
            var summary = PlanSummary()
            for decision in decisions {
                guard case .send = decision.decision else {
                    summary.skipped += 1
                    continue
                }
                summary.planned += 1
                if decision.dueAt > now { summary.dueLater += 1 }
            }
            return summary
        }
    }

    /// One page of the audience, decided and ready to write.
    struct PreparedPage: Sendable {
        /// Every user of the page, those planned before included.
        var users: [User]
        /// Users an interrupted planning of the occurrence had already done.
        var alreadyPlanned: Int
        var page: PlanningPage
    }

    /// Pages through the audience. Pages are read and decided (their users' cap ledger read,
    /// their content rendered) while the pages before are being written by `save`, so that the
    /// rendering and the writing each keep a core busy.
    private func walk(
        _ campaign: Campaign, occurrence: Occurrence, filter: UserFilter, state: PlanningState, skipsPlanned: Bool, progress: Progress?,
        save: (PreparedPage) async throws -> PlanSummary
    ) async throws -> Result {
        let caps = campaign.isTransactional ? [] : recipientPlanner.limits.frequencyCaps + campaign.frequencyCaps
        // Every due time of the occurrence is at or after its fire instant (a recipient's own
        // clock reaches a time after the earliest zone does), so older slots cannot matter.
        let historySince = caps.map(\.reach).max().map { occurrence.fireAt.addingTimeInterval(-$0) }
        let recipientPlanner = self.recipientPlanner
        let renderer = self.renderer
        let now = clock.now
        let store = self.store
        let batchSize = configuration.batchSize
        @Sendable func decide(_ users: [User], _ history: [String: [CapEntry]]) -> [PlannedNotification] {
            state.throttle.withLock { throttle in
                users.flatMap { user in
                    recipientPlanner.plan(
                        user, campaign: campaign, occurrence: occurrence, now: now, history: history[user.id] ?? [],
                        throttle: &throttle, renderer: renderer
                    )
                }
            }
        }
        @Sendable func prepare(after lastID: String?) async throws -> PreparedPage? {
            let users = try await store.users(matching: filter, after: lastID, limit: batchSize)
            guard !users.isEmpty else { return nil }
            let done = skipsPlanned ? try await store.plannedUserIDs(occurrenceID: occurrence.id, among: users.map(\.id)) : []
            let pending = done.isEmpty ? users : users.filter { !done.contains($0.id) }
            var history: [String: [CapEntry]] = [:]
            if let historySince, !pending.isEmpty { history = try await store.capHistory(of: pending.map(\.id), since: historySince) }
            var page = PlanningPage(
                userIDs: pending.map(\.id), capHistorySince: historySince, expectedHistory: history, decisions: decide(pending, history)
            ) { changed, history in
                decide(pending.filter { changed.contains($0.id) }, history)
            }
            if let rate = campaign.throttle {
                page.throttle = PageThrottle(campaignID: campaign.id, rate: rate, since: occurrence.fireAt) { usage, history in
                    // Start again from the ledger as the transaction reads it, this page's
                    // users included afresh.
                    state.throttle.withLock { throttle in
                        var fresh = ThrottleSlots(rate: rate)
                        for (start, count) in usage { fresh.reserve(count, at: start) }
                        throttle = fresh
                    }
                    return decide(pending, history)
                }
            }
            return PreparedPage(users: users, alreadyPlanned: done.count, page: page)
        }
        // Pages are prepared (read and decided) up to `lookahead` ahead of the one being
        // written: a page that takes long to render then does not leave the writer idle, and
        // one that is quick to write does not leave the renderer idle. The producer takes a
        // credit per page and the writer gives one back per page it takes.
        let lookahead = 3
        let (pages, pageSink) = AsyncThrowingStream.makeStream(of: PreparedPage.self)
        let (credits, creditSink) = AsyncStream.makeStream(of: Void.self)
        for _ in 0..<lookahead { creditSink.yield() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    var lastID: String?
                    for await _ in credits {
                        try Task.checkCancellation()
                        guard let page = try await prepare(after: lastID) else {
                            pageSink.finish()
                            return
                        }
                        lastID = page.users.last?.id
                        pageSink.yield(page)
                    }
                    // The credits ended before the audience did: the writer stopped, or the
                    // task was cancelled. Never end the pages as if the audience were done.
                    throw CancellationError()
                } catch {
                    pageSink.finish(throwing: error)
                }
            }
            defer {
                creditSink.finish()
                group.cancelAll()
            }
            var recipients = 0
            var defaultZone = 0
            var summary = PlanSummary()
            for try await current in pages {
                // Stopping (SIGTERM, a cancelled task) takes effect between pages: each page is
                // written whole or not at all, and a later run resumes after the last one.
                try Task.checkCancellation()
                creditSink.yield()
                summary = summary + (try await save(current))
                recipients += current.users.count
                defaultZone += current.users.lazy.filter { recipientPlanner.zone(of: $0).isDefault }.count
                progress?(recipients)
            }
            try Task.checkCancellation()
            return Result(occurrence: occurrence, recipients: recipients, summary: summary, defaultZoneRecipients: defaultZone)
        }
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

/// What planning one occurrence carries from page to page: the throttle's filled intervals.
/// Each page's decisions are made inside the store's write transaction, in a closure, so the
/// state lives behind a lock rather than in a local variable.
final class PlanningState: Sendable {
    let throttle: Mutex<ThrottleSlots?>

    init(throttle: ThrottleSlots?) {
        self.throttle = Mutex(throttle)
    }
}
