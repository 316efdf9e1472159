import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// What the dispatcher checks right before a send, and how it spreads retries, over a real SQLite
/// file. Each test changes something after planning and looks at what reached the provider and
/// what the store recorded.
@Suite struct DispatcherTests {
    typealias Fixture = DeliveryPipelineTests.Fixture

    @Test(arguments: [["marketing": false], ["email:marketing": false]])
    func aCategoryOptOutAfterPlanningStopsTheSend(preferences: [String: Bool]) async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            _ = try await fixture.store.upsertUsers([User(id: "u-1", email: "a@example.com"), User(id: "u-2", email: "b@example.com")], at: fixture.clock.now)
            _ = try await fixture.planner().plan(campaign(channels: [.email]), fireAt: fixture.clock.now)
            _ = try await fixture.store.upsertUsers([User(id: "u-2", email: "b@example.com", preferences: Preferences(preferences))], at: fixture.clock.now)

            let summary = try await fixture.dispatcher(.email).drain()
            #expect(fixture.sendgrid.messages.map(\.userID) == ["u-1"])
            #expect(summary.sent == 1 && summary.skipped == 1)
            let rows = try await fixture.store.rows(sql: "SELECT user_id, state, COALESCE(reason, '') FROM notifications ORDER BY user_id")
            #expect(rows == [["u-1", "sent", ""], ["u-2", "skipped", "opted_out"]])
        }
    }

    @Test func aCategoryOptOutAfterPlanningDoesNotStopATransactionalSend() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            _ = try await fixture.store.upsertUsers([User(id: "u-1", email: "a@example.com")], at: fixture.clock.now)
            _ = try await fixture.planner().plan(campaign(channels: [.email], category: "transactional"), fireAt: fixture.clock.now)
            let unsubscribed = User(id: "u-1", email: "a@example.com", preferences: Preferences(["marketing": false, "email:transactional": false]))
            _ = try await fixture.store.upsertUsers([unsubscribed], at: fixture.clock.now)

            _ = try await fixture.dispatcher(.email).drain()
            #expect(fixture.sendgrid.messages.map(\.userID) == ["u-1"])
            #expect(try await fixture.store.rows(sql: "SELECT state FROM notifications") == [["sent"]])
        }
    }

    @Test func aPushDeviceSwitchedOffAfterPlanningIsNotSentTo() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            let user = User(id: "u-1", devices: [Device(platform: .ios, token: "t-old"), Device(platform: .ios, token: "t-new")])
            _ = try await fixture.store.upsertUsers([user], at: fixture.clock.now)
            _ = try await fixture.planner().plan(campaign(channels: [.push]), fireAt: fixture.clock.now)
            // An import marks the old phone's token inactive after the campaign was planned.
            let switchedOff = User(id: "u-1", devices: [Device(platform: .ios, token: "t-old", isActive: false), Device(platform: .ios, token: "t-new")])
            _ = try await fixture.store.upsertUsers([switchedOff], at: fixture.clock.now)

            let summary = try await fixture.dispatcher(.push).drain()
            #expect(fixture.apns.messages.map(\.address) == ["t-new"])
            #expect(summary.sent == 1 && summary.skipped == 1)
            let rows = try await fixture.store.rows(sql: "SELECT device, state, COALESCE(reason, '') FROM notifications ORDER BY device")
            #expect(rows == [["t-new", "sent", ""], ["t-old", "skipped", "no_address"]])
        }
    }

    @Test func retriesOfABatchThatFailedTogetherAreSpreadOverTheBackoffWindow() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            let users = (1...20).map { User(id: String(format: "u-%02d", $0), email: "user\($0)@example.com") }
            _ = try await fixture.store.upsertUsers(users, at: fixture.clock.now)
            _ = try await fixture.planner().plan(campaign(channels: [.email]), fireAt: fixture.clock.now)
            // The provider is down for everyone at once and gives no Retry-After.
            let down = ScriptedTransport(name: "sendgrid", fallback: .retry(after: nil, reason: "503"))
            let dispatcher = Dispatcher(
                channel: .email, store: fixture.store, transports: [down],
                retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)), clock: fixture.clock
            )
            #expect(try await dispatcher.drain().retried == 20)

            // After a first failure the backoff ceiling is 2 s with full jitter, so each retry is
            // due between the 20 ms floor and 2 s later, and they must not all come back at the
            // same instant; some come back in the first half of the window.
            let delays = try await fixture.store.rows(sql: "SELECT due_at FROM outbox ORDER BY notification_id")
                .map { try #require(Double($0[0])) - fixture.clock.now.timeIntervalSince1970 }
            #expect(delays.count == 20)
            #expect(delays.allSatisfy { $0 >= 0.019 && $0 <= 2 }, "\(delays)")
            #expect(delays.contains { $0 < 1 }, "\(delays)")
            #expect(Set(delays).count >= 15, "\(delays)")
            #expect(try #require(delays.max()) - #require(delays.min()) >= 0.5, "\(delays)")
        }
    }
}
