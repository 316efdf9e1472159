import Foundation

/// Which users a query selects.
public enum UserFilter: Sendable, Hashable {
    /// Every user.
    case everyone
    /// Users matching an audience expression, evaluated at `now` for `campaignID` (for `bucket()`).
    case rule(RuleSource, now: Date, campaignID: String)
    /// Exactly these users (API sends).
    case ids([String])
    /// Those of these users who match an audience expression, evaluated at `now` for
    /// `campaignID`: whether a triggered campaign's audience holds the user an event names.
    case ruleAmong(ids: [String], RuleSource, now: Date, campaignID: String)
}

/// How many rows an import changed.
public struct UpsertSummary: Sendable, Hashable {
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int

    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
    }

    public static func + (lhs: UpsertSummary, rhs: UpsertSummary) -> UpsertSummary {
        UpsertSummary(inserted: lhs.inserted + rhs.inserted, updated: lhs.updated + rhs.updated, unchanged: lhs.unchanged + rhs.unchanged)
    }
}

/// What planning wrote.
public struct PlanSummary: Sendable, Hashable {
    public var planned: Int
    public var skipped: Int
    /// Keys that were planned before: not written again.
    public var duplicates: Int
    /// Users an interrupted planning of the same occurrence had already done, left as they were.
    public var alreadyPlannedUsers: Int
    /// Planned notifications due after the moment they were planned (quiet hours, the throttle,
    /// or a recipient's own clock): they wait in the outbox.
    public var dueLater: Int

    public init(planned: Int = 0, skipped: Int = 0, duplicates: Int = 0, alreadyPlannedUsers: Int = 0, dueLater: Int = 0) {
        self.planned = planned
        self.skipped = skipped
        self.duplicates = duplicates
        self.alreadyPlannedUsers = alreadyPlannedUsers
        self.dueLater = dueLater
    }

    public static func + (lhs: PlanSummary, rhs: PlanSummary) -> PlanSummary {
        PlanSummary(
            planned: lhs.planned + rhs.planned, skipped: lhs.skipped + rhs.skipped, duplicates: lhs.duplicates + rhs.duplicates,
            alreadyPlannedUsers: lhs.alreadyPlannedUsers + rhs.alreadyPlannedUsers, dueLater: lhs.dueLater + rhs.dueLater
        )
    }
}

/// Where Herald keeps users, notifications, the outbox and the event trail: every role below.
///
/// The engine talks to the roles it needs (the dispatcher to an ``OutboxStore``, the planner to
/// a ``UserStore`` and a ``PlanningStore``), so that a test double implements only those and the
/// same engine runs on SQLite and on PostgreSQL. Every method that changes a notification's state
/// appends its event in the same transaction (DESIGN.md, invariant 6).
public typealias Store = UserStore & PlanningStore & OutboxStore & EventStore & ScheduleStore & ReportStore

/// The users, their devices and preferences, and the audiences rules select among them.
public protocol UserStore: Sendable {
    /// Inserts or updates users by id, with their devices and preferences, in one transaction.
    ///
    /// Devices are added or updated, never removed; a device a provider reported dead stays
    /// inactive when the same token is imported again (only an import can switch one off).
    func upsertUsers(_ users: [User], at now: Date) async throws -> UpsertSummary

    /// Up to `limit` users matching `filter` whose id sorts after `lastID`, in id order, with
    /// devices and preferences: the planner pages through an audience with it.
    func users(matching filter: UserFilter, after lastID: String?, limit: Int) async throws -> [User]

    /// Checks that `filter` can run (its rule type-checks and its query compiles) without running
    /// it, so that a bad audience fails before anything is written.
    func checkAudience(_ filter: UserFilter) async throws

    /// How many users match `filter`.
    func countUsers(matching filter: UserFilter) async throws -> Int

    /// The active push devices per push service (a device without a recorded service counts
    /// for its platform's default), so that `herald validate` can name the services with
    /// devices but no provider.
    func activeDevicesByService() async throws -> [PushService: Int]
}

/// How the database runs an audience rule (`herald audience --explain`): the condition it
/// compiles to, and the database's own query plan for it.
public protocol AudienceExplaining: Sendable {
    /// The rule's condition as SQL with its arguments, and the plan's lines.
    func explain(_ source: RuleSource, now: Date, campaignID: String) async throws -> (sql: String, plan: [String])
}

/// Campaigns, occurrences, and the planning of their notifications with the cap ledger.
public protocol PlanningStore: Sendable {
    /// Records the campaign's current definition hash, and what counts as its conversion (for
    /// the report, which reads the store alone).
    func saveCampaign(id: String, definitionHash: String, conversion: Conversion?, at now: Date) async throws

    /// The occurrence of `campaignID` at `fireAt`, created if new (a scheduled fire instant).
    /// Planning the same occurrence again is safe: its notifications are keyed by occurrence.
    func beginOccurrence(campaignID: String, fireAt: Date, definitionHash: String, at now: Date) async throws -> Occurrence

    /// Finds or creates the occurrence a send plans, in one write transaction: the latest
    /// unfinished audience send of the campaign is resumed, an earlier finished one is reported
    /// (unless `repeatsFinished`), and otherwise a new occurrence is created. Two processes that
    /// ask at the same moment therefore get the same occurrence.
    func startOccurrence(_ request: OccurrenceRequest, at now: Date) async throws -> OccurrenceStart

    /// Which of `userIDs` already have notifications in the occurrence. A page of users is
    /// written in one transaction, so such a user was planned completely.
    func plannedUserIDs(occurrenceID: Int64, among userIDs: [String]) async throws -> Set<String>

    /// Marks an occurrence fully planned.
    func finishOccurrence(id: Int64, at now: Date) async throws

    /// Plans a page of users in one write transaction: reads their cap ledger (when the page
    /// says from where), calls the page's `decide`, and writes its decisions: notifications,
    /// outbox rows for the ones to send, a cap ledger slot for each send that is not
    /// transactional, and a `planned` or `skipped` event each. Keys already present are left
    /// alone.
    func savePlanned(_ page: PlanningPage, at now: Date) async throws -> PlanSummary

    /// The cap ledger of `userIDs` from `since` on, by user: what a dry run (`herald plan`)
    /// counts caps against. Users without entries are absent.
    func capHistory(of userIDs: [String], since: Date) async throws -> [String: [CapEntry]]

    /// How many notifications of the occurrence are planned to send in each interval of
    /// `intervalSeconds` (by the interval's first instant, intervals aligned to 1970): where a
    /// resumed planning continues the campaign's throttle.
    func plannedSendsByInterval(occurrenceID: Int64, intervalSeconds: Double) async throws -> [Date: Int]

    /// How many sends of the campaign, every occurrence together, fall due in each interval of
    /// `intervalSeconds` from the one holding `since` on (the throttle ledger, which every
    /// throttled page writes in its transaction): where a campaign's throttle starts.
    func throttleUsage(campaignID: String, intervalSeconds: Double, since: Date) async throws -> [Date: Int]

    /// The decisions planned for an occurrence, one per notification, in the order they were
    /// planned: what a triggered or API send did for its user.
    func decisions(occurrenceID: Int64) async throws -> [PlanDecision]
}

/// The outbox: claiming due sends with leases, and recording their outcomes.
public protocol OutboxStore: Sendable {
    /// The outbox rows of `channel` due at `now` but leased to a dispatcher until later: how
    /// many, and when the last of those leases ends.
    func leases(channel: Channel, at now: Date) async throws -> (count: Int, until: Date?)

    /// Leases up to `limit` due outbox rows of `channel` to `leaseOwner` until `now + lease`,
    /// marks them `sending` and appends a `sending` event each (a `reclaimed` one for a send whose
    /// earlier lease expired), all in one transaction.
    ///
    /// A row whose earlier lease ran out without an outcome (a crash) keeps its attempt number,
    /// so that the repeated send carries the same idempotency id (APNs' `apns-id`) as the one
    /// that may have reached the provider; any other row starts its next attempt.
    ///
    /// `throttles` (campaign id to its `throttle`) hold those campaigns' rates across every
    /// process on the database: the same transaction reads and updates the campaign's send
    /// ledger (``SendLedger``), and a due row of a campaign without room now is left as it is
    /// (not leased, no attempt counted) for a later claim.
    func claim(
        channel: Channel, providers: ProviderSelection, limit: Int, leaseOwner: String, lease: Duration, throttles: [String: RateLiteral], at now: Date
    ) async throws -> [ClaimedNotification]

    /// When a claim of the lane with `throttles` may next take a row, for a dispatcher to sleep
    /// until: the earliest due time among rows not leased, where a campaign whose send ledger is
    /// full counts from when it has room again; and whether rows due by `now` are held back by
    /// their campaign's throttle.
    func nextClaimable(channel: Channel, providers: ProviderSelection, throttles: [String: RateLiteral], at now: Date) async throws -> NextClaimable

    /// Extends the leases that `owner` still holds on `notificationIDs` to `now + lease`, so that
    /// a slow send is not taken over; a lease that already lasts longer (a later renewal that
    /// committed first) is kept. Returns the ids it holds: a lease that ended (the row may be
    /// another dispatcher's by now) is not among them.
    func renewLeases(of notificationIDs: [Int64], owner: String, lease: Duration, at now: Date) async throws -> Set<Int64>

    /// Gives claims back without an outcome, in one transaction (a graceful shutdown).
    ///
    /// - Parameter wasHandedOver: false when the provider never saw these sends: the row is
    ///   free at once, back to `planned`, and the attempt does not count. True when a provider may
    ///   have them (the outcome never came): the lease ends now, so the next claim repeats them as
    ///   `reclaimed`, with the same idempotency id.
    func release(_ claimed: [ClaimedNotification], wasHandedOver: Bool, at now: Date) async throws

    /// Records the outcome of claimed sends in one transaction: new state, outbox row removed or
    /// rescheduled, one event each.
    func resolve(_ results: [(ClaimedNotification, DeliveryResolution)], at now: Date) async throws

    /// The earliest due time among outbox rows of `channel`, or nil when it is empty.
    func nextDue(channel: Channel, providers: ProviderSelection) async throws -> Date?

    /// Ends every lease now, so that rows held by a process known to be dead can be claimed at
    /// once (`herald deliver --take-over-leases`). Returns how many leases it ended.
    func releaseLeases(at now: Date) async throws -> Int
}

/// Events received for users (the API, `herald trigger`), and the occurrences they trigger.
public protocol EventStore: Sendable {
    /// Records an event received for a known user and creates one occurrence (of kind `trigger`)
    /// per campaign it triggers, due at that campaign's `dueAt`, all in one transaction: either
    /// the event and every occurrence are written, or nothing is.
    ///
    /// An event whose `externalID` was recorded before is the same event: nothing is written and
    /// the receipt holds the first event and its occurrences (`isNew` false), so a caller that
    /// repeats a request plans each campaign once, and finishes an interrupted planning.
    ///
    /// - Throws: ``EventError`` when no user has the event's user id, or when the external id
    ///   was recorded for another user, event name or properties.
    func recordEvent(_ event: ReceivedEvent, triggering campaigns: [TriggeredCampaign], at now: Date) async throws -> EventReceipt

    /// Up to `limit` events received for `userID`, newest first; only those named `name` unless nil.
    func receivedEvents(userID: String, named name: String?, limit: Int) async throws -> [ReceivedEvent]
}

/// What the scheduler needs: planning leases on scheduled occurrences, and what it has seen.
public protocol ScheduleStore: Sendable {
    /// Claims the scheduled occurrence of `campaignID` at `fireAt` for `owner`, in one write
    /// transaction: creates it (kind `audience`, state `planning`) with a planning lease until
    /// `now + lease`, or takes over one whose lease ended, was released or is `owner`'s own
    /// (a crashed or stopped scheduler: resumed), or reports that another scheduler holds it, or
    /// that it was planned or recorded expired before. An existing occurrence keeps the
    /// definition hash and text (`definitionText`, the campaign file) it was created with.
    func claimOccurrence(
        campaignID: String, fireAt: Date, definitionHash: String, definitionText: String?, owner: String, lease: Duration, at now: Date
    ) async throws -> OccurrenceClaim

    /// Extends `owner`'s planning lease on occurrence `id` to `now + lease`; false when the lease
    /// is no longer `owner`'s (another scheduler took it over) or the occurrence is planned.
    func renewOccurrenceLease(id: Int64, owner: String, lease: Duration, at now: Date) async throws -> Bool

    /// Gives up `owner`'s planning lease on occurrence `id` (a scheduler stopping part way), so
    /// that the next scheduler resumes it at once instead of waiting for the lease to end.
    func releaseOccurrenceLease(id: Int64, owner: String) async throws

    /// Records the scheduled occurrence of `campaignID` at `fireAt` as expired (missed by more
    /// than the catch-up grace), with an event (`skipped`, reason `expired`, `detail`) in the same
    /// transaction; nothing is planned. False when the occurrence was recorded before.
    func recordExpiredOccurrence(campaignID: String, fireAt: Date, definitionHash: String, detail: String, at now: Date) async throws -> Bool

    /// The latest fire instant of a scheduled occurrence of `campaignID` (planned, being planned
    /// or expired), or nil when the scheduler has recorded none.
    func lastFireInstant(campaignID: String) async throws -> Date?

    /// When a scheduler first saw `campaignID`: `now` the first time it is asked (and recorded),
    /// the recorded instant afterwards. A cron campaign's occurrences start there.
    func firstSeen(campaignID: String, at now: Date) async throws -> Date

    /// Every scheduled occurrence whose planning is not finished, oldest first, whoever holds it:
    /// the scheduler resumes each one whose lease it can claim.
    func unfinishedScheduledOccurrences() async throws -> [Occurrence]

    /// Occurrences an event triggered, created before `before` and still not planned (the
    /// process that recorded the event stopped before planning it), with no live planning
    /// lease, oldest first, at most `limit`, each with the event (nil when the event is gone:
    /// its user was erased).
    func stalledTriggeredOccurrences(createdBefore before: Date, at now: Date, limit: Int) async throws -> [StalledTrigger]

    /// Claims a stalled triggered occurrence for `owner` until `now + lease`; false when it was
    /// planned meanwhile or another process holds a live lease on it.
    func claimTriggeredOccurrence(id: Int64, owner: String, lease: Duration, at now: Date) async throws -> Bool
}

extension ScheduleStore {
    /// ``claimOccurrence(campaignID:fireAt:definitionHash:definitionText:owner:lease:at:)``
    /// without the campaign's text.
    public func claimOccurrence(
        campaignID: String, fireAt: Date, definitionHash: String, owner: String, lease: Duration, at now: Date
    ) async throws -> OccurrenceClaim {
        try await claimOccurrence(campaignID: campaignID, fireAt: fireAt, definitionHash: definitionHash, definitionText: nil, owner: owner, lease: lease, at: now)
    }
}

/// A triggered occurrence whose planning stopped, and the event that triggered it.
public struct StalledTrigger: Sendable, Hashable {
    public var occurrence: Occurrence
    public var event: ReceivedEvent?

    public init(occurrence: Occurrence, event: ReceivedEvent?) {
        self.occurrence = occurrence
        self.event = event
    }
}

/// The counts `herald report` shows.
public protocol ReportStore: Sendable {
    /// Per campaign, send and channel counts, from the store: one row per send (occurrence), and
    /// for a campaign sent more than once a total row per channel as well. Ordered by campaign,
    /// then send time (the total last), then channel.
    func report(campaignID: String?) async throws -> [ReportRow]

    /// The first notification sent of each campaign and channel, and of its recipients whose
    /// locale is Korean: what the demo shows as samples.
    func firstSends() async throws -> [SentSample]
}

/// One notification a provider accepted, with what the demo prints of it.
public struct SentSample: Sendable, Hashable {
    public var campaignID: String
    public var channel: Channel
    /// The recipient's locale; `""` for none.
    public var locale: String
    public var providerMessageID: String
    public var address: String
    public var content: NotificationContent?

    public init(campaignID: String, channel: Channel, locale: String, providerMessageID: String, address: String, content: NotificationContent?) {
        self.campaignID = campaignID
        self.channel = channel
        self.locale = locale
        self.providerMessageID = providerMessageID
        self.address = address
        self.content = content
    }
}

extension OutboxStore {
    /// Claims rows of `providers` of `channel`, no campaign throttled.
    public func claim(channel: Channel, providers: ProviderSelection, limit: Int, leaseOwner: String, lease: Duration, at now: Date) async throws -> [ClaimedNotification] {
        try await claim(channel: channel, providers: providers, limit: limit, leaseOwner: leaseOwner, lease: lease, throttles: [:], at: now)
    }

    /// Claims rows of every provider of `channel`.
    public func claim(channel: Channel, limit: Int, leaseOwner: String, lease: Duration, at now: Date) async throws -> [ClaimedNotification] {
        try await claim(channel: channel, providers: .any, limit: limit, leaseOwner: leaseOwner, lease: lease, throttles: [:], at: now)
    }

    /// The earliest due time among all outbox rows of `channel`.
    public func nextDue(channel: Channel) async throws -> Date? {
        try await nextDue(channel: channel, providers: .any)
    }
}

extension PlanningStore {
    /// Writes a batch of decisions already made (no caps to check) in one transaction.
    public func savePlanned(_ batch: [PlannedNotification], at now: Date) async throws -> PlanSummary {
        try await savePlanned(PlanningPage(batch), at: now)
    }
}

/// When a dispatcher's lane may next claim something (``OutboxStore/nextClaimable(channel:providers:throttles:at:)``).
public struct NextClaimable: Sendable, Hashable {
    /// The earliest instant a claim may take a row: a row's due time, or for a campaign whose
    /// send ledger is full, when it has room again (which may be early: the campaign need not
    /// have rows in the lane). Nil when the lane has no row that is not leased.
    public var at: Date?
    /// Whether rows due by then are held back by their campaign's throttle (a claim would take
    /// them if it had room): `herald deliver` waits for them rather than stopping.
    public var isHeldBack: Bool

    public init(at: Date?, isHeldBack: Bool) {
        self.at = at
        self.isHeldBack = isHeldBack
    }
}

/// Which outbox rows of a channel a claim takes, by the provider they wait for: one dispatcher
/// lane per provider, so that a slow provider does not hold up another.
public enum ProviderSelection: Sendable, Hashable {
    /// Every row of the channel.
    case any
    /// The rows of one provider.
    case only(String)
    /// The rows of every provider but these (those with no lane of their own).
    case except([String])
}
