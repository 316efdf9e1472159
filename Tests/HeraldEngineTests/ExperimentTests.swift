import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldRules
import HeraldStore
import HeraldTesting
import Testing

/// A/B variants, the holdout and conversions: through the planner, a real SQLite file, the
/// dispatcher and the report's query, in virtual time.
@Suite struct ExperimentTests {
    static let start = ISO8601.date(from: "2026-12-01T03:00:00Z")!

    static func users(_ count: Int) -> [User] {
        (1...count).map { User(id: String(format: "u-%05d", $0), email: "user\($0)@example.com", timezone: "Asia/Seoul") }
    }

    static func campaign(
        _ id: String = "sale", variants: [Variant] = [], holdout: Int = 0, conversion: Conversion? = nil, caps: [FrequencyCap] = [], throttle: RateLiteral? = nil
    ) -> Campaign {
        Campaign(
            id: id, channels: [.email], template: id, params: ["discount": .string("30%")], schedule: .manual, frequencyCaps: caps, throttle: throttle,
            file: "campaigns/\(id).yml", experiment: Experiment(variants: variants, holdoutBasisPoints: holdout, conversion: conversion)
        )
    }

    /// Renders the template's name and the discount param, so that a test sees which version went out.
    static let renderer = ClosureRenderer { campaign, _, user in
        let discount = campaign.params["discount"].map { "\($0)" } ?? "?"
        return .email(EmailContent(subject: "\(campaign.template) \(discount)", html: nil, text: "for \(user.id)"))
    }

    static func planner(_ store: SQLiteStore, _ clock: ManualClock) -> Planner {
        Planner(store: store, renderer: renderer, routing: routing, clock: clock, configuration: .init(batchSize: 200))
    }

    static func groups(_ ids: [String], in campaign: Campaign) -> [String: String] {
        Dictionary(uniqueKeysWithValues: ids.map { ($0, RecipientPlanner.group(of: $0, in: campaign).name) })
    }

    @Test func assignmentFollowsTheWeightsWithinOnePercentOver100000PeopleAndNeverChanges() {
        let campaign = Self.campaign(variants: [Variant(name: "a", weight: 1), Variant(name: "b", weight: 3, params: ["discount": .string("40%")])], holdout: 1000)
        let ids = (1...100_000).map { String(format: "user-%06d", $0) }
        let first = Self.groups(ids, in: campaign)
        var counts: [String: Int] = [:]
        for group in first.values { counts[group, default: 0] += 1 }
        // 10% held out; the other 90% split 1:3.
        let expected = ["holdout": 0.10, "a": 0.225, "b": 0.675]
        for (group, share) in expected {
            let measured = Double(counts[group] ?? 0) / Double(ids.count)
            #expect(abs(measured - share) < 0.01, "\(group): \(measured) of the people, expected \(share)")
        }
        #expect(Set(counts.keys) == ["holdout", "a", "b"])
        // Computed again (as another run or process would) it is the same for everyone.
        #expect(Self.groups(ids, in: campaign) == first)
        // It depends only on the campaign and user ids, through bucket()'s FNV-1a 64 hash (not
        // Swift's per-process hashValue): these groups were computed apart from Herald, in
        // Python, from FNV-1a of "experiment:sale:user-00000N" modulo 10,000.
        #expect(Self.groups((1...8).map { String(format: "user-%06d", $0) }, in: campaign) == [
            "user-000001": "b", "user-000002": "holdout", "user-000003": "a", "user-000004": "holdout",
            "user-000005": "a", "user-000006": "b", "user-000007": "b", "user-000008": "b",
        ])
        // An audience rule's own bucket() does not line up with the split: of the people in
        // bucket(10000) < 2500 of the campaign, a tenth is held out, as of everyone.
        let sampled = ids.filter { RuleFunctions.bucket(campaignID: "sale", userID: $0, count: 10_000) < 2500 }
        let heldOutOfSample = sampled.filter { first[$0] == "holdout" }.count
        #expect(abs(Double(heldOutOfSample) / Double(sampled.count) - 0.10) < 0.015, "\(heldOutOfSample) of \(sampled.count)")
        // Another campaign splits the same people independently.
        let other = Self.groups(ids, in: Self.campaign("other", variants: campaign.experiment.variants, holdout: 1000))
        let heldOutInBoth = ids.filter { first[$0] == "holdout" && other[$0] == "holdout" }.count
        #expect(abs(Double(heldOutInBoth) / Double(ids.count) - 0.01) < 0.003, "\(heldOutInBoth) people are held out of both campaigns")
    }

    @Test func eachVariantSendsItsOwnVersionAndTheHoldoutIsRecordedButNeverSent() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            let users = Self.users(2000)
            _ = try await store.upsertUsers(users, at: clock.now)
            let campaign = Self.campaign(
                variants: [Variant(name: "thirty"), Variant(name: "forty", params: ["discount": .string("40%")]), Variant(name: "long", template: "sale-long")],
                holdout: 2000, caps: [FrequencyCap(max: 1, per: .calendarDay)], throttle: RateLiteral(count: 600, per: .minute)
            )
            let groups = Self.groups(users.map(\.id), in: campaign)
            let result = try await Self.planner(store, clock).plan(campaign, fireAt: clock.now)
            let heldOut = groups.values.filter { $0 == "holdout" }.count
            #expect(result.summary.planned == 2000 - heldOut && result.summary.skipped == heldOut)

            // Every row carries its recipient's group; the holdout is skipped(holdout), with no outbox row and no cap slot.
            let stored = try await store.rows(sql: "SELECT user_id, variant, state, reason FROM notifications ORDER BY user_id")
            #expect(stored.count == 2000)
            for row in stored {
                #expect(row[1] == groups[row[0]], "\(row)")
                #expect(row[1] == "holdout" ? (row[2] == "skipped" && row[3] == "holdout") : row[2] == "planned", "\(row)")
            }
            #expect(try await store.rows(sql: """
                SELECT COUNT(*) FROM outbox o JOIN notifications n ON n.id = o.notification_id WHERE n.variant = 'holdout'
                """) == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM cap_ledger") == [["\(2000 - heldOut)"]])
            // The throttle's slots went to sends only: 600 a minute from the first minute on.
            let perMinute = try await store.rows(sql: """
                SELECT COUNT(*) FROM notifications WHERE state = 'planned' GROUP BY CAST(due_at / 60 AS INTEGER) ORDER BY 1 DESC LIMIT 1
                """)
            #expect(perMinute == [["600"]])

            let sendgrid = ScriptedTransport(name: "sendgrid")
            let dispatcher = Dispatcher(
                channel: .email, store: store, transports: [sendgrid], retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)), clock: clock
            )
            clock.advance(by: 600)
            _ = try await dispatcher.drain()
            let sent = sendgrid.messages
            #expect(sent.count == 2000 - heldOut)
            let addressOf = Dictionary(uniqueKeysWithValues: users.map { ($0.email!, $0.id) })
            for message in sent {
                guard case .email(let email) = message.content, let user = addressOf[message.address] else {
                    Issue.record("unexpected message \(message)")
                    continue
                }
                let expected = ["thirty": "sale 30%", "forty": "sale 40%", "long": "sale-long 30%"][groups[user] ?? ""]
                #expect(email.subject == expected, "\(user) in \(groups[user] ?? "?") got \(email.subject)")
            }
        }
    }

    @Test func aConversionCountsOnlyWithinTheWindowAfterTheSendAndTheHoldoutsAfterItsWouldBeSend() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            let users = Self.users(400)
            _ = try await store.upsertUsers(users, at: clock.now)
            let campaign = Self.campaign(holdout: 5000, conversion: Conversion(event: "purchase", within: DurationLiteral(amount: 1, unit: .days)))
            let groups = Self.groups(users.map(\.id), in: campaign)
            let treated = users.map(\.id).filter { groups[$0] == "treatment" }
            let heldOut = users.map(\.id).filter { groups[$0] == "holdout" }
            #expect(treated.count > 150 && heldOut.count > 150)
            _ = try await Self.planner(store, clock).plan(campaign, fireAt: clock.now)
            // Sent ten minutes after they were due (a backlog): the window starts at the send.
            clock.advance(by: 600)
            let dispatcher = Dispatcher(
                channel: .email, store: store, transports: [ScriptedTransport(name: "sendgrid")],
                retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)), clock: clock
            )
            _ = try await dispatcher.drain()
            let sentAt = clock.now

            func purchase(_ user: String, at instant: Date, name: String = "purchase") async throws {
                _ = try await store.recordEvent(ReceivedEvent(userID: user, name: name, receivedAt: instant), triggering: [], at: instant)
            }
            // Treated: 2 h after the send counts; 2 min after the due time but before the send,
            // 2 days after, and another event do not. Counted once however often they buy.
            try await purchase(treated[0], at: sentAt.addingTimeInterval(7200))
            try await purchase(treated[0], at: sentAt.addingTimeInterval(9000))
            try await purchase(treated[1], at: Self.start.addingTimeInterval(120))
            try await purchase(treated[2], at: sentAt.addingTimeInterval(2 * 86_400))
            try await purchase(treated[3], at: sentAt.addingTimeInterval(3600), name: "signup")
            try await purchase(treated[4], at: sentAt.addingTimeInterval(86_400))
            // Held out: counted from the time their send would have been due.
            try await purchase(heldOut[0], at: Self.start.addingTimeInterval(120))
            try await purchase(heldOut[1], at: Self.start.addingTimeInterval(-60))
            try await purchase(heldOut[2], at: Self.start.addingTimeInterval(86_400 + 60))

            let report = try await store.experimentReport(campaignID: nil)
            #expect(report.map(\.group) == ["treatment", "holdout"])
            let treatment = try #require(report.first { $0.group == "treatment" })
            let holdout = try #require(report.first { $0.group == "holdout" })
            #expect(treatment.people == treated.count && treatment.sent == treated.count && treatment.converted == 2)
            #expect(holdout.people == heldOut.count && holdout.sent == 0 && holdout.converted == 1)
            #expect(treatment.conversionEvent == "purchase" && treatment.conversionWindowSeconds == 86_400)
            let lift = try #require(treatment.lift(against: holdout))
            #expect(abs(lift.difference - (2.0 / Double(treated.count) - 1.0 / Double(heldOut.count))) < 1e-12)
            #expect(!lift.isSignificant)
            #expect(holdout.lift(against: holdout) == nil)
        }
    }

    /// The holdout is "would have been sent": a person whose message would not render is
    /// skipped(render_failed) in the holdout as in a variant, so the groups stay comparable.
    @Test func theHoldoutIsDecidedAfterRenderingAsTheVariantsAre() async throws {
        let campaign = Self.campaign(holdout: 5000)
        let users = Self.users(200)
        let groups = Self.groups(users.map(\.id), in: campaign)
        let broken = Set(users.map(\.id).filter { Int($0.dropFirst(2))! % 10 == 0 })
        let renderer = ClosureRenderer { campaign, channel, user in
            struct Broken: Error {}
            if broken.contains(user.id) { throw Broken() }
            return try Self.renderer.render(campaign, channel: channel, for: user, unsubscribeURL: "").content
        }
        let planner = RecipientPlanner(routing: routing)
        let occurrence = Occurrence(id: 1, campaignID: campaign.id, fireAt: Self.start, definitionHash: "", params: [:], isNew: true)
        for user in users {
            let decisions = planner.plan(user, campaign: campaign, occurrence: occurrence, now: Self.start, renderer: renderer)
            #expect(decisions.count == 1 && decisions[0].variant == groups[user.id])
            switch (broken.contains(user.id), groups[user.id], decisions[0].decision) {
            case (true, _, .skip(.renderFailed, _)), (false, "holdout", .skip(.holdout, _)), (false, "treatment", .send):
                break
            default:
                Issue.record("\(user.id) in \(groups[user.id] ?? "?"): \(decisions[0].decision)")
            }
        }
    }
}
