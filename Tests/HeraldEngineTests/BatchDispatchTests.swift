import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Synchronization
import Testing

/// A transport that answers with fewer outcomes than messages: a bug the dispatcher survives.
private struct ShortTransport: Transport {
    let name = "sendgrid"
    func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        messages.dropLast().map { .accepted(providerMessageID: "m-\($0.notificationID)") }
    }
}

/// A transport that sends mail of one subject in one request, up to `limit` per request, as
/// SendGrid does with identical content; it records each call.
private final class SubjectBatchingTransport: Transport {
    let name = "sendgrid"
    let limit: Int
    private let calls = Mutex<[[String]]>([])

    init(limit: Int) {
        self.limit = limit
    }

    var batchLimit: Int { limit }

    func batchKey(for message: OutboundMessage) -> AnyHashable? {
        guard case .email(let content) = message.content, content.subject == "Announcement" else { return nil }
        return content.subject
    }

    /// Each call's recipients.
    var requests: [[String]] { calls.withLock { $0 } }

    func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        calls.withLock { $0.append(messages.map(\.userID)) }
        return messages.map { .accepted(providerMessageID: "m-\($0.notificationID)") }
    }
}

/// A transport that sends each message in a request of its own, `streams` of them at once on
/// one connection (APNs over HTTP/2 when `streams` is set); it records each call's size.
private final class StreamingTransport: Transport {
    let name = "sendgrid"
    let streams: Int?
    private let calls = Mutex<[Int]>([])

    init(streams: Int?) {
        self.streams = streams
    }

    var multiplexedRequests: Int? { streams }

    var callSizes: [Int] { calls.withLock { $0 } }

    func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        calls.withLock { $0.append(messages.count) }
        return messages.map { .accepted(providerMessageID: "m-\($0.notificationID)") }
    }
}

/// The dispatcher hands a claimed batch to the transports grouped by provider.
@Suite struct BatchDispatchTests {
    static let links = UnsubscribeLinks(baseURL: "https://t.example.com/", secret: "0123456789abcdef-secret")

    func plan(_ fixture: DeliveryPipelineTests.Fixture, users: [User], routing: ChannelRouting, category: String = "marketing") async throws {
        _ = try await fixture.store.upsertUsers(users, at: fixture.clock.now)
        let planner = Planner(
            store: fixture.store, renderer: ClosureRenderer.simple, routing: routing, unsubscribeLinks: Self.links, clock: fixture.clock
        )
        _ = try await planner.plan(campaign(channels: [.email], category: category), fireAt: fixture.clock.now)
    }

    @Test func aBatchGoesToEachProviderInOneCallWithOneOutcomePerMessage() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try DeliveryPipelineTests.Fixture(directory, scripts: ["user3@example.com": [.deadAddress(reason: "550")]])
            let users = (1...30).map { User(id: String(format: "u-%02d", $0), email: "user\($0)@example.com") }
            try await plan(fixture, users: users, routing: ChannelRouting(email: ["sendgrid"]))
            let summary = try await fixture.dispatcher(.email).drain()
            // 30 rows, claimed 32 at a time: one batch, one call.
            #expect(fixture.sendgrid.batches.map(\.count) == [30])
            #expect(summary.sent == 29 && summary.failed == 1)
            let rows = try await fixture.store.rows(sql: "SELECT address, state FROM notifications WHERE state != 'sent'")
            #expect(rows == [["user3@example.com", "failed"]])
        }
    }

    /// Single-message sends go in groups of `groupSize` (8), except to a transport that
    /// multiplexes requests: its lane's 4 groups fill its streams (100: groups of 25).
    @Test func aMultiplexingTransportGetsGroupsThatFillItsStreams() async throws {
        for (streams, expected) in [(Int?.none, [8, 8, 8, 8, 8, 8, 8, 4]), (100, [25, 25, 10])] {
            try await withTemporaryDirectory { directory in
                let fixture = try DeliveryPipelineTests.Fixture(directory)
                let users = (1...60).map { User(id: String(format: "u-%02d", $0), email: "user\($0)@example.com") }
                try await plan(fixture, users: users, routing: ChannelRouting(email: ["sendgrid"]))
                let transport = StreamingTransport(streams: streams)
                let dispatcher = Dispatcher(
                    channel: .email, store: fixture.store, transports: [transport], retryPolicy: RetryPolicy(), clock: fixture.clock,
                    configuration: Dispatcher.Configuration(batchSize: 200, concurrency: 4, groupSize: 8)
                )
                let summary = try await dispatcher.drain()
                #expect(summary.sent == 60)
                #expect(transport.callSizes.sorted(by: >) == expected, "streams \(String(describing: streams))")
            }
        }
    }

    @Test func messagesCarryTheCategoryTheOccurrenceAStableIdempotencyIDAndTheSignedUnsubscribeLink() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try DeliveryPipelineTests.Fixture(directory)
            try await plan(fixture, users: [User(id: "u-1", email: "a@example.com")], routing: ChannelRouting(email: ["sendgrid"]), category: "digest")
            let dispatcher = Dispatcher(
                channel: .email, store: fixture.store, transports: [fixture.sendgrid], retryPolicy: RetryPolicy(), clock: fixture.clock,
                unsubscribeLinks: Self.links
            )
            _ = try await dispatcher.drain()
            let message = try #require(fixture.sendgrid.messages.first)
            #expect(message.category == "digest" && message.isSubscribed)
            #expect(message.occurrenceID == 1)
            let url = try #require(message.unsubscribeURL)
            #expect(url.hasPrefix("https://t.example.com/u/"))
            let token = String(url.dropFirst("https://t.example.com/u/".count))
            #expect(Self.links.key(fromToken: token) == NotificationKey(occurrenceID: 1, userID: "u-1", channel: .email))
            #expect(message.idempotencyID == OutboundMessage.idempotencyID(notificationID: message.notificationID, attempt: 1, campaignID: "sale", userID: "u-1"))
        }
    }

    /// Identical mail goes to a batching transport together, up to its limit, so that one call is
    /// one request; other mail goes in small groups; never more groups at once than allowed.
    /// What a SendGrid lane of 2 places and groups of 8 does with email to `count` users whose
    /// content `render` gives, in batches of up to 100 of one subject: the users each request
    /// carried, the rows each claim returned (the lane of other providers' rows claims nothing,
    /// and is left out) and the notifications sent.
    func deliverEmail(
        to count: Int, _ render: @escaping @Sendable (User) -> EmailContent, in directory: TemporaryDirectory
    ) async throws -> (requests: [[String]], claims: [Int], sent: Int) {
        let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let users = (1...count).map { User(id: String(format: "u-%03d", $0), email: "user\($0)@example.com") }
        _ = try await store.upsertUsers(users, at: clock.now)
        _ = try await Planner(store: store, renderer: ClosureRenderer { _, _, user in .email(render(user)) }, routing: ChannelRouting(email: ["sendgrid"]), clock: clock)
            .plan(campaign(channels: [.email], category: "transactional"), fireAt: clock.now)
        let transport = SubjectBatchingTransport(limit: 100)
        let claims = Mutex<[Int]>([])
        var configuration = Dispatcher.Configuration(batchSize: 50, concurrency: 2, groupSize: 8, maximumBatch: 1000)
        configuration.onClaim = { _, rows in claims.withLock { $0.append(rows) } }
        let summary = try await Dispatcher(
            channel: .email, store: store, transports: [transport], retryPolicy: RetryPolicy(), clock: clock, configuration: configuration
        ).drain()
        #expect(transport.requests.flatMap { $0 }.sorted() == users.map(\.id))
        #expect(try await store.rows(sql: "SELECT COUNT(*) FROM events WHERE type = 'sent'") == [["\(summary.sent)"]])
        return (transport.requests, claims.withLock { $0 }.filter { $0 > 0 }, summary.sent)
    }

    @Test func identicalMailIsHandedOverInBatchesOfTheTransportsLimitAndTheRestInSmallGroups() async throws {
        try await withTemporaryDirectory { directory in
            // 250 get the same announcement, 20 a personal receipt.
            let (requests, sizes, sent) = try await deliverEmail(to: 270, { user in
                let personal = user.id > "u-250"
                return EmailContent(subject: personal ? "Receipt for \(user.id)" : "Announcement", html: nil, text: personal ? user.id : "News")
            }, in: directory)
            #expect(sent == 270)
            let announcements = requests.filter { $0.first! <= "u-250" }
            let receipts = requests.filter { $0.first! > "u-250" }
            // The lane cannot know that the rows share their content before it claims them: its
            // first claim is a group of 8 per free place (16), and each batch that had room
            // doubles the rows per place, up to the transport's limit.
            #expect(sizes.allSatisfy { $0 <= 100 } && sizes.prefix(5) == [16, 16, 32, 64, 100], "\(sizes)")
            #expect(announcements.map(\.count).sorted() == [16, 16, 22, 32, 64, 100])
            #expect(announcements.allSatisfy { $0.allSatisfy { $0 <= "u-250" } })
            #expect(receipts.allSatisfy { $0.count <= 8 && $0.allSatisfy { $0 > "u-250" } })
            #expect(receipts.map(\.count).reduce(0, +) == 20)
        }
    }

    /// Personal mail goes to SendGrid one request per message: a lane with two places claims two
    /// groups of 8 at a time, not a batch's 100 rows that it would hold leased and unsent while
    /// another worker could be sending them.
    @Test func personalMailIsClaimedOnlyAsFastAsTheLanesPlacesSendIt() async throws {
        try await withTemporaryDirectory { directory in
            let (requests, sizes, sent) = try await deliverEmail(to: 100, { user in
                EmailContent(subject: "Receipt for \(user.id)", html: nil, text: user.id)
            }, in: directory)
            #expect(sent == 100)
            #expect(requests.allSatisfy { $0.count <= 8 })
            #expect(sizes.allSatisfy { $0 <= 16 } && sizes.reduce(0, +) == 100, "\(sizes)")
        }
    }

    @Test func aTransportThatForgetsAnOutcomeGetsTheMessageRetriedNotLost() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try DeliveryPipelineTests.Fixture(directory)
            try await plan(fixture, users: [User(id: "u-1", email: "a@example.com"), User(id: "u-2", email: "b@example.com")], routing: ChannelRouting(email: ["sendgrid"]))
            let dispatcher = Dispatcher(channel: .email, store: fixture.store, transports: [ShortTransport()], retryPolicy: RetryPolicy(), clock: fixture.clock)
            let summary = try await dispatcher.drain()
            #expect(summary.sent == 1 && summary.retried == 1)
            let reasons = try await fixture.store.rows(sql: "SELECT detail FROM events WHERE type = 'retry_scheduled'")
            #expect(reasons == [["the transport sendgrid returned no outcome for this message"]])
        }
    }
}

/// A message its provider could not take goes to the channel's next provider.
@Suite struct FailoverTests {
    @Test func smsFailsOverToTheNextProviderWhichIsRecordedAsTheCarrier() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
            let routing = ChannelRouting(sms: ["twilio", "vonage"])
            let twilio = ScriptedTransport(name: "twilio", scripts: ["+15550000002": [.accepted(providerMessageID: "SM2")], "+15550000003": [.rejected(reason: "21617")]], fallback: .misconfigured(reason: "twilio 401 20003"))
            let vonage = ScriptedTransport(name: "vonage", scripts: ["+15550000004": [.retry(after: nil, reason: "vonage status 1")]], fallback: .accepted(providerMessageID: "V1"))
            let users = (1...4).map { User(id: "u-\($0)", phone: "+1555000000\($0)") }
            _ = try await store.upsertUsers(users, at: clock.now)
            _ = try await Planner(store: store, renderer: ClosureRenderer.simple, routing: routing, clock: clock)
                .plan(campaign(channels: [.sms]), fireAt: clock.now)
            let dispatcher = Dispatcher(
                channel: .sms, store: store, transports: [twilio, vonage], retryPolicy: RetryPolicy(), clock: clock, routing: routing
            )
            let summary = try await dispatcher.drain()
            #expect(summary.sent == 2 && summary.failed == 1 && summary.retried == 1)
            let rows = try await store.rows(sql: "SELECT user_id, state, COALESCE(provider, ''), COALESCE(provider_message_id, '') FROM notifications ORDER BY user_id")
            #expect(rows == [
                ["u-1", "sent", "vonage", "V1"],      // Twilio misconfigured: Vonage carried it
                ["u-2", "sent", "twilio", "SM2"],     // Twilio took it
                ["u-3", "failed", "twilio", ""],      // refused for itself: no failover
                ["u-4", "planned", "twilio", ""],     // both failed: retried later, from Twilio again
            ])
            #expect(vonage.messages.map(\.userID).sorted() == ["u-1", "u-4"])
            // Every attempt at a provider is in the trail: the one passed over, with its answer,
            // then the outcome at the next.
            let trail = try await store.rows(sql: """
                SELECT n.user_id, e.type, COALESCE(e.detail, '') FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type NOT IN ('planned', 'sending') ORDER BY n.user_id, e.id
                """)
            #expect(trail == [
                ["u-1", "failed_over", "twilio 401 20003"],
                ["u-1", "sent", "vonage"],
                ["u-2", "sent", "twilio"],
                ["u-3", "failed", ""],
                ["u-4", "failed_over", "twilio 401 20003"],
                ["u-4", "retry_scheduled", "vonage status 1"],
            ])
        }
    }
}

@Suite struct OutboundMessageTests {
    @Test func theIdempotencyIDIsStablePerAttemptAndAVersion8UUID() {
        let first = OutboundMessage.idempotencyID(notificationID: 42, attempt: 1, campaignID: "sale", userID: "u-1")
        #expect(first == OutboundMessage.idempotencyID(notificationID: 42, attempt: 1, campaignID: "sale", userID: "u-1"))
        #expect(first != OutboundMessage.idempotencyID(notificationID: 42, attempt: 2, campaignID: "sale", userID: "u-1"))
        #expect(first != OutboundMessage.idempotencyID(notificationID: 43, attempt: 1, campaignID: "sale", userID: "u-1"))
        let text = first.uuidString.lowercased()
        #expect(Array(text)[14] == "8")
        #expect("89ab".contains(Array(text)[19]))
    }

    @Test func onlyTransactionalMailIsUnsubscribed() {
        var message = OutboundMessage(
            notificationID: 1, campaignID: "c", userID: "u", channel: .email, category: "transactional", provider: "sendgrid",
            address: "a@example.com", content: .email(EmailContent(subject: "s", text: "t")), attempt: 1
        )
        #expect(!message.isSubscribed)
        message.category = "marketing"
        #expect(message.isSubscribed)
    }
}
