import Foundation
import HeraldCore
import Testing

/// The report's counts, on both stores: per send and channel, totals for a campaign sent more
/// than once, engagement from the trail; and the first sends the demo shows.
@Suite struct ReportStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreKind.allCases)
    func theReportCountsEachSendAndChannelAndTotalsACampaignSentTwice(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows, execute) = (stores[0].store, stores[0].rows, stores[0].execute)
            _ = try await store.upsertUsers((1...4).map { User(id: "u-\($0)") }, at: now)
            let first = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned(
                (1...3).map { plannedEmail(user: "u-\($0)", occurrence: first.id, due: now) }
                    + [plannedEmail(user: "u-4", occurrence: first.id, due: now, skip: .optedOut), plannedPush(user: "u-1", token: "t1", occurrence: first.id, due: now)],
                at: now
            )
            let emails = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            try await store.resolve([
                (emails[0], .sent(providerMessageID: "m-1", provider: "sendgrid")), (emails[1], .failed(reason: "bounced")),
                (emails[2], .dead(reason: "5 attempts")),
            ], at: now)
            let later = now.addingTimeInterval(86_400)
            let second = try await store.beginOccurrence(campaignID: "spring", fireAt: later, definitionHash: "h", at: later)
            _ = try await store.savePlanned([plannedEmail(user: "u-1", occurrence: second.id, due: later), plannedEmail(user: "u-2", occurrence: second.id, due: later)], at: later)
            let other = try await store.beginOccurrence(campaignID: "autumn", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned([plannedEmail(user: "u-1", occurrence: other.id, campaign: "autumn", due: now)], at: now)
            // What tracking links and webhooks write: u-1's first email opened twice (counted once),
            // by a person and by a machine, clicked, and reported as spam.
            let id = try #require(try await rows("SELECT id FROM notifications WHERE occurrence_id = \(first.id) AND user_id = 'u-1' AND channel = 'email'").first?.first)
            for (type, reason) in [("opened", "first"), ("opened", "first"), ("opened", "machine"), ("clicked", "NULL"), ("unsubscribed", "spam_report")] {
                try await execute("""
                    INSERT INTO events (notification_id, campaign_id, channel, type, reason, at)
                    VALUES (\(id), 'spring', 'email', '\(type)', \(reason == "NULL" ? "NULL" : "'\(reason)'"), \(Int(now.timeIntervalSince1970)))
                    """)
            }

            var firstEmail = ReportRow(
                campaignID: "spring", occurrenceID: first.id, fireAt: now, channel: .email, recipients: 4, targeted: 4, skipped: ["opted_out": 1],
                sent: 1, failed: 1, dead: 1
            )
            firstEmail.bounced = 1
            firstEmail.opened = 1
            firstEmail.machineOpened = 1
            firstEmail.clicked = 1
            firstEmail.unsubscribed = 1
            firstEmail.complained = 1
            let firstPush = ReportRow(campaignID: "spring", occurrenceID: first.id, fireAt: now, channel: .push, recipients: 1, targeted: 1, pending: 1)
            let secondEmail = ReportRow(campaignID: "spring", occurrenceID: second.id, fireAt: later, channel: .email, recipients: 2, targeted: 2, pending: 2)
            var totalEmail = ReportRow(
                campaignID: "spring", channel: .email, recipients: 4, targeted: 6, skipped: ["opted_out": 1], pending: 2, sent: 1, failed: 1, dead: 1
            )
            totalEmail.bounced = 1
            totalEmail.opened = 1
            totalEmail.machineOpened = 1
            totalEmail.clicked = 1
            totalEmail.unsubscribed = 1
            totalEmail.complained = 1
            let totalPush = ReportRow(campaignID: "spring", channel: .push, recipients: 1, targeted: 1, pending: 1)
            #expect(try await store.report(campaignID: "spring") == [firstPush, firstEmail, secondEmail, totalPush, totalEmail])
            let autumn = ReportRow(campaignID: "autumn", occurrenceID: other.id, fireAt: now, channel: .email, recipients: 1, targeted: 1, pending: 1)
            #expect(try await store.report(campaignID: nil) == [autumn, firstPush, firstEmail, secondEmail, totalPush, totalEmail])
            #expect(try await store.report(campaignID: "winter").isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theFirstSendsAreOnePerCampaignAndChannelAndOneForKoreanRecipients(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            #expect(try await store.firstSends().isEmpty)
            _ = try await store.upsertUsers([
                User(id: "u-1", locale: "en-US"), User(id: "u-2", locale: "ko-KR"), User(id: "u-3", locale: "KO"), User(id: "u-4"),
            ], at: now)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned(
                ["u-4", "u-1", "u-3", "u-2"].map { plannedEmail(user: $0, occurrence: occurrence.id, due: now) }
                    + [plannedPush(user: "u-2", token: "t2", occurrence: occurrence.id, due: now)],
                at: now
            )
            let claimed = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
                + store.claim(channel: .push, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            try await store.resolve(claimed.map { ($0, .sent(providerMessageID: "m-\($0.message.userID)-\($0.message.channel.rawValue)", provider: $0.message.provider)) }, at: now)
            let samples = try await store.firstSends()
            #expect(samples.map { "\($0.campaignID) \($0.channel.rawValue) \($0.locale) \($0.providerMessageID) \($0.address)" } == [
                "spring email  m-u-4-email u-4@example.com", "spring email KO m-u-3-email u-3@example.com", "spring push ko-KR m-u-2-push t2",
            ])
            #expect(samples[1].content == .email(EmailContent(subject: "Hi", text: "Hello u-3")))
        }
    }
}
