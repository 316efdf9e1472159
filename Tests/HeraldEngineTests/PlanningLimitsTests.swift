import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// Frequency caps, throttle and expiry through the planner, the store's cap ledger and the
/// dispatcher, on a real SQLite file in virtual time.
@Suite struct PlanningLimitsTests {
    static let start = ISO8601.date(from: "2026-12-01T03:00:00Z")!

    static func users(_ count: Int) -> [User] {
        (1...count).map { User(id: String(format: "u-%03d", $0), email: "user\($0)@example.com", timezone: "Asia/Seoul") }
    }

    static func campaign(_ id: String, throttle: RateLiteral? = nil, expiresAfter: DurationLiteral? = nil) -> Campaign {
        Campaign(id: id, channels: [.email], template: id, schedule: .manual, throttle: throttle, expiresAfter: expiresAfter, file: "campaigns/\(id).yml")
    }

    static func planner(_ store: SQLiteStore, _ clock: ManualClock, limits: RecipientPlanner.Limits = RecipientPlanner.Limits(), batchSize: Int = 40) -> Planner {
        Planner(store: store, renderer: ClosureRenderer.simple, routing: routing, limits: limits, clock: clock, configuration: .init(batchSize: batchSize))
    }

    @Test func aGlobalCapStopsASecondCampaignForTheSameRecipientsAndTheLedgerHoldsOneSlotEach() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            _ = try await store.upsertUsers(Self.users(100), at: clock.now)
            let limits = RecipientPlanner.Limits(frequencyCaps: [FrequencyCap(max: 1, per: .calendarDay)])
            let first = try await Self.planner(store, clock, limits: limits).plan(Self.campaign("sale"), fireAt: clock.now)
            #expect(first.summary.planned == 100)
            clock.advance(by: 3600)
            let second = try await Self.planner(store, clock, limits: limits).plan(Self.campaign("flash"), fireAt: clock.now)
            #expect(second.summary.planned == 0 && second.summary.skipped == 100)
            #expect(try await store.rows(sql: "SELECT reason, COUNT(*) FROM notifications WHERE campaign_id = 'flash' GROUP BY reason") == [["capped", "100"]])
            #expect(try await store.rows(sql: "SELECT detail FROM events WHERE campaign_id = 'flash' AND type = 'skipped' LIMIT 1") == [
                ["at most 1 per calendar_day (herald.yml limits)"],
            ])
            #expect(try await store.rows(sql: "SELECT campaign_id, COUNT(*) FROM cap_ledger GROUP BY campaign_id") == [["sale", "100"]])
            // The next day in Seoul (15:00Z is midnight there), the cap has room again.
            clock.set(ISO8601.date(from: "2026-12-01T15:30:00Z")!)
            let nextDay = try await Self.planner(store, clock, limits: limits).plan(Self.campaign("flash"), fireAt: clock.now)
            #expect(nextDay.summary.planned == 100)
        }
    }

    /// Plans one campaign per fire instant, in the order given and all of them a day ahead, for
    /// a single recipient in `zone` under `cap` (herald.yml's only limit), and reads back what
    /// was decided, in due order: `campaign state reason`, and the skipped events' details.
    static func planAhead(_ campaigns: [(id: String, at: String)], zone: String, cap: FrequencyCap, in directory: TemporaryDirectory) async throws -> (rows: [String], details: [[String]]) {
        let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
        let fireTimes = campaigns.map { ISO8601.date(from: $0.at)! }
        let clock = ManualClock(fireTimes.min()!.addingTimeInterval(-86_400))
        _ = try await store.upsertUsers([User(id: "u-1", email: "u1@example.com", timezone: zone)], at: clock.now)
        let limits = RecipientPlanner.Limits(frequencyCaps: [cap])
        for (campaign, fireAt) in zip(campaigns, fireTimes) {
            _ = try await Self.planner(store, clock, limits: limits).plan(Self.campaign(campaign.id), fireAt: fireAt)
        }
        let rows = try await store.rows(sql: "SELECT campaign_id, state, COALESCE(reason, '') FROM notifications ORDER BY due_at")
        let details = try await store.rows(sql: "SELECT campaign_id, detail FROM events WHERE type = 'skipped' ORDER BY id")
        return (rows.map { $0.joined(separator: " ").trimmingCharacters(in: .whitespaces) }, details)
    }

    /// `{max: 1, per: calendar_day}` for a recipient in New York on the days the clocks change:
    /// 00:30 and 23:30 are one local day (23 or 25 hours long), 00:05 the next day is another.
    /// The later slots are planned first, so that each day's end is tested from both sides.
    @Test(arguments: [
        // 2026-03-08, 23 hours: 00:30 EST, 23:30 EDT, then 00:05 EDT on the 9th.
        ("2026-03-08T05:30:00Z", "2026-03-09T03:30:00Z", "2026-03-09T04:05:00Z"),
        // 2026-11-01, 25 hours: 00:30 EDT, 23:30 EST (24 hours later), then 00:05 EST on the 2nd.
        ("2026-11-01T04:30:00Z", "2026-11-02T04:30:00Z", "2026-11-02T05:05:00Z"),
    ])
    func aCalendarDayCapCountsTheRecipientsOwnDayWhenTheClocksChange(early: String, late: String, nextDay: String) async throws {
        try await withTemporaryDirectory { directory in
            let (rows, details) = try await Self.planAhead(
                [("next-day", nextDay), ("late", late), ("early", early)], zone: "America/New_York", cap: FrequencyCap(max: 1, per: .calendarDay), in: directory
            )
            #expect(rows == ["early skipped capped", "late planned", "next-day planned"])
            #expect(details == [["early", "at most 1 per calendar_day (herald.yml limits)"]])
        }
    }

    /// `{max: 1, per: calendar_week}` for a recipient in Tokyo: weeks run Monday to Sunday on
    /// their clock (README), so Monday 00:10 there (Sunday 15:10Z) starts a new week.
    @Test func aCalendarWeekCapCountsMondayToSundayOnTheRecipientsClock() async throws {
        try await withTemporaryDirectory { directory in
            let (rows, details) = try await Self.planAhead([
                ("sunday", "2026-12-06T14:30:00Z"),       // Sunday 23:30 in Tokyo
                ("monday", "2026-12-06T15:10:00Z"),       // Monday 00:10
                ("next-sunday", "2026-12-13T14:50:00Z"),  // Sunday 23:50, the same week as Monday
                ("next-monday", "2026-12-13T15:00:00Z"),  // Monday 00:00, a new week
            ], zone: "Asia/Tokyo", cap: FrequencyCap(max: 1, per: .calendarWeek), in: directory)
            #expect(rows == ["sunday planned", "monday planned", "next-sunday skipped capped", "next-monday planned"])
            #expect(details == [["next-sunday", "at most 1 per calendar_week (herald.yml limits)"]])
        }
    }

    @Test func theThrottleHoldsAcrossPagesAndWhenAnInterruptedPlanningResumes() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            let users = Self.users(250)
            _ = try await store.upsertUsers(users, at: clock.now)
            let sale = Self.campaign("sale", throttle: RateLiteral(count: 30, per: .minute))
            let fireAt = clock.now
            // The first run planned 110 users (pages of 40) and stopped; the second finishes the rest.
            let partial = try await Self.planner(store, clock).plan(sale, fireAt: fireAt, recipients: users.prefix(110).map(\.id))
            #expect(partial.summary.planned == 110)
            let resumed = try await Self.planner(store, clock).plan(sale, fireAt: fireAt)
            #expect(resumed.summary.planned == 140 && resumed.summary.alreadyPlannedUsers == 110)
            // 250 sends at 30 a minute: nine minutes, the last one partly filled; never more than 30.
            #expect(try await Self.perMinute(store, from: fireAt) == (0...7).map { "\($0):30" } + ["8:10"])
            // The first run filled minutes 0 to 3 (the last with 20); the resumed sends all wait for later minutes.
            #expect(resumed.summary.dueLater == 140)
        }
    }

    /// Sends per minute from `fireAt` (`minute:count`), every occurrence together, of one
    /// campaign or of all.
    static func perMinute(_ store: SQLiteStore, from fireAt: Date, campaign: String? = nil) async throws -> [String] {
        try await store.rows(sql: """
            SELECT CAST(due_at / 60 AS INTEGER) - \(Int(fireAt.timeIntervalSince1970) / 60), COUNT(*) FROM notifications
            WHERE state = 'planned' \(campaign.map { "AND campaign_id = '\($0)'" } ?? "") GROUP BY 1 ORDER BY 1
            """).map { "\($0[0]):\($0[1])" }
    }

    @Test func theThrottleHoldsAcrossTheCampaignsSendsWhoseSpreadsOverlap() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            let users = Self.users(50)
            _ = try await store.upsertUsers(users, at: clock.now)
            let sale = Self.campaign("sale", throttle: RateLiteral(count: 20, per: .minute))
            let fireAt = clock.now
            // An hourly send of 50 at 20 a minute spreads over three minutes; the next one starts
            // a minute later, while the first still fills minutes 1 and 2.
            _ = try await Self.planner(store, clock).plan(sale, fireAt: fireAt)
            _ = try await Self.planner(store, clock).plan(sale, fireAt: fireAt.addingTimeInterval(60))
            #expect(try await Self.perMinute(store, from: fireAt, campaign: "sale") == ["0:20", "1:20", "2:20", "3:20", "4:20"])
            // Another campaign has a throttle of its own.
            _ = try await Self.planner(store, clock).plan(Self.campaign("news", throttle: RateLiteral(count: 20, per: .minute)), fireAt: fireAt)
            #expect(try await Self.perMinute(store, from: fireAt, campaign: "news") == ["0:20", "1:20", "2:10"])
        }
    }

    @Test func sendsTriggeredOneUserAtATimeShareTheCampaignsThrottle() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            let users = Self.users(25)
            _ = try await store.upsertUsers(users, at: clock.now)
            let welcome = Self.campaign("welcome", throttle: RateLiteral(count: 10, per: .minute))
            // 25 events at the same moment: each its own send of one user.
            for (index, user) in users.enumerated() {
                let occurrence = Occurrence(
                    id: try await store.beginOccurrence(
                        campaignID: "welcome", fireAt: clock.now.addingTimeInterval(Double(index) / 1000), definitionHash: "h", at: clock.now
                    ).id,
                    campaignID: "welcome", fireAt: clock.now, definitionHash: "h", kind: .trigger, isNew: true
                )
                _ = try await Self.planner(store, clock).plan(welcome, occurrence: occurrence, recipients: [user.id])
            }
            #expect(try await Self.perMinute(store, from: clock.now) == ["0:10", "1:10", "2:5"])
        }
    }

    @Test func twoSendsOfOneCampaignPlannedAtTheSameMomentNeverOverfillAMinute() async throws {
        for round in 0..<5 {
            try await withTemporaryDirectory { directory in
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                let clock = ManualClock(Self.start)
                _ = try await store.upsertUsers(Self.users(120), at: clock.now)
                let sale = Self.campaign("sale", throttle: RateLiteral(count: 25, per: .minute))
                let fireAt = clock.now
                // Pages of 7: the two planners' pages interleave in the store's transactions, and
                // each decided its pages before it saw the other's.
                async let first = Self.planner(store, clock, batchSize: 7).plan(sale, fireAt: fireAt)
                async let second = Self.planner(store, clock, batchSize: 7).plan(sale, fireAt: fireAt.addingTimeInterval(1))
                let planned = try await first.summary.planned + second.summary.planned
                #expect(planned == 240)
                let minutes = try await Self.perMinute(store, from: fireAt)
                let counts = minutes.map { Int($0.split(separator: ":")[1])! }
                #expect(counts.allSatisfy { $0 <= 25 } && counts.reduce(0, +) == 240, "round \(round): \(minutes)")
            }
        }
    }

    @Test func aNotificationNotSentBeforeItsExpiryIsSkippedExpiredAndNeverSent() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            _ = try await store.upsertUsers(Self.users(10), at: clock.now)
            _ = try await Self.planner(store, clock).plan(Self.campaign("sale", expiresAfter: DurationLiteral(amount: 1, unit: .hours)), fireAt: clock.now)
            #expect(try await store.rows(sql: "SELECT DISTINCT expires_at - due_at FROM notifications") == [["3600.0"]])
            // The workers were down for two hours.
            clock.advance(by: 7200)
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let dispatcher = Dispatcher(
                channel: .email, store: store, transports: [sendgrid], retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)),
                clock: clock
            )
            let summary = try await dispatcher.drain()
            #expect(summary.skipped == 10 && summary.sent == 0)
            #expect(sendgrid.messages.isEmpty)
            #expect(try await store.rows(sql: "SELECT state, reason, COUNT(*) FROM notifications GROUP BY state, reason") == [["skipped", "expired", "10"]])
            #expect(try await store.rows(sql: "SELECT detail FROM events WHERE type = 'skipped' LIMIT 1") == [["not sent by its expiry at 2026-12-01T04:00:00Z"]])
        }
    }
}
