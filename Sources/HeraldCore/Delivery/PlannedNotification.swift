import Foundation

/// The identity of one planned send of a campaign: a campaign at one fire instant.
public struct Occurrence: Sendable, Hashable {
    /// How an occurrence came to be.
    public enum Kind: String, Sendable, Hashable {
        /// The campaign sent to its audience (`send --now`, or its schedule).
        case audience
        /// The campaign sent to named users (`send --user`, an API send).
        case users
        /// The campaign planned for the user an event happened to (`herald trigger`).
        case trigger
    }

    public var id: Int64
    public var campaignID: String
    public var fireAt: Date
    public var definitionHash: String
    public var kind: Kind
    /// Template parameters given for this send only (`send --param`); they override the
    /// campaign's `params`.
    public var params: [String: String]
    /// False when the occurrence already existed (it was planned before, maybe partly).
    public var isNew: Bool
    /// True when its planning finished: a resumed send only has to deliver what is left.
    public var isPlanned: Bool
    /// The campaign file's text when the occurrence started (scheduled occurrences), so that
    /// one resumed after an edit is finished with the definition it started with.
    public var definitionText: String?

    public init(
        id: Int64, campaignID: String, fireAt: Date, definitionHash: String, kind: Kind = .audience,
        params: [String: String] = [:], isNew: Bool, isPlanned: Bool = false, definitionText: String? = nil
    ) {
        self.definitionText = definitionText
        self.id = id
        self.campaignID = campaignID
        self.fireAt = fireAt
        self.definitionHash = definitionHash
        self.kind = kind
        self.params = params
        self.isNew = isNew
        self.isPlanned = isPlanned
    }
}

/// What a send asks of the store: the occurrence to plan, found or created in one transaction so
/// that two processes sending the same campaign at the same moment share one occurrence.
public struct OccurrenceRequest: Sendable, Hashable {
    public var campaignID: String
    public var definitionHash: String
    /// The fire instant of a new occurrence.
    public var fireAt: Date
    public var kind: Occurrence.Kind
    public var params: [String: String]
    /// Finish the latest unfinished audience send of the campaign instead of starting one.
    /// Default true; a send to named users never resumes.
    public var resumesUnfinished: Bool
    /// Start although an earlier audience send of the campaign finished (`send --again`).
    /// Default false: the store answers ``OccurrenceStart/alreadySent(_:)`` instead.
    public var repeatsFinished: Bool

    public init(
        campaignID: String, definitionHash: String, fireAt: Date, kind: Occurrence.Kind = .audience,
        params: [String: String] = [:], resumesUnfinished: Bool = true, repeatsFinished: Bool = false
    ) {
        self.campaignID = campaignID
        self.definitionHash = definitionHash
        self.fireAt = fireAt
        self.kind = kind
        self.params = params
        self.resumesUnfinished = resumesUnfinished
        self.repeatsFinished = repeatsFinished
    }
}

/// The answer to an ``OccurrenceRequest``.
public enum OccurrenceStart: Sendable, Hashable {
    /// A new occurrence.
    case started(Occurrence)
    /// An unfinished audience send of the campaign (interrupted, or still running in another
    /// process), to finish.
    case resumed(Occurrence)
    /// The campaign was already sent to its audience; nothing was created.
    case alreadySent(SendRecord)
}

/// An earlier finished send of a campaign, to tell the user what happened before.
public struct SendRecord: Sendable, Hashable {
    public var occurrence: Occurrence
    /// When its planning finished.
    public var finishedAt: Date?
    /// Distinct users with at least one notification sent or delivered.
    public var recipients: Int
    /// Notifications sent or delivered.
    public var sent: Int

    public init(occurrence: Occurrence, finishedAt: Date?, recipients: Int, sent: Int) {
        self.occurrence = occurrence
        self.finishedAt = finishedAt
        self.recipients = recipients
        self.sent = sent
    }
}

/// The planner's decision for one (occurrence, recipient, channel[, device]): either content to
/// send or a reason not to.
public struct PlannedNotification: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        case send(NotificationContent)
        case skip(SkipReason, detail: String?)
    }

    public var occurrenceID: Int64
    public var campaignID: String
    public var category: String
    public var userID: String
    public var channel: Channel
    /// The push device's address (token or web push endpoint) for a per-device decision; empty
    /// for email, SMS and a decision about the push channel as a whole.
    ///
    /// (occurrence, user, channel, device) is unique in the store: the same notification is
    /// never planned twice. The store compares the four values as columns, never as one joined
    /// string, so ids and tokens may contain any character.
    public var device: String
    public var provider: String?
    public var address: String?
    public var dueAt: Date
    /// Not sent after this instant (`expires_after`): `skipped(expired)`. `nil`: never expires.
    public var expiresAt: Date?
    public var decision: Decision {
        didSet { contentJSON = Self.json(of: decision) }
    }
    /// The content to send as the store keeps it (`NotificationContent.jsonText`), made with the
    /// decision, outside the store's write transaction; `nil` for a skip.
    public private(set) var contentJSON: String?
    /// A problem that did not stop the send (a variable that rendered empty); recorded as a
    /// `render_warning` event.
    public var warning: String?
    /// The experiment group the recipient is in (a variant's name, `treatment`, or `holdout`);
    /// nil for a campaign that tests nothing.
    public var variant: String?

    public init(
        occurrenceID: Int64, campaignID: String, category: String, userID: String,
        channel: Channel, device: String = "", provider: String?, address: String?, dueAt: Date, expiresAt: Date? = nil,
        decision: Decision, warning: String? = nil
    ) {
        self.expiresAt = expiresAt
        self.warning = warning
        self.device = device
        self.occurrenceID = occurrenceID
        self.campaignID = campaignID
        self.category = category
        self.userID = userID
        self.channel = channel
        self.provider = provider
        self.address = address
        self.dueAt = dueAt
        self.decision = decision
        self.contentJSON = Self.json(of: decision)
    }

    private static func json(of decision: Decision) -> String? {
        if case .send(let content) = decision { content.jsonText } else { nil }
    }
}

/// One page of an audience for the store to plan in one write transaction, with its decisions
/// made in advance from the cap ledger as it was read then (`expectedHistory`). In the write
/// transaction the store reads the ledger again: users whose entries changed meanwhile (another
/// planner took a slot) are decided again by `decide`, inside the transaction. Checking a
/// frequency cap and reserving its slot therefore happen together, so two planners (in two
/// processes) can never together go past a cap, while the rendering of a page is done outside
/// the write lock, and alongside the writing of the page before.
public struct PlanningPage: Sendable {
    public var userIDs: [String]
    /// Where the cap ledger is read from (entries due at or after it); `nil` when no cap can
    /// apply, and nothing is read.
    public var capHistorySince: Date?
    /// The ledger entries `decisions` were made with, by user (users without any are absent).
    public var expectedHistory: [String: [CapEntry]]
    public var decisions: [PlannedNotification]
    /// Decides again for the given users, from their ledger entries as they are in the
    /// transaction. Called only when some user's entries changed.
    public var decide: @Sendable (_ userIDs: Set<String>, _ capHistory: [String: [CapEntry]]) -> [PlannedNotification]
    /// The campaign's throttle, shared by all its sends; nil without one.
    public var throttle: PageThrottle?

    public init(
        userIDs: [String], capHistorySince: Date?, expectedHistory: [String: [CapEntry]], decisions: [PlannedNotification],
        decide: @escaping @Sendable (_ userIDs: Set<String>, _ capHistory: [String: [CapEntry]]) -> [PlannedNotification]
    ) {
        self.userIDs = userIDs
        self.capHistorySince = capHistorySince
        self.expectedHistory = expectedHistory
        self.decisions = decisions
        self.decide = decide
    }

    /// A page of decisions already made, with no caps to check.
    public init(_ batch: [PlannedNotification]) {
        self.init(userIDs: [], capHistorySince: nil, expectedHistory: [:], decisions: batch, decide: { _, _ in [] })
    }

    /// The decisions to write, given the ledger as the transaction reads it: the ones made in
    /// advance for users whose entries are unchanged, and fresh ones for the others.
    public func decisions(given history: [String: [CapEntry]]) -> [PlannedNotification] {
        guard capHistorySince != nil, history != expectedHistory else { return decisions }
        let changed = Set(userIDs.filter { history[$0] != expectedHistory[$0] })
        guard !changed.isEmpty else { return decisions }
        return decisions.filter { !changed.contains($0.userID) } + decide(changed, history.filter { changed.contains($0.key) })
    }
}

/// A throttled campaign's part in writing a page. The page's due times were chosen from the
/// campaign's throttle ledger as the planner last knew it; in the write transaction the store
/// reads the ledger again for the intervals the page fills, and when another send of the
/// campaign (another occurrence, another process) has filled one meanwhile, decides the page
/// again from the ledger as it is, so that no interval gets more than the rate. The store then
/// adds the page's sends to the ledger in the same transaction.
public struct PageThrottle: Sendable {
    public var campaignID: String
    public var rate: RateLiteral
    /// The ledger is read from the interval holding this instant on (the occurrence's fire
    /// instant: no send of it is due earlier).
    public var since: Date
    /// Decides every user of the page again once the throttle holds `usage` (sends per
    /// interval, by the interval's first instant), with the cap ledger `capHistory`.
    public var redecide: @Sendable (_ usage: [Date: Int], _ capHistory: [String: [CapEntry]]) -> [PlannedNotification]

    public init(
        campaignID: String, rate: RateLiteral, since: Date,
        redecide: @escaping @Sendable (_ usage: [Date: Int], _ capHistory: [String: [CapEntry]]) -> [PlannedNotification]
    ) {
        self.campaignID = campaignID
        self.rate = rate
        self.since = since
        self.redecide = redecide
    }

    /// The interval of `instant` (aligned to 1970, as ``ThrottleSlots`` counts).
    public func interval(of instant: Date) -> Int64 {
        Int64((instant.timeIntervalSince1970 / rate.per.seconds).rounded(.down))
    }

    /// Sends per interval among `decisions`.
    public func usage(of decisions: [PlannedNotification]) -> [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for planned in decisions {
            if case .send = planned.decision { counts[interval(of: planned.dueAt), default: 0] += 1 }
        }
        return counts
    }

    /// Whether the page's `counts` go past the rate given what the ledger holds (`stored`): an
    /// interval another send has started filling takes no more than the rate (an empty one
    /// may take one group larger than the rate, as ``ThrottleSlots`` allows).
    public func overfills(_ counts: [Int64: Int], given stored: [Int64: Int]) -> Bool {
        counts.contains { interval, count in
            let used = stored[interval] ?? 0
            return used > 0 && used + count > rate.count
        }
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
    /// Who holds the claim; with `claimNumber` it identifies this claim, so that an outcome
    /// that arrives after another dispatcher took the row over changes nothing.
    public var leaseOwner: String
    /// How many times the row has been claimed, this claim included.
    public var claimNumber: Int
    /// What each provider this send failed over from answered, in order (`twilio: the provider
    /// sent nothing for too long (read timeout)`): recorded as `failed_over` events with its
    /// outcome, so that every attempt at a provider is in the trail. Empty until then.
    public var failovers: [String] = []

    public init(
        message: OutboundMessage, category: String, dueAt: Date, preferences: Preferences, wasInFlight: Bool, leaseOwner: String = "",
        claimNumber: Int = 0
    ) {
        self.leaseOwner = leaseOwner
        self.claimNumber = claimNumber
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
    /// Not attempted after all, or failed for a reason that is not the message's (its provider
    /// is misconfigured, or its circuit breaker is open with no provider to fail over to): back
    /// in the outbox until `at`, and the attempt does not count against `retry.max_attempts`.
    case postponed(at: Date, reason: String)
}
