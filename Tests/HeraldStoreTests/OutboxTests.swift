import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

func planned(user: String, channel: Channel = .email, device: String = "", skip: SkipReason? = nil, due: Date, occurrence: Int64) -> PlannedNotification {
    PlannedNotification(
        occurrenceID: occurrence, campaignID: "spring", category: "marketing", userID: user,
        channel: channel, device: device, provider: "sendgrid", address: "\(user)@example.com", dueAt: due,
        decision: skip.map { .skip($0, detail: nil) } ?? .send(.email(EmailContent(subject: "Hi", text: "Hello \(user)")))
    )
}

@Suite struct OutboxTests {
    @Test func aDedupeKeyIsWrittenOnceAndEveryWriteHasItsEvent() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h1", at: now)
            let batch = [
                planned(user: "u-1", due: now, occurrence: occurrence.id),
                planned(user: "u-2", skip: .optedOut, due: now, occurrence: occurrence.id),
            ]
            #expect(try await store.savePlanned(batch, at: now) == PlanSummary(planned: 1, skipped: 1, duplicates: 0))
            #expect(try await store.savePlanned(batch, at: now) == PlanSummary(planned: 0, skipped: 0, duplicates: 2))
            #expect(try await store.eventCounts() == ["planned": 1, "skipped": 1])
            let again = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h2", at: now)
            #expect(again.id == occurrence.id && !again.isNew && again.definitionHash == "h1")
        }
    }

    @Test func aClaimIsLeasedAndAnExpiredLeaseIsReclaimedAndCounted() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned((1...3).map { planned(user: "u-\($0)", due: now, occurrence: occurrence.id) }, at: now)

            let first = try await store.claim(channel: .email, limit: 2, leaseOwner: "a", lease: .seconds(60), at: now)
            #expect(first.map(\.message.userID) == ["u-1", "u-2"])
            #expect(first.allSatisfy { !$0.wasInFlight && $0.message.attempt == 1 })
            // Another dispatcher sees only the unleased row while the lease holds.
            let second = try await store.claim(channel: .email, limit: 10, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(30))
            #expect(second.map(\.message.userID) == ["u-3"])
            #expect(try await store.claim(channel: .push, limit: 10, leaseOwner: "b", lease: .seconds(60), at: now).isEmpty)

            // "a" crashed: after its lease, its rows are taken over and marked as repeats of the
            // same attempt, with the same idempotency id as the send that may have gone out.
            let taken = try await store.claim(channel: .email, limit: 10, leaseOwner: "c", lease: .seconds(60), at: now.addingTimeInterval(61))
            #expect(taken.map(\.message.userID) == ["u-1", "u-2"])
            #expect(taken.allSatisfy { $0.wasInFlight && $0.message.attempt == 1 })
            #expect(taken.map(\.message.idempotencyID) == first.map(\.message.idempotencyID))
            #expect(try await store.eventCounts()["reclaimed"] == 2)
        }
    }

    /// A row whose content cannot be read (NULL or not JSON: a file edited by hand) fails the
    /// claim with an error that names it, not a crash, and the claim leases nothing.
    @Test func aNotificationWhoseContentCannotBeReadFailsTheClaimWithItsID() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned((1...2).map { planned(user: "u-\($0)", due: now, occurrence: occurrence.id) }, at: now)
            for content in ["NULL", "'{not json'"] {
                try await store.pool.write { db in try db.execute(sql: "UPDATE notifications SET content = \(content) WHERE user_id = 'u-2'") }
                let id = try await store.rows(sql: "SELECT id FROM notifications WHERE user_id = 'u-2'")
                do {
                    _ = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
                    Issue.record("a claim of unreadable content succeeded")
                } catch {
                    #expect("\(error)" == "notification \(id[0][0]) has content that cannot be read")
                }
                #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE lease_owner IS NOT NULL") == [["0"]])
            }
        }
    }

    @Test func outcomesMoveNotificationsToTheirNextStateWithOneEventEach() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            _ = try await store.upsertUsers([User(id: "u-4", devices: [Device(platform: .android, token: "dead-token")])], at: now)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            var push = planned(user: "u-4", channel: .push, due: now, occurrence: occurrence.id)
            push.address = "dead-token"
            push.decision = .send(.push(PushContent(body: "Hi")))
            _ = try await store.savePlanned((1...3).map { planned(user: "u-\($0)", due: now, occurrence: occurrence.id) }, at: now)
            _ = try await store.savePlanned([push], at: now)
            let emails = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            let pushes = try await store.claim(channel: .push, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            let retryAt = now.addingTimeInterval(120)
            try await store.resolve([
                (emails[0], .sent(providerMessageID: "sg-1", provider: "sendgrid")),
                (emails[1], .retry(at: retryAt, reason: "429 too many requests")),
                (emails[2], .failed(reason: "invalid address")),
                (pushes[0], .failed(reason: "UNREGISTERED", deactivateAddress: true)),
            ], at: now)

            let report = try await store.report(campaignID: "spring")
            #expect(report == [
                ReportRow(campaignID: "spring", occurrenceID: occurrence.id, fireAt: now, channel: .push, recipients: 1, targeted: 1, failed: 1),
                ReportRow(campaignID: "spring", occurrenceID: occurrence.id, fireAt: now, channel: .email, recipients: 3, targeted: 3, pending: 1, sent: 1, failed: 1),
            ])
            #expect(try await store.nextDue(channel: .email) == retryAt)
            #expect(try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now.addingTimeInterval(60)).isEmpty)
            let retried = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: retryAt)
            #expect(retried.map(\.message.userID) == ["u-2"])
            #expect(retried.first?.message.attempt == 2)
            let device = try await store.users(matching: .ids(["u-4"]), after: nil, limit: 1).first?.devices.first
            #expect(device?.isActive == false)
            #expect(try await store.eventCounts() == ["planned": 4, "sending": 5, "sent": 1, "retry_scheduled": 1, "failed": 2])
        }
    }
}

@Suite struct OccurrenceTests {
    @Test func anOccurrenceIsFoundAgainByTheInstantItReturned() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            // Instants with sub-millisecond parts, as a clock gives them.
            for offset in [0.000_123_4, 0.123_456_789, 0.999_999_9, 0.5] {
                let instant = Date(timeIntervalSince1970: 1_795_000_000 + offset)
                let first = try await store.beginOccurrence(campaignID: "c\(offset)", fireAt: instant, definitionHash: "h", at: instant)
                guard case .resumed(let resumable) = try await store.startOccurrence(
                    OccurrenceRequest(campaignID: "c\(offset)", definitionHash: "h", fireAt: instant.addingTimeInterval(60)), at: instant
                ) else {
                    Issue.record("the unfinished occurrence was not resumed")
                    continue
                }
                let again = try await store.beginOccurrence(campaignID: "c\(offset)", fireAt: resumable.fireAt, definitionHash: "h", at: instant)
                #expect(again.id == first.id && !again.isNew)
                #expect(resumable.fireAt == first.fireAt)
            }
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["4"]])
        }
    }
}

@Suite struct LeaseAndDeviceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anOutcomeArrivingAfterATakeoverIsRecordedButChangesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned([planned(user: "u-1", due: now, occurrence: occurrence.id)], at: now)
            let slow = try await store.claim(channel: .email, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now)
            let takeover = try await store.claim(channel: .email, limit: 1, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(61))
            try await store.resolve([(takeover[0], .sent(providerMessageID: "p-2", provider: "sendgrid"))], at: now.addingTimeInterval(62))
            try await store.resolve([(slow[0], .retry(at: now.addingTimeInterval(100), reason: "timeout"))], at: now.addingTimeInterval(63))

            #expect(try await store.rows(sql: "SELECT state, provider_message_id FROM notifications") == [["sent", "p-2"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["0"]])
            let events = try await store.eventCounts()
            #expect(events["late_outcome"] == 1 && events["sent"] == 1 && events["retry_scheduled"] == nil)
        }
    }

    @Test func aLeaseEndsAtItsLastInstant() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned([planned(user: "u-1", due: now, occurrence: occurrence.id)], at: now)
            _ = try await store.claim(channel: .email, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now)

            #expect(try await store.claim(channel: .email, limit: 1, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(59.999)).isEmpty)
            // A lease of 60 s taken at `now` holds until `now + 60`, and not at that instant.
            let taken = try await store.claim(channel: .email, limit: 1, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(60))
            #expect(taken.map(\.message.userID) == ["u-1"])
            #expect(taken.map(\.wasInFlight) == [true])
            #expect(try await store.eventCounts() == ["planned": 1, "sending": 1, "reclaimed": 1])
        }
    }

    @Test func anOutcomeOfAnEarlierAttemptIsLateEvenFromTheSameOwner() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned([planned(user: "u-1", due: now, occurrence: occurrence.id)], at: now)
            // The same dispatcher claims, its send hangs past the lease, and it claims the row again;
            // the first send's outcome arrives while the second claim holds the row.
            let first = try await store.claim(channel: .email, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now)
            let second = try await store.claim(channel: .email, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now.addingTimeInterval(61))
            try await store.resolve([(first[0], .failed(reason: "invalid address"))], at: now.addingTimeInterval(62))
            try await store.resolve([(second[0], .sent(providerMessageID: "p-2", provider: "sendgrid"))], at: now.addingTimeInterval(63))

            #expect(second[0].message.attempt == 1 && second[0].claimNumber == 2)
            #expect(try await store.rows(sql: "SELECT state, attempts, COALESCE(reason, ''), provider_message_id FROM notifications") == [["sent", "1", "", "p-2"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["0"]])
            let events = try await store.eventCounts()
            #expect(events["late_outcome"] == 1 && events["sent"] == 1 && events["failed"] == nil)
        }
    }

    @Test func theSameTokenOnTwoPlatformsIsClaimedOnce() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([User(id: "u-1", devices: [Device(platform: .ios, token: "tok"), Device(platform: .android, token: "tok")])], at: now)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            var push = planned(user: "u-1", channel: .push, due: now, occurrence: occurrence.id)
            push.address = "tok"
            push.decision = .send(.push(PushContent(body: "Hi")))
            _ = try await store.savePlanned([push], at: now)
            let claimed = try await store.claim(channel: .push, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            #expect(claimed.map(\.message.notificationID).count == 1)
        }
    }

    @Test func reimportingADeadTokenDoesNotWakeItUp() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let user = User(id: "u-1", devices: [Device(platform: .android, token: "dead")])
            _ = try await store.upsertUsers([user], at: now)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            var push = planned(user: "u-1", channel: .push, due: now, occurrence: occurrence.id)
            push.address = "dead"
            push.decision = .send(.push(PushContent(body: "Hi")))
            _ = try await store.savePlanned([push], at: now)
            let claimed = try await store.claim(channel: .push, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now)
            try await store.resolve([(claimed[0], .failed(reason: "UNREGISTERED", deactivateAddress: true))], at: now)

            #expect(try await store.upsertUsers([user], at: now) == UpsertSummary(unchanged: 1))
            #expect(try await store.users(matching: .ids(["u-1"]), after: nil, limit: 1).first?.devices.first?.isActive == false)
        }
    }

    @Test func anOptOutReportedByTheProviderIsSavedForLaterSends() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([User(id: "u-1", phone: "+15551234567")], at: now)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            var sms = planned(user: "u-1", channel: .sms, due: now, occurrence: occurrence.id)
            sms.decision = .send(.sms(SMSContent(body: "Hi")))
            _ = try await store.savePlanned([sms], at: now)
            let claimed = try await store.claim(channel: .sms, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now)
            try await store.resolve([(claimed[0], .optedOutAtProvider(reason: "21610 STOP"))], at: now)

            #expect(try await store.rows(sql: "SELECT state, reason FROM notifications") == [["skipped", "opted_out"]])
            let preferences = try await store.users(matching: .ids(["u-1"]), after: nil, limit: 1).first?.preferences
            #expect(preferences?.allows(channel: .sms, category: "transactional") == false)
            #expect(try await store.eventCounts()["unsubscribed"] == 1)
        }
    }
}
