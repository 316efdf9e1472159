import Foundation

/// What the HTTP API (`herald serve`, `herald run`) asks of the store beyond the engine's roles:
/// API sends with their Idempotency-Key and guests, and users' devices, preferences, erasure and
/// unsubscribes. Both stores implement it; each method is one transaction.
///
/// ```swift
/// switch try await store.apiSend(plan, at: now) {
/// case .planned(_, let decisions, let answer): …     // 202 with `answer`
/// case .replay(let status, let body): …              // the first answer again
/// case .keyReused: …                                 // 422
/// }
/// ```
public protocol APIStore: Sendable {
    /// The key of the HMAC that gives a guest their id (made with the store, random): ids differ
    /// from one database to another and tell nothing of an address without it.
    func guestIDKey() async throws -> [UInt8]

    /// An API send, whole, in one transaction: its occurrence (or the one its Idempotency-Key
    /// started, also when another process takes the same key at the same moment), its guests,
    /// the decisions `plan.decide` makes, the notifications, the occurrence finished, and the
    /// answer kept for the key. A send that fails writes nothing.
    ///
    /// - Throws: ``UnknownUsers`` or ``GuestIDTaken``; nothing is written then.
    func apiSend(_ plan: APISendPlan, at now: Date) async throws -> APISendResult

    /// Deletes a user's profile, devices, preferences and received events, cancels their queued
    /// notifications and clears the recipient, address and content of the rest. Nil when no user
    /// has the id.
    func eraseUser(id: String, at now: Date) async throws -> ErasureSummary?

    /// Adds or updates a user's devices (matched by platform and token): whether anything
    /// changed, or nil when no user has the id.
    func registerDevices(_ devices: [Device], userID: String) async throws -> Bool?

    /// Removes the device with `address` from a user: how many went, or nil when no user has the id.
    func unregisterDevice(address: String, userID: String) async throws -> Int?

    /// Sets some of a user's preferences (others stay) and returns all of them, or nil when no
    /// user has the id.
    func setPreferences(_ preferences: Preferences, userID: String, at now: Date) async throws -> Preferences?

    /// Honours an unsubscribe link: the notification's recipient (and, for a guest, the users at
    /// the same address) opts out of `preferenceKey(channel, category)`, and the notification's
    /// trail gets one `unsubscribed` event. Repeating it changes nothing.
    func unsubscribe(_ key: NotificationKey, at now: Date, preferenceKey: @escaping @Sendable (Channel, String) -> String) async throws -> UnsubscribeResult

    /// Whether the store answers and its migrations are applied (`/readyz`).
    func isReady() async -> Bool
}

/// What provider webhooks and Herald's own tracking links report, applied to the store.
public protocol ProviderEventStore: Sendable {
    /// Applies provider events, each once (by provider and event key, also when two servers
    /// receive the same webhook at the same moment), in one transaction.
    func applyProviderEvents(_ events: [ProviderEvent], at now: Date) async throws -> WebhookSummary

    /// Opts out of SMS every user whose phone is `phone` (a STOP reply); how many.
    func optOutPhone(_ phone: String, at now: Date) async throws -> Int
}

/// What erasing a user (GDPR) did.
public struct ErasureSummary: Sendable, Hashable, Codable {
    /// Notifications that waited in the outbox and will not be sent.
    public var cancelled: Int
    /// Notifications whose recipient, address and content were cleared; they still count in reports.
    public var anonymised: Int

    public init(cancelled: Int = 0, anonymised: Int = 0) {
        self.cancelled = cancelled
        self.anonymised = anonymised
    }
}

/// What a one-click unsubscribe did.
public enum UnsubscribeResult: Sendable, Hashable {
    /// The preference `key` is now off for the user (`changed` false when it was off before).
    case optedOut(userID: String, key: String, changed: Bool)
    /// The notification or its user no longer exists (erased): there is nobody to opt out.
    case nobody
}

/// An API send as the store writes it in one transaction (``APIStore/apiSend(_:at:)``).
public struct APISendPlan: Sendable {
    public var request: OccurrenceRequest
    public var appKey: String
    public var idempotencyKey: String?
    public var requestHash: String
    /// People named by address, stored as guests in the same transaction.
    public var guests: [User]
    /// Every recipient, users and guests, in the request's order.
    public var userIDs: [String]
    /// How far back the cap ledger matters, from the occurrence's fire instant; nil when no
    /// cap applies (a transactional send).
    public var capReach: Double?
    /// The decisions for the occurrence's users, given their cap ledger (the planner's).
    public var decide: @Sendable (_ occurrence: Occurrence, _ users: [User], _ history: [String: [CapEntry]]) -> [PlannedNotification]
    /// The answer to the request, kept with its Idempotency-Key.
    public var answer: @Sendable (_ occurrence: Occurrence, _ decisions: [PlanDecision]) -> String

    /// How long an Idempotency-Key is remembered: 24 hours.
    public static let idempotencyLifetime: TimeInterval = 86_400

    public init(
        request: OccurrenceRequest, appKey: String, idempotencyKey: String?, requestHash: String, guests: [User], userIDs: [String], capReach: Double?,
        decide: @escaping @Sendable (Occurrence, [User], [String: [CapEntry]]) -> [PlannedNotification],
        answer: @escaping @Sendable (Occurrence, [PlanDecision]) -> String
    ) {
        self.request = request
        self.appKey = appKey
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.guests = guests
        self.userIDs = userIDs
        self.capReach = capReach
        self.decide = decide
        self.answer = answer
    }
}

/// What an API send did.
public enum APISendResult: Sendable {
    /// Planned now, or before under the same Idempotency-Key and not answered (a crash).
    case planned(Occurrence, [PlanDecision], answer: String)
    /// The same key and body were answered before: the same answer.
    case replay(status: Int, body: String)
    /// The key was used with another body.
    case keyReused(firstAt: Date)
}

/// Users an API send names by id that do not exist: the send is refused and nothing of it written.
public struct UnknownUsers: Error, Sendable {
    public var ids: [String]

    public init(ids: [String]) {
        self.ids = ids
    }
}

/// A guest's id (derived from their address) that belongs to a user who is not a guest: the
/// send is refused and nothing of it written.
public struct GuestIDTaken: Error, Sendable {
    public var id: String

    public init(id: String) {
        self.id = id
    }
}


extension User {
    /// Turns off the preferences that users who are not guests turned off at this guest's email
    /// or phone (`optOuts`, by lowercased email or phone): a send to an address honours the
    /// opt-outs of the people at it. The same on every store.
    public mutating func takeOptOuts(atItsAddresses optOuts: [String: Set<String>]) {
        for address in [email?.lowercased(), phone].compactMap({ $0 }) {
            for key in optOuts[address] ?? [] { preferences[key] = false }
        }
    }
}
