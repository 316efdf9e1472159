import Foundation

/// Notifications with their event trails, for `herald trace`: the part of the inspection that
/// both stores have.
public protocol TraceStore: Sendable {
    /// One notification with its whole event trail, or nil when no notification has this id.
    func trace(notificationID: Int64) async throws -> NotificationTrace?

    /// Every notification of `campaignID` for `userID` (each channel, device and occurrence) with
    /// its trail, by send time, then channel, then id. Empty when there is none.
    func traces(userID: String, campaignID: String) async throws -> [NotificationTrace]
}

/// What an operator looks at and does while notifications are being delivered: the queues per
/// channel and provider, one notification's trail, and the dead letters, which can be sent again
/// or closed. Providers' health is written here by the delivery workers and read by `herald queue`.
///
/// A role of the store, kept apart from ``Store`` so that a tool that only inspects needs only
/// this. Every method that changes a notification appends its event in the same transaction
/// (DESIGN.md, invariant 6); nothing here deletes a notification or an event.
///
/// ```swift
/// let snapshot = try await store.queueSnapshot(at: clock.now)
/// let dead = snapshot.rows.filter { $0.dead > 0 }.map { "\($0.channel.rawValue)/\($0.provider): \($0.dead)" }
/// ```
public protocol OutboxInspection: TraceStore {
    /// The queues per channel and provider at `now`, with the providers' breakers: one row per
    /// (channel, provider) that has anything queued, dead, sent in the last minute, or a health
    /// record. Ordered by channel, then provider.
    func queueSnapshot(at now: Date) async throws -> QueueSnapshot

    /// Up to `limit` dead notifications matching `filter`, in id order, and how many match in all.
    func deadLetters(matching filter: DeadLetterFilter, limit: Int) async throws -> DeadLetterPage

    /// Puts the selected dead notifications back in their channel's outbox, due at `now`, in state
    /// `planned` with a `requeued` event each, all in one transaction. The attempt counter starts
    /// again from zero, so each gets the retry policy's full set of attempts; the earlier attempts
    /// stay in its trail. Only notifications still `dead` when the transaction runs change.
    ///
    /// - Throws: ``OutboxInspectionError`` naming the ids no notification has; then nothing changes.
    func requeueDeadLetters(_ selection: DeadLetterSelection, at now: Date) async throws -> DeadLetterChange

    /// Closes the selected dead notifications as `failed` with reason `discarded` and a
    /// `discarded` event each, in one transaction. Only notifications still `dead` change.
    ///
    /// - Throws: ``OutboxInspectionError`` naming the ids no notification has; then nothing changes.
    func discardDeadLetters(_ selection: DeadLetterSelection, at now: Date) async throws -> DeadLetterChange

    /// Records a provider's breaker state and pause (an upsert keyed by provider), at `now`.
    /// Delivery workers call it whenever a breaker changes state or a provider is paused as
    /// misconfigured, and when the pause ends. When `health.openedAt` is nil, an open or half-open
    /// breaker keeps the instant it first opened (or `now` when it was closed), and a closed
    /// breaker has none.
    func recordProviderHealth(_ health: ProviderHealth, at now: Date) async throws

    /// Every provider's last recorded health, by provider name.
    func providerHealth() async throws -> [ProviderHealth]

    /// Per channel, what alerts look at: attempts and failures (retries scheduled, dead letters
    /// and sends the provider failed for good, a refused message or a dead address: the channel
    /// did not carry them) in the last `window` seconds, dead letters in it, and the age of the oldest notification due and not
    /// being sent. `providers` is left empty for the caller, who knows the breakers.
    func channelHealth(window: TimeInterval, at now: Date) async throws -> [ChannelHealthSnapshot]
}

/// A provider's circuit breaker and pause, as the delivery workers last recorded them.
public struct ProviderHealth: Sendable, Hashable {
    /// The breaker's state. Stable strings: they are stored and printed.
    public enum Breaker: String, Sendable, Hashable, CaseIterable {
        /// Sends go through.
        case closed
        /// Sends are held back after too many failures.
        case open
        /// A trial send decides whether it closes again.
        case halfOpen = "half_open"
    }

    /// The provider name from herald.yml.
    public var provider: String
    /// The channel it carries, when the worker knows it.
    public var channel: Channel?
    public var breaker: Breaker
    /// Why the provider is paused (e.g. misconfigured credentials); nil when it is not paused.
    public var pausedReason: String?
    /// When the breaker opened; nil when it is closed.
    public var openedAt: Date?
    /// When this was recorded; set by the store, ignored when recording.
    public var updatedAt: Date?

    public init(provider: String, channel: Channel? = nil, breaker: Breaker = .closed, pausedReason: String? = nil, openedAt: Date? = nil, updatedAt: Date? = nil) {
        self.provider = provider
        self.channel = channel
        self.breaker = breaker
        self.pausedReason = pausedReason
        self.openedAt = openedAt
        self.updatedAt = updatedAt
    }
}

/// The queues at one instant (``OutboxInspection/queueSnapshot(at:)``).
public struct QueueSnapshot: Sendable, Hashable {
    /// The instant the figures are for.
    public var at: Date
    public var rows: [QueueRow]

    public init(at: Date, rows: [QueueRow]) {
        self.at = at
        self.rows = rows
    }

    /// Whether the outbox holds nothing (dead letters are not in the outbox).
    public var isOutboxEmpty: Bool { rows.allSatisfy { $0.queued == 0 } }
}

/// One channel and provider's queue. The provider of a queued row is its notification's.
public struct QueueRow: Sendable, Hashable {
    public var channel: Channel
    /// The provider name; empty when the notification has none.
    public var provider: String
    /// Rows in the outbox.
    public var queued: Int
    /// Outbox rows due and free to claim (not leased).
    public var dueNow: Int
    /// Outbox rows leased to a dispatcher whose lease has not ended.
    public var inFlight: Int
    /// Outbox rows tried at least once and not leased: waiting for a retry (or for a crashed
    /// dispatcher's lease to be taken over).
    public var retrying: Int
    /// Notifications in state `dead`.
    public var dead: Int
    /// The earliest due time among the rows counted in ``dueNow``; nil when none is due.
    public var oldestDueAt: Date?
    /// `sent` events in the 60 seconds up to the snapshot's instant.
    public var sentLastMinute: Int
    /// `closed` when the provider has no health record.
    public var breaker: ProviderHealth.Breaker
    public var pausedReason: String?

    public init(
        channel: Channel, provider: String, queued: Int = 0, dueNow: Int = 0, inFlight: Int = 0, retrying: Int = 0, dead: Int = 0,
        oldestDueAt: Date? = nil, sentLastMinute: Int = 0, breaker: ProviderHealth.Breaker = .closed, pausedReason: String? = nil
    ) {
        self.channel = channel
        self.provider = provider
        self.queued = queued
        self.dueNow = dueNow
        self.inFlight = inFlight
        self.retrying = retrying
        self.dead = dead
        self.oldestDueAt = oldestDueAt
        self.sentLastMinute = sentLastMinute
        self.breaker = breaker
        self.pausedReason = pausedReason
    }

    /// Sends per second over the last minute.
    public var sendRate: Double { Double(sentLastMinute) / 60 }

    /// How long the oldest due row has waited at `now`.
    public func oldestDueAge(at now: Date) -> TimeInterval? {
        oldestDueAt.map { max(0, now.timeIntervalSince($0)) }
    }
}

/// One notification and its event trail, for `herald trace`.
public struct NotificationTrace: Sendable, Hashable {
    public var notificationID: Int64
    public var campaignID: String
    /// The fire instant of the occurrence (send) it belongs to.
    public var fireAt: Date
    public var userID: String
    public var channel: Channel
    public var provider: String?
    /// The email, phone or device token, as stored.
    public var address: String?
    public var state: NotificationState
    public var reason: String?
    /// Attempts so far (since the last requeue).
    public var attempts: Int
    /// When it was planned to go.
    public var dueAt: Date
    /// When its outbox row is due, when it is in the outbox.
    public var queuedDueAt: Date?
    /// Until when a dispatcher holds it, when it is leased.
    public var leaseUntil: Date?
    public var expiresAt: Date?
    public var providerMessageID: String?
    /// Its events in the order they were appended.
    public var events: [TraceEvent]

    public init(
        notificationID: Int64, campaignID: String, fireAt: Date, userID: String, channel: Channel, provider: String?, address: String?,
        state: NotificationState, reason: String?, attempts: Int, dueAt: Date, queuedDueAt: Date?, leaseUntil: Date?, expiresAt: Date?,
        providerMessageID: String?, events: [TraceEvent]
    ) {
        self.notificationID = notificationID
        self.campaignID = campaignID
        self.fireAt = fireAt
        self.userID = userID
        self.channel = channel
        self.provider = provider
        self.address = address
        self.state = state
        self.reason = reason
        self.attempts = attempts
        self.dueAt = dueAt
        self.queuedDueAt = queuedDueAt
        self.leaseUntil = leaseUntil
        self.expiresAt = expiresAt
        self.providerMessageID = providerMessageID
        self.events = events
    }
}

/// One event of a notification's trail.
public struct TraceEvent: Sendable, Hashable {
    /// The stored type; a string so that a type this version does not know is still shown.
    public var type: String
    public var reason: String?
    public var at: Date
    public var detail: String?

    public init(type: String, reason: String? = nil, at: Date, detail: String? = nil) {
        self.type = type
        self.reason = reason
        self.at = at
        self.detail = detail
    }
}

/// Which dead notifications a list or an `--all` selection takes.
public struct DeadLetterFilter: Sendable, Hashable {
    public var campaignID: String?
    public var channel: Channel?

    public init(campaignID: String? = nil, channel: Channel? = nil) {
        self.campaignID = campaignID
        self.channel = channel
    }
}

/// The dead notifications a retry or a discard acts on.
public enum DeadLetterSelection: Sendable, Hashable {
    /// These notifications; those that are not dead are reported, not changed.
    case ids([Int64])
    /// Every dead notification matching the filter.
    case all(DeadLetterFilter)
}

/// One dead notification.
public struct DeadLetter: Sendable, Hashable {
    public var notificationID: Int64
    public var campaignID: String
    public var userID: String
    public var channel: Channel
    public var provider: String?
    public var attempts: Int
    /// Why it was given up.
    public var reason: String?
    /// When it died.
    public var deadAt: Date

    public init(notificationID: Int64, campaignID: String, userID: String, channel: Channel, provider: String?, attempts: Int, reason: String?, deadAt: Date) {
        self.notificationID = notificationID
        self.campaignID = campaignID
        self.userID = userID
        self.channel = channel
        self.provider = provider
        self.attempts = attempts
        self.reason = reason
        self.deadAt = deadAt
    }
}

/// A page of dead letters and how many match in all.
public struct DeadLetterPage: Sendable, Hashable {
    public var letters: [DeadLetter]
    public var total: Int

    public init(letters: [DeadLetter], total: Int) {
        self.letters = letters
        self.total = total
    }
}

/// What a retry or a discard did.
public struct DeadLetterChange: Sendable, Hashable {
    /// A named notification that was not dead, and the state it was left in.
    public struct Unchanged: Sendable, Hashable {
        public var notificationID: Int64
        public var state: NotificationState

        public init(notificationID: Int64, state: NotificationState) {
            self.notificationID = notificationID
            self.state = state
        }
    }

    /// The notifications changed, in id order.
    public var changed: [Int64]
    /// Named notifications left as they were because they were not dead, in the order named.
    public var notDead: [Unchanged]

    public init(changed: [Int64] = [], notDead: [Unchanged] = []) {
        self.changed = changed
        self.notDead = notDead
    }
}

/// An operator's request named something the store does not hold.
public struct OutboxInspectionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unknownNotification = "inspection.unknown_notification"
    }

    public var code: Code
    /// The ids no notification has.
    public var notificationIDs: [Int64]

    public init(unknownNotifications ids: [Int64]) {
        code = .unknownNotification
        notificationIDs = ids
    }

    public var description: String {
        let list = notificationIDs.map(String.init).joined(separator: ", ")
        return notificationIDs.count == 1 ? "no notification \(list) in the store" : "no notifications \(list) in the store"
    }
}

extension ProviderHealth.Breaker {
    /// A stored breaker state; one written by a newer version is shown as open: something is
    /// wrong with it.
    public init(stored: String) {
        self = Self(rawValue: stored) ?? .open
    }
}

extension DeadLetterChange {
    /// Sorts the notifications an operator named by their current state (`states`, by id, as the
    /// store read them under its write lock): the ones to change (still dead) in id order, and
    /// the ones left as they are, in the order named. Each id counts once.
    ///
    /// - Throws: ``OutboxInspectionError`` naming the ids `states` lacks; then nothing changes.
    public static func sort(named: [Int64], states: [Int64: String]) throws -> (dead: [Int64], notDead: [Unchanged]) {
        var unknown: [Int64] = []
        var seen = Set<Int64>()
        var dead: [Int64] = []
        var notDead: [Unchanged] = []
        for id in named where seen.insert(id).inserted {
            switch states[id] {
            case nil: unknown.append(id)
            case NotificationState.dead.rawValue?: dead.append(id)
            case let state?: notDead.append(Unchanged(notificationID: id, state: NotificationState(rawValue: state) ?? .failed))
            }
        }
        guard unknown.isEmpty else { throw OutboxInspectionError(unknownNotifications: unknown) }
        return (dead.sorted(), notDead)
    }
}
