import Foundation

/// What a transport says about one send. The recorder turns it into the next state.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The provider took the message; `providerMessageID` identifies it in webhooks.
    case accepted(providerMessageID: String)
    /// A temporary failure; try again, after `after` when the provider said so (Retry-After).
    case retry(after: Duration?, reason: String)
    /// The provider asked Herald to slow down (HTTP 429, or its own rate-limit code such as
    /// Twilio's 20429 or Mandrill's RequestLimitExceeded): retried like `retry`, and the
    /// provider's rate limiter slows down when many answers are throttles.
    case throttled(after: Duration?, reason: String)
    /// A permanent failure for this message (bad payload, content refused).
    case rejected(reason: String)
    /// The address no longer exists (unregistered token, invalid number); the device is deactivated.
    case deadAddress(reason: String)
    /// The provider says the recipient opted out (e.g. SMS STOP).
    case optedOut(reason: String)
    /// Herald's configuration is wrong (bad credentials); retrying will not help until it is fixed.
    case misconfigured(reason: String)

    /// The provider's answer in words: the reason, or the message id it was accepted under.
    public var reason: String {
        switch self {
        case .accepted(let id): "accepted as \(id)"
        case .retry(_, let reason), .throttled(_, let reason), .rejected(let reason), .deadAddress(let reason), .optedOut(let reason),
             .misconfigured(let reason):
            reason
        }
    }
}

/// One message handed to a transport: where to, what, on whose behalf, and what the provider
/// needs besides (category, expiry, an idempotency id, the unsubscribe link).
public struct OutboundMessage: Sendable, Hashable {
    public var notificationID: Int64
    /// The occurrence the notification belongs to; with the user, channel and device it is the
    /// notification's structural key (``NotificationKey``).
    public var occurrenceID: Int64
    public var campaignID: String
    public var userID: String
    public var channel: Channel
    /// The campaign's category: `transactional`, `marketing` or a topic. Every category but
    /// `transactional` is subscribed mail, which carries List-Unsubscribe.
    public var category: String
    /// The provider name from herald.yml that should carry it.
    public var provider: String
    /// Email address, E.164 phone, or device token / web push endpoint.
    public var address: String
    /// For web push: the subscription keys.
    public var subscription: WebPushSubscription?
    public var content: NotificationContent
    /// 1 for the first try.
    public var attempt: Int
    /// After this instant the message is worthless (`expires_after`); `nil` when it never expires.
    /// Transports pass it on where the provider takes one (Twilio's ValidityPeriod, APNs'
    /// apns-expiration) and refuse a message already past it.
    public var expiresAt: Date?
    /// The same for every send of this attempt and different for the next one: a provider that
    /// deduplicates requests (APNs' apns-id) sees a repeated request as the same message.
    /// Default: derived from the notification and the attempt (``OutboundMessage/idempotencyID(notificationID:attempt:campaignID:userID:)``).
    public var idempotencyID: UUID
    /// The recipient's signed one-click unsubscribe link (`tracking.base_url` + `/u/{token}`);
    /// `nil` when herald.yml has no `tracking:`.
    public var unsubscribeURL: String?

    public init(
        notificationID: Int64, occurrenceID: Int64 = 0, campaignID: String, userID: String, channel: Channel,
        category: String = "marketing", provider: String, address: String, subscription: WebPushSubscription? = nil,
        content: NotificationContent, attempt: Int, expiresAt: Date? = nil, idempotencyID: UUID? = nil, unsubscribeURL: String? = nil
    ) {
        self.notificationID = notificationID
        self.occurrenceID = occurrenceID
        self.campaignID = campaignID
        self.userID = userID
        self.channel = channel
        self.category = category
        self.provider = provider
        self.address = address
        self.subscription = subscription
        self.content = content
        self.attempt = attempt
        self.expiresAt = expiresAt
        self.idempotencyID = idempotencyID
            ?? Self.idempotencyID(notificationID: notificationID, attempt: attempt, campaignID: campaignID, userID: userID)
        self.unsubscribeURL = unsubscribeURL
    }

    /// True for subscribed mail (every category but `transactional`): it gets List-Unsubscribe.
    public var isSubscribed: Bool { category != "transactional" }

    /// The notification's structural key. Email and SMS have no device; a push message's device
    /// is its address.
    public var key: NotificationKey {
        NotificationKey(occurrenceID: occurrenceID, userID: userID, channel: channel, device: channel == .push ? address : "")
    }

    /// A UUID (version 8, RFC 9562's custom layout) computed from the notification and the
    /// attempt: the same inputs always give the same id, so a request repeated within an attempt
    /// keeps its id, and the campaign and user make ids of two databases unlikely to meet.
    ///
    /// - Parameter round: how many times an operator sent the notification back to the outbox
    ///   after it went dead (`herald dead-letter retry`), whose attempts count from 1 again: each
    ///   round's attempts get ids of their own. Round 0 gives the ids Herald always gave.
    public static func idempotencyID(notificationID: Int64, attempt: Int, campaignID: String, userID: String, round: Int = 0) -> UUID {
        let input = "\(notificationID)\u{1F}\(attempt)\u{1F}\(campaignID)\u{1F}\(userID)" + (round == 0 ? "" : "\u{1F}r\(round)")
        // Two FNV-1a 64 passes with different offsets, each finished by SplitMix64's mixer.
        func hash(_ offset: UInt64) -> UInt64 {
            var value = offset
            for byte in input.utf8 {
                value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
            value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
            return value ^ (value >> 31)
        }
        let high = hash(0xcbf2_9ce4_8422_2325), low = hash(0x8422_2325_cbf2_9ce4)
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }
}

/// Sends messages of one channel through one provider.
///
/// A transport never throws: every failure is classified into a ``DeliveryOutcome`` so that the
/// recorder decides retries in one place. It takes a batch so that a provider that accepts several
/// recipients per request (SendGrid's personalizations) can use it, and answers with one outcome
/// per message, in the order of `messages`.
public protocol Transport: Sendable {
    /// The provider name in herald.yml (`sendgrid`, `twilio`, …).
    var name: String { get }
    /// Sends `messages` and returns exactly one outcome per message, in order.
    func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome]
    /// Messages this transport sends in one request to its provider: those with equal keys, up
    /// to ``batchLimit`` of them (SendGrid's personalizations). `nil`: the message goes in a
    /// request of its own. The dispatcher hands such messages over together, so that what a
    /// crash can repeat is what was in one request at the provider. Default `nil`.
    func batchKey(for message: OutboundMessage) -> AnyHashable?
    /// The most messages of one key in one request. Default 1.
    var batchLimit: Int { get }
    /// How many requests a transport that multiplexes them on one connection (APNs' HTTP/2
    /// streams) keeps at its provider at once, so that the dispatcher hands it enough messages
    /// to fill them. `nil`: the dispatcher's own bound (`concurrency × groupSize`). Default `nil`.
    var multiplexedRequests: Int? { get }
}

extension Transport {
    public func batchKey(for message: OutboundMessage) -> AnyHashable? { nil }

    public var batchLimit: Int { 1 }

    public var multiplexedRequests: Int? { nil }

    /// Sends one message: a batch of one.
    public func send(_ message: OutboundMessage) async -> DeliveryOutcome {
        await send([message]).first ?? .retry(after: nil, reason: "the transport \(name) returned no outcome")
    }
}

/// The source of the current instant. Domain logic asks it instead of calling `Date()` or
/// `Task.sleep`, so that tests control time.
public protocol WallClock: Sendable {
    var now: Date { get }

    /// Returns once `now` has reached `deadline` (at once when it already has).
    ///
    /// - Throws: `CancellationError` when the task is cancelled while it waits.
    func sleep(until deadline: Date) async throws
}

extension WallClock {
    /// Sleeps on the system's clock until `now` reaches `deadline`, in steps of at most a minute,
    /// so that a wall clock set forward or back (NTP, a suspended machine) moves the wake-up with it.
    public func sleep(until deadline: Date) async throws {
        while true {
            let remaining = deadline.timeIntervalSince(now)
            guard remaining > 0 else { return }
            try await Task.sleep(for: .milliseconds(Int64((min(remaining, 60) * 1000).rounded(.up))))
        }
    }
}

/// The system's clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}
