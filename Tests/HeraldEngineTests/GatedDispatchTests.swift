import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// What the gates in front of each provider do to a dispatcher, in virtual time over a real
/// SQLite file: the breaker that sends traffic to the fallback or postpones it.
@Suite(.timeLimit(.minutes(2)))
struct GatedDispatchTests {
    typealias Fixture = DeliveryServiceTests.Fixture

    static let sms = ChannelRouting(sms: ["twilio", "vonage"])
    static let down = DeliveryOutcome.retry(after: nil, reason: "503 Service Unavailable")

    func dispatcher(
        _ fixture: Fixture, _ channel: Channel, _ transports: [any Transport], routing: ChannelRouting, gates: ProviderGates,
        concurrency: Int = 4
    ) -> Dispatcher {
        Dispatcher(
            channel: channel, store: fixture.store, transports: transports, retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)),
            clock: fixture.clock, configuration: .init(concurrency: concurrency, groupSize: 5, idlePoll: .seconds(3600)), routing: routing, gates: gates,
            signal: fixture.signal
        )
    }

    /// Five failures in a row open Twilio's breaker: the next group goes to Vonage without
    /// calling Twilio.
    @Test func anOpenBreakerSendsTheNextGroupToTheFallbackWithoutCallingTheProvider() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 10)
            try await fixture.plan([.sms], routing: Self.sms)
            let twilio = ScriptedTransport(name: "twilio", fallback: Self.down)
            let vonage = ScriptedTransport(name: "vonage")
            let gates = ProviderGates()
            // One group of 5 at a time: the first fails at Twilio (and fails over), the second
            // finds the breaker open.
            let summary = try await dispatcher(fixture, .sms, [twilio, vonage], routing: Self.sms, gates: gates, concurrency: 1).drain()
            #expect(twilio.batches.map(\.count) == [5])
            #expect(vonage.batches.map(\.count) == [5, 5])
            #expect(summary.sent == 10 && summary.retried == 0 && summary.postponed == 0)
            #expect(try await fixture.store.rows(sql: "SELECT provider, state, COUNT(*) FROM notifications GROUP BY 1, 2") == [["vonage", "sent", "10"]])
            #expect(gates.health(at: fixture.clock.now).filter { $0.provider == "twilio" }.map(\.breaker) == ["open"])
        }
    }

    /// With no provider to fail over to, rows that find the breaker open wait for it to
    /// half-open, without their attempt counted.
    @Test func anOpenBreakerWithoutAFallbackPostponesUntilItHalfOpens() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 10)
            try await fixture.plan([.email])
            let sendgrid = ScriptedTransport(name: "sendgrid", fallback: Self.down)
            let gates = ProviderGates()
            let email = ChannelRouting(email: ["sendgrid"])
            let summary = try await dispatcher(fixture, .email, [sendgrid], routing: email, gates: gates, concurrency: 1).drain()
            #expect(sendgrid.messages.count == 5, "the second group never reached the provider")
            #expect(summary.retried == 5 && summary.postponed == 5)
            let halfOpen = fixture.clock.now.addingTimeInterval(30)
            let rows = try await fixture.store.rows(sql: """
                SELECT n.state, n.attempts, o.attempts, o.due_at FROM notifications n JOIN outbox o ON o.notification_id = n.id
                WHERE n.id IN (SELECT notification_id FROM events WHERE type = 'postponed') ORDER BY n.id
                """)
            #expect(rows == Array(repeating: ["planned", "0", "0", "\(halfOpen.timeIntervalSince1970)"], count: 5))
            let reasons = try await fixture.store.rows(sql: "SELECT DISTINCT detail FROM events WHERE type = 'postponed'")
            #expect(reasons.count == 1 && reasons[0][0].contains("circuit breaker open"), "\(reasons)")
            // Half open, the breaker lets them through again, as their first attempt.
            fixture.clock.set(halfOpen)
            let again = try await fixture.store.claim(channel: .email, limit: 10, leaseOwner: "next", lease: .seconds(60), at: fixture.clock.now)
            let postponedIDs = Set(try await fixture.store.rows(sql: "SELECT notification_id FROM events WHERE type = 'postponed'").compactMap { Int64($0[0]) })
            #expect(again.filter { postponedIDs.contains($0.message.notificationID) }.map(\.message.attempt) == Array(repeating: 1, count: 5))
        }
    }
}
