import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// What an operator sees and does through ``OutboxInspection``: queue figures, traces, dead letters
/// and provider health, on a real SQLite file, with rows brought to each state through the store's
/// own claim and resolve.
@Suite struct InspectionStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// The queue this suite looks at, built through the store's public API:
    /// - email/sendgrid: u-1 sent at +30 s; u-2 claimed and rescheduled to +90 s; u-3 dead;
    ///   u-4 leased until +90 s; u-5 and u-6 due at 0; u-7 due at +600 s.
    /// - sms/twilio: u-8 dead.
    struct Fixture {
        var store: SQLiteStore
        var ids: [String: Int64]
    }

    func makeFixture(_ directory: TemporaryDirectory) async throws -> Fixture {
        let store = try makeStore(directory)
        let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
        var batch = (1...6).map { planned(user: "u-\($0)", due: now, occurrence: occurrence.id) }
        batch.append(planned(user: "u-7", due: now.addingTimeInterval(600), occurrence: occurrence.id))
        var sms = planned(user: "u-8", channel: .sms, due: now, occurrence: occurrence.id)
        sms.provider = "twilio"
        sms.address = "+821012345678"
        sms.decision = .send(.sms(SMSContent(body: "Hi")))
        batch.append(sms)
        _ = try await store.savePlanned(batch, at: now)

        let claimedAt = now.addingTimeInterval(30)
        let emails = try await store.claim(channel: .email, limit: 4, leaseOwner: "a", lease: .seconds(60), at: claimedAt)
        let texts = try await store.claim(channel: .sms, limit: 1, leaseOwner: "a", lease: .seconds(60), at: claimedAt)
        #expect(emails.map(\.message.userID) == ["u-1", "u-2", "u-3", "u-4"])
        try await store.resolve([
            (emails[0], .sent(providerMessageID: "sg-1", provider: "sendgrid")),
            (emails[1], .retry(at: now.addingTimeInterval(90), reason: "429 too many requests")),
            (emails[2], .dead(reason: "gave up after 1 attempts: 503")),
            (texts[0], .dead(reason: "gave up after 1 attempts: connection refused")),
        ], at: claimedAt)
        let ids = try await store.rows(sql: "SELECT user_id, id FROM notifications")
        return Fixture(store: store, ids: Dictionary(uniqueKeysWithValues: ids.map { ($0[0], Int64($0[1])!) }))
    }

    @Test func theQueueCountsEachFigurePerChannelAndProvider() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await makeFixture(directory)
            let store = fixture.store
            try await store.recordProviderHealth(ProviderHealth(provider: "twilio", channel: .sms, breaker: .open, pausedReason: "misconfigured: 401"), at: now)
            try await store.recordProviderHealth(ProviderHealth(provider: "mandrill", channel: .email), at: now)

            let at = now.addingTimeInterval(45)
            let snapshot = try await store.queueSnapshot(at: at)
            #expect(snapshot.rows == [
                QueueRow(channel: .sms, provider: "twilio", dead: 1, breaker: .open, pausedReason: "misconfigured: 401"),
                QueueRow(channel: .email, provider: "mandrill"),
                QueueRow(channel: .email, provider: "sendgrid", queued: 5, dueNow: 2, inFlight: 1, retrying: 1, dead: 1, oldestDueAt: now, sentLastMinute: 1),
            ])
            #expect(snapshot.rows.last?.oldestDueAge(at: at) == 45)
            #expect(!snapshot.isOutboxEmpty)

            // Later: u-4's lease has ended (a crashed dispatcher: waiting to be taken over), u-2's
            // retry is due, and the send at +30 s is out of the last minute.
            let later = try await store.queueSnapshot(at: now.addingTimeInterval(100))
            #expect(later.rows.last == QueueRow(
                channel: .email, provider: "sendgrid", queued: 5, dueNow: 4, inFlight: 0, retrying: 2, dead: 1, oldestDueAt: now, sentLastMinute: 0
            ))
        }
    }

    @Test func anEmptyStoreHasAnEmptyQueueAndRowsNeverClaimedAreAllDue() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let empty = try await store.queueSnapshot(at: now)
            #expect(empty.rows.isEmpty && empty.isOutboxEmpty)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned([
                planned(user: "u-1", due: now, occurrence: occurrence.id),
                planned(user: "u-2", due: now.addingTimeInterval(-125), occurrence: occurrence.id),
            ], at: now)
            let snapshot = try await store.queueSnapshot(at: now)
            #expect(snapshot.rows == [QueueRow(channel: .email, provider: "sendgrid", queued: 2, dueNow: 2, oldestDueAt: now.addingTimeInterval(-125))])
            #expect(snapshot.rows.first?.oldestDueAge(at: now) == 125)
        }
    }

    @Test func noQueueFigureScansTheEventsTableAndDeadLettersComeFromTheirIndex() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeFixture(directory).store
            func plan(_ sql: String, _ arguments: StatementArguments) async throws -> String {
                try await store.pool.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }.joined(separator: "\n")
                }
            }
            let sent = try await plan(SQLiteStore.sentSQL, ["since": 0, "now": 1])
            #expect(sent.contains("SEARCH e USING INDEX events_by_type_time (type=? AND at>? AND at<?)"), "\(sent)")
            #expect(!sent.contains("SCAN e"), "\(sent)")
            let dead = try await plan(SQLiteStore.deadSQL, [])
            #expect(dead.contains("notifications_dead"), "\(dead)")
            // Listing, whatever the filter, reads an index (the dead ones', or the campaign's).
            for filter in [DeadLetterFilter(), DeadLetterFilter(channel: .sms), DeadLetterFilter(campaignID: "spring", channel: .email)] {
                let (condition, arguments) = SQLiteStore.deadCondition(filter)
                let list = try await plan("SELECT id FROM notifications WHERE \(condition)", arguments)
                #expect(list.split(separator: "\n").allSatisfy { $0.contains("INDEX") }, "\(list)")
            }
            let queued = try await plan(SQLiteStore.queuedSQL, ["now": 1])
            #expect(!queued.contains("events"), "\(queued)")
        }
    }

    @Test func aTraceHoldsTheHeaderAndTheWholeTrailInOrder() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await makeFixture(directory)
            let trace = try #require(try await fixture.store.trace(notificationID: fixture.ids["u-3"]!))
            #expect(trace.campaignID == "spring" && trace.userID == "u-3" && trace.channel == .email && trace.provider == "sendgrid")
            #expect(trace.fireAt == now && trace.dueAt == now && trace.address == "u-3@example.com")
            #expect(trace.state == .dead && trace.reason == "gave up after 1 attempts: 503" && trace.attempts == 1)
            #expect(trace.queuedDueAt == nil && trace.leaseUntil == nil)
            let claimedAt = now.addingTimeInterval(30)
            #expect(trace.events == [
                TraceEvent(type: "planned", at: now),
                TraceEvent(type: "sending", at: claimedAt, detail: "attempt 1"),
                TraceEvent(type: "dead", reason: "gave up after 1 attempts: 503", at: claimedAt),
            ])
            let leased = try #require(try await fixture.store.trace(notificationID: fixture.ids["u-4"]!))
            #expect(leased.state == .sending && leased.queuedDueAt == now && leased.leaseUntil == now.addingTimeInterval(90))
            let sent = try #require(try await fixture.store.trace(notificationID: fixture.ids["u-1"]!))
            #expect(sent.providerMessageID == "sg-1" && sent.events.last == TraceEvent(type: "sent", at: claimedAt, detail: "sendgrid"))

            #expect(try await fixture.store.trace(notificationID: 9_999) == nil)
            #expect(try await fixture.store.traces(userID: "u-8", campaignID: "spring").map(\.channel) == [.sms])
            #expect(try await fixture.store.traces(userID: "u-8", campaignID: "autumn").isEmpty)
        }
    }

    @Test func deadLettersAreListedByFilterWithTheirTotal() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await makeFixture(directory)
            let all = try await fixture.store.deadLetters(matching: DeadLetterFilter(), limit: 10)
            #expect(all.total == 2)
            #expect(all.letters == [
                DeadLetter(notificationID: fixture.ids["u-3"]!, campaignID: "spring", userID: "u-3", channel: .email, provider: "sendgrid",
                           attempts: 1, reason: "gave up after 1 attempts: 503", deadAt: now.addingTimeInterval(30)),
                DeadLetter(notificationID: fixture.ids["u-8"]!, campaignID: "spring", userID: "u-8", channel: .sms, provider: "twilio",
                           attempts: 1, reason: "gave up after 1 attempts: connection refused", deadAt: now.addingTimeInterval(30)),
            ])
            let sms = try await fixture.store.deadLetters(matching: DeadLetterFilter(channel: .sms), limit: 10)
            #expect(sms.total == 1 && sms.letters.map(\.userID) == ["u-8"])
            let page = try await fixture.store.deadLetters(matching: DeadLetterFilter(campaignID: "spring"), limit: 1)
            #expect(page.total == 2 && page.letters.map(\.userID) == ["u-3"])
            #expect(try await fixture.store.deadLetters(matching: DeadLetterFilter(campaignID: "autumn"), limit: 10).total == 0)
        }
    }

    @Test func aRequeuedDeadLetterIsDueNowWithAFreshSetOfAttempts() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await makeFixture(directory)
            let store = fixture.store
            let dead = fixture.ids["u-3"]!, sent = fixture.ids["u-1"]!
            let retryAt = now.addingTimeInterval(200)
            let eventsBefore = try await store.eventCounts()

            // An unknown id: an error that names it, and nothing changes.
            await #expect(throws: OutboxInspectionError(unknownNotifications: [9_999])) {
                try await store.requeueDeadLetters(.ids([dead, 9_999]), at: retryAt)
            }
            #expect(try await store.eventCounts() == eventsBefore)
            #expect(try await store.trace(notificationID: dead)?.state == .dead)

            let change = try await store.requeueDeadLetters(.ids([sent, dead, dead]), at: retryAt)
            #expect(change == DeadLetterChange(changed: [dead], notDead: [.init(notificationID: sent, state: .sent)]))
            let trace = try #require(try await store.trace(notificationID: dead))
            #expect(trace.state == .planned && trace.reason == nil && trace.attempts == 0 && trace.queuedDueAt == retryAt)
            #expect(trace.events.last == TraceEvent(type: "requeued", at: retryAt, detail: "dead-letter retry by operator"))
            #expect(try await store.deadLetters(matching: DeadLetterFilter(channel: .email), limit: 10).total == 0)

            // The next claim is its first attempt again, and its trail keeps the earlier one.
            let claimed = try await store.claim(channel: .email, limit: 10, leaseOwner: "b", lease: .seconds(60), at: retryAt)
            let again = try #require(claimed.first { $0.message.notificationID == dead })
            #expect(again.message.attempt == 1 && !again.wasInFlight)
            // A new round of attempts: not the id of the first round's attempt 1, which a
            // provider that deduplicates (APNs' apns-id) would take for the same request.
            let firstRound = OutboundMessage.idempotencyID(notificationID: dead, attempt: 1, campaignID: again.message.campaignID, userID: "u-3")
            #expect(again.message.idempotencyID != firstRound)
            #expect(again.message.idempotencyID == OutboundMessage.idempotencyID(
                notificationID: dead, attempt: 1, campaignID: again.message.campaignID, userID: "u-3", round: 1
            ))
            let types = try #require(try await store.trace(notificationID: dead)).events.map(\.type)
            #expect(types == ["planned", "sending", "dead", "requeued", "sending"])

            // Requeued once: a second retry finds it no longer dead.
            let twice = try await store.requeueDeadLetters(.ids([dead]), at: retryAt)
            #expect(twice == DeadLetterChange(notDead: [.init(notificationID: dead, state: .sending)]))
        }
    }

    @Test func discardClosesOnlyTheSelectedDeadLettersAsFailed() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await makeFixture(directory)
            let store = fixture.store
            let at = now.addingTimeInterval(300)
            let change = try await store.discardDeadLetters(.all(DeadLetterFilter(channel: .sms)), at: at)
            #expect(change == DeadLetterChange(changed: [fixture.ids["u-8"]!]))
            let trace = try #require(try await store.trace(notificationID: fixture.ids["u-8"]!))
            #expect(trace.state == .failed && trace.reason == "discarded")
            #expect(trace.events.last == TraceEvent(type: "discarded", reason: "discarded", at: at, detail: "dead-letter discard by operator"))
            #expect(try await store.trace(notificationID: fixture.ids["u-3"]!)?.state == .dead)
            #expect(try await store.discardDeadLetters(.all(DeadLetterFilter(channel: .sms)), at: at) == DeadLetterChange())
            // Nothing is deleted: every notification and every event is still there.
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications") == [["8"]])
            #expect(try await store.eventCounts()["discarded"] == 1)

            let rest = try await store.discardDeadLetters(.all(DeadLetterFilter()), at: at)
            #expect(rest.changed == [fixture.ids["u-3"]!])
            #expect(try await store.queueSnapshot(at: at).rows.allSatisfy { $0.dead == 0 })
        }
    }

    @Test func providerHealthKeepsWhenTheBreakerOpened() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            #expect(try await store.providerHealth().isEmpty)
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", channel: .email, breaker: .open), at: now)
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", breaker: .halfOpen), at: now.addingTimeInterval(30))
            #expect(try await store.providerHealth() == [ProviderHealth(
                provider: "sendgrid", channel: .email, breaker: .halfOpen, openedAt: now, updatedAt: now.addingTimeInterval(30)
            )])
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", breaker: .closed, pausedReason: "misconfigured: 401 bad key"), at: now.addingTimeInterval(60))
            #expect(try await store.providerHealth() == [ProviderHealth(
                provider: "sendgrid", channel: .email, breaker: .closed, pausedReason: "misconfigured: 401 bad key", updatedAt: now.addingTimeInterval(60)
            )])
            let given = now.addingTimeInterval(70)
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", breaker: .open, openedAt: given), at: now.addingTimeInterval(90))
            #expect(try await store.providerHealth().first?.openedAt == given)
        }
    }
}
