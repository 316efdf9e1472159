import Foundation
import HeraldCore
import Testing

/// `herald trace`'s role, run the same way against a SQLite file and a PostgreSQL schema.
@Suite struct TraceStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreKind.allCases)
    func aTraceHasTheNotificationAsItStandsAndEveryEventInOrder(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            let tracing = try #require(store as? any TraceStore)
            let later = now.addingTimeInterval(86_400)
            let first = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            let second = try await store.beginOccurrence(campaignID: "spring", fireAt: later, definitionHash: "h", at: later)
            // The later send is planned first: traces come by send time, not by id.
            _ = try await store.savePlanned([plannedEmail(user: "u-1", occurrence: second.id, due: later)], at: later)
            _ = try await store.savePlanned([
                plannedEmail(user: "u-1", occurrence: first.id, due: now),
                plannedEmail(user: "u-2", occurrence: first.id, due: now, skip: .optedOut, detail: "email:marketing"),
            ], at: now)
            let claimed = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            #expect(claimed.map(\.message.userID) == ["u-1"])
            let retryAt = now.addingTimeInterval(120)
            try await store.resolve([(claimed[0], .retry(at: retryAt, reason: "429 too many requests"))], at: now.addingTimeInterval(1))
            let retried = try await store.claim(channel: .email, limit: 10, leaseOwner: "b", lease: .seconds(60), at: retryAt)
            try await store.resolve([(retried[0], .sent(providerMessageID: "sg-1", provider: "sendgrid"))], at: retryAt.addingTimeInterval(1))

            let trace = try #require(try await tracing.trace(notificationID: claimed[0].message.notificationID))
            #expect(trace.campaignID == "spring" && trace.userID == "u-1" && trace.channel == .email && trace.fireAt == now)
            #expect(trace.provider == "sendgrid" && trace.address == "u-1@example.com" && trace.state == .sent && trace.reason == nil)
            #expect(trace.attempts == 2 && trace.dueAt == now && trace.queuedDueAt == nil && trace.leaseUntil == nil)
            #expect(trace.providerMessageID == "sg-1")
            #expect(trace.events.map(\.type) == ["planned", "sending", "retry_scheduled", "sending", "sent"])
            #expect(trace.events.map(\.at) == [now, now, now.addingTimeInterval(1), retryAt, retryAt.addingTimeInterval(1)])
            #expect(trace.events[2].detail == "429 too many requests" && trace.events[4].detail == "sendgrid")

            let traces = try await tracing.traces(userID: "u-1", campaignID: "spring")
            #expect(traces.map(\.fireAt) == [now, later])
            #expect(traces.map(\.state) == [.sent, .planned])
            // Waiting in the outbox: its row's due time shows.
            #expect(traces[1].queuedDueAt == later && traces[1].events.map(\.type) == ["planned"])
            let skipped = try await tracing.traces(userID: "u-2", campaignID: "spring")
            #expect(skipped.map(\.state) == [.skipped] && skipped.first?.reason == "opted_out")
            #expect(skipped.first?.events.map(\.detail) == ["email:marketing"])

            #expect(try await tracing.trace(notificationID: 999_999) == nil)
            #expect(try await tracing.traces(userID: "u-1", campaignID: "autumn").isEmpty)
        }
    }
}
