import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Synchronization
import Testing

/// The scheduler service in virtual time, on a real SQLite file with the real planner.
@Suite(.timeLimit(.minutes(4)))
struct SchedulerTests {
    static func instant(_ text: String) -> Date { ISO8601.date(from: text)! }

    static func hourly(_ id: String = "digest", hash: String = "h1", expiresAfter: String? = nil, channels: [Channel] = [.email]) -> Campaign {
        Campaign(
            id: id, channels: channels, template: "digest",
            schedule: .cron(CronSchedule(expression: try! CronExpression("0 * * * *"), zone: .fixed("UTC"))),
            expiresAfter: expiresAfter.flatMap(DurationLiteral.init), file: "campaigns/\(id).yml", definitionHash: hash
        )
    }

    /// What the scheduler reported, in order.
    final class Events: Sendable {
        private let list = Mutex<[Scheduler.Event]>([])
        var all: [Scheduler.Event] { list.withLock { $0 } }
        func append(_ event: Scheduler.Event) { list.withLock { $0.append(event) } }

        /// `planned 10:00`, `resumed 10:00 (3 already)`, `expired 11:00`, `held 12:00 by b`: as a person reads them.
        var lines: [String] {
            all.map { event in
                func time(_ date: Date) -> String { String(ISO8601.string(from: date).dropFirst(11).prefix(5)) }
                switch event {
                case .planned(let id, let fireAt, let result, let isResumed):
                    return "\(id) \(isResumed ? "resumed" : "planned") \(time(fireAt)): \(result.summary.planned) planned"
                        + (result.summary.alreadyPlannedUsers > 0 ? ", \(result.summary.alreadyPlannedUsers) already" : "")
                case .expired(let id, let fireAt, _, _): return "\(id) expired \(time(fireAt))"
                case .held(let id, let fireAt, let owner, _): return "\(id) held \(time(fireAt)) by \(owner)"
                case .interrupted(let id, let fireAt): return "\(id) interrupted \(time(fireAt))"
                case .failed(let id, let fireAt, let message): return "\(id) failed \(fireAt.map(time) ?? "-"): \(message)"
                case .orphaned(let id, let fireAt): return "\(id) orphaned \(time(fireAt))"
                }
            }
        }
    }

    /// The campaigns the scheduler reads at each pass; a test edits them between passes.
    final class Campaigns: Sendable {
        private let list: Mutex<[Campaign]>
        init(_ campaigns: [Campaign]) { list = Mutex(campaigns) }
        var all: [Campaign] { list.withLock { $0 } }
        func set(_ campaigns: [Campaign]) { list.withLock { $0 = campaigns } }
    }

    struct Fixture {
        let store: SQLiteStore
        let clock: ManualClock
        let events = Events()
        let campaigns: Campaigns

        init(_ directory: TemporaryDirectory, at start: String, users: Int = 30, campaigns: [Campaign] = [SchedulerTests.hourly()]) async throws {
            store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            clock = ManualClock(SchedulerTests.instant(start))
            self.campaigns = Campaigns(campaigns)
            _ = try await store.upsertUsers((1...users).map { User(id: String(format: "u-%03d", $0), email: "user\($0)@example.com") }, at: clock.now)
        }

        func scheduler(
            owner: String = "s1", once: Bool = false, renderer: ClosureRenderer = .simple,
            restore: (@Sendable (String, String) -> Campaign?)? = nil
        ) -> Scheduler {
            let store = store, clock = clock, campaigns = campaigns
            return Scheduler(
                store: store, clock: clock,
                configuration: Scheduler.Configuration(owner: owner, lease: .seconds(60), rescanInterval: .seconds(86_400), runsOnce: once),
                onEvent: { [events] in events.append($0) }
            ) {
                Scheduler.Definitions(
                    campaigns: campaigns.all,
                    planner: Planner(store: store, renderer: renderer, routing: routing, clock: clock, configuration: .init(batchSize: 7)),
                    restore: restore
                )
            }
        }

        func rows(_ sql: String) async throws -> [[String]] {
            try await store.rows(sql: sql)
        }
    }

    @Test func itSleepsUntilTheNextFireInstantAndPlansEachOccurrenceOnce() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T09:30:00Z")
            let service = Task { try await fixture.scheduler().run() }
            // First seen at 09:30: nothing before is sent, and it sleeps until 10:00, not less.
            try await fixture.clock.waitForSleeper(until: Self.instant("2026-12-01T10:00:00Z"))
            #expect(fixture.clock.sleepingUntil == [Self.instant("2026-12-01T10:00:00Z")])
            #expect(fixture.events.all.isEmpty)

            fixture.clock.set(Self.instant("2026-12-01T10:00:00Z"))
            try await fixture.clock.waitForSleeper(until: Self.instant("2026-12-01T11:00:00Z"))
            fixture.clock.set(Self.instant("2026-12-01T11:00:05Z"))
            try await fixture.clock.waitForSleeper(until: Self.instant("2026-12-01T12:00:00Z"))
            service.cancel()
            try await service.value

            #expect(fixture.events.lines == ["digest planned 10:00: 30 planned", "digest planned 11:00: 30 planned"])
            #expect(try await fixture.rows("SELECT fire_at, state FROM occurrences ORDER BY fire_at") == [
                ["\(Int64(Self.instant("2026-12-01T10:00:00Z").timeIntervalSince1970 * 1000))", "planned"],
                ["\(Int64(Self.instant("2026-12-01T11:00:00Z").timeIntervalSince1970 * 1000))", "planned"],
            ])
            #expect(try await fixture.rows("SELECT COUNT(*), COUNT(DISTINCT occurrence_id || ' ' || user_id) FROM notifications") == [["60", "60"]])
            // Each notification is due at its occurrence's instant.
            #expect(try await fixture.rows("SELECT DISTINCT due_at FROM notifications ORDER BY due_at")
                == [["\(Self.instant("2026-12-01T10:00:00Z").timeIntervalSince1970)"], ["\(Self.instant("2026-12-01T11:00:00Z").timeIntervalSince1970)"]])
        }
    }

    @Test func afterADowntimeRecentOccurrencesArePlannedLateAndOlderOnesRecordedExpired() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T09:00:00Z")
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines == ["digest planned 09:00: 30 planned"])

            // Down from 09:00 to 14:30, without expires_after: an hour of grace.
            fixture.clock.set(Self.instant("2026-12-01T14:30:00Z"))
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines == [
                "digest planned 09:00: 30 planned",
                "digest expired 10:00", "digest expired 11:00", "digest expired 12:00", "digest expired 13:00",
                "digest planned 14:00: 30 planned",
            ])
            #expect(try await fixture.rows("SELECT state, COUNT(*) FROM occurrences GROUP BY state ORDER BY state") == [["expired", "4"], ["planned", "2"]])
            #expect(try await fixture.rows("SELECT COUNT(*) FROM events WHERE type = 'skipped' AND reason = 'expired' AND notification_id IS NULL") == [["4"]])
            #expect(try await fixture.rows("SELECT COUNT(*) FROM notifications") == [["60"]])

            // With expires_after 3h, a second downtime to 19:30 sends 17:00 and later.
            fixture.campaigns.set([Self.hourly(expiresAfter: "3h")])
            fixture.clock.set(Self.instant("2026-12-01T19:30:00Z"))
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines.suffix(5) == [
                "digest expired 15:00", "digest expired 16:00",
                "digest planned 17:00: 30 planned", "digest planned 18:00: 30 planned", "digest planned 19:00: 30 planned",
            ])
        }
    }

    @Test func everyInterruptedOccurrenceIsResumedNotOnlyTheLatest() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T10:00:00Z")
            let crash = Self.instant("2026-12-01T08:05:00Z")
            // A scheduler that died while planning 08:00 and 09:00 (a few users each done).
            for (fire, users) in [("2026-12-01T08:00:00Z", ["u-001", "u-002"]), ("2026-12-01T09:00:00Z", ["u-005"])] {
                guard case .created(let occurrence) = try await fixture.store.claimOccurrence(
                    campaignID: "digest", fireAt: Self.instant(fire), definitionHash: "h1", owner: "dead", lease: .seconds(60), at: crash
                ) else {
                    Issue.record("not created")
                    return
                }
                _ = try await fixture.store.savePlanned(users.map { user in
                    PlannedNotification(
                        occurrenceID: occurrence.id, campaignID: "digest", category: "marketing", userID: user, channel: .email,
                        provider: "sendgrid", address: "\(user)@example.com", dueAt: occurrence.fireAt,
                        decision: .send(.email(EmailContent(subject: "digest", text: "before the crash")))
                    )
                }, at: crash)
            }
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines == [
                "digest resumed 08:00: 28 planned, 2 already", "digest resumed 09:00: 29 planned, 1 already", "digest planned 10:00: 30 planned",
            ])
            // Every user once per occurrence; what was planned before the crash kept as it was.
            #expect(try await fixture.rows("""
                SELECT o.state, COUNT(*), COUNT(DISTINCT n.user_id) FROM occurrences o JOIN notifications n ON n.occurrence_id = o.id
                GROUP BY o.id ORDER BY o.fire_at
                """) == [["planned", "30", "30"], ["planned", "30", "30"], ["planned", "30", "30"]])
            #expect(try await fixture.rows("SELECT COUNT(*) FROM notifications WHERE content LIKE '%before the crash%'") == [["3"]])
        }
    }

    @Test func anEventWhosePlanningStoppedIsPlannedForItsUserOnlyOnceTheLeaseHasPassed() async throws {
        try await withTemporaryDirectory { directory in
            let welcome = Campaign(
                id: "welcome", channels: [.email], template: "welcome", schedule: .trigger(event: "signup", delay: nil),
                file: "campaigns/welcome.yml", definitionHash: "w1"
            )
            let fixture = try await Fixture(directory, at: "2026-12-01T10:00:00Z", campaigns: [welcome])
            // A process recorded the event, then died before planning what it triggered.
            let event = ReceivedEvent(
                userID: "u-003", name: "signup", properties: try EventProperties(json: #"{"coupon": "HELLO-17"}"#), receivedAt: fixture.clock.now
            )
            _ = try await fixture.store.recordEvent(
                event, triggering: [TriggeredCampaign(campaignID: "welcome", definitionHash: "w1", dueAt: fixture.clock.now)], at: fixture.clock.now
            )
            let renderer = ClosureRenderer { campaign, _, user in
                .email(EmailContent(subject: campaign.id, text: "\(user.id): \(campaign.params["coupon"].map { "\($0)" } ?? "no coupon")"))
            }
            // Within a lease of its recording the process that records it may be planning it.
            fixture.clock.advance(by: 30)
            try await fixture.scheduler(once: true, renderer: renderer).run()
            #expect(fixture.events.lines.isEmpty)
            #expect(try await fixture.rows("SELECT state FROM occurrences") == [["planning"]])
            fixture.clock.advance(by: 31)
            try await fixture.scheduler(once: true, renderer: renderer).run()
            #expect(fixture.events.lines == ["welcome resumed 10:00: 1 planned"])
            // The event's user alone (the campaign has no audience rule: everyone would match),
            // with the event's properties.
            #expect(try await fixture.rows("SELECT user_id, state, content LIKE '%HELLO-17%' FROM notifications") == [["u-003", "planned", "1"]])
            #expect(try await fixture.rows("SELECT state FROM occurrences") == [["planned"]])
            // Nothing stalled is left: a later pass does nothing.
            try await fixture.scheduler(once: true, renderer: renderer).run()
            #expect(fixture.events.lines.count == 1)
        }
    }

    @Test func anOccurrenceHeldByALiveSchedulerIsLeftToIt() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T10:00:30Z")
            _ = try await fixture.store.firstSeen(campaignID: "digest", at: Self.instant("2026-12-01T09:30:00Z"))
            _ = try await fixture.store.claimOccurrence(
                campaignID: "digest", fireAt: Self.instant("2026-12-01T10:00:00Z"), definitionHash: "h1", owner: "other", lease: .seconds(60),
                at: Self.instant("2026-12-01T10:00:00Z")
            )
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines == ["digest held 10:00 by other"])
            #expect(try await fixture.rows("SELECT COUNT(*) FROM notifications") == [["0"]])
            // Its lease ends without renewal (it died): the next pass resumes it.
            fixture.clock.set(Self.instant("2026-12-01T10:01:00Z"))
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines.last == "digest resumed 10:00: 30 planned")
        }
    }

    @Test func anEditChangesLaterOccurrencesAndNeverReplansOnePlanned() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T10:00:00Z")
            try await fixture.scheduler(once: true).run()
            // Edited at 10:20: now sent by SMS too (nobody has a phone: skipped), a new definition.
            fixture.campaigns.set([Self.hourly(hash: "h2", channels: [.email, .sms])])
            fixture.clock.set(Self.instant("2026-12-01T10:20:00Z"))
            try await fixture.scheduler(once: true).run()
            fixture.clock.set(Self.instant("2026-12-01T11:00:00Z"))
            try await fixture.scheduler(once: true).run()
            #expect(fixture.events.lines == ["digest planned 10:00: 30 planned", "digest planned 11:00: 30 planned"])
            #expect(try await fixture.rows("""
                SELECT o.definition_hash, COUNT(n.id) FROM occurrences o LEFT JOIN notifications n ON n.occurrence_id = o.id GROUP BY o.id ORDER BY o.fire_at
                """) == [["h1", "30"], ["h2", "60"]])
        }
    }

    @Test func anOccurrenceResumedAfterAnEditIsFinishedWithTheDefinitionItStartedWith() async throws {
        try await withTemporaryDirectory { directory in
            func digest(_ hash: String, offer: String) -> Campaign {
                var campaign = Self.hourly(hash: hash)
                campaign.params["offer"] = .string(offer)
                campaign.definitionText = "campaign: digest # \(hash)"
                return campaign
            }
            let first = digest("h1", offer: "10% off")
            let fixture = try await Fixture(directory, at: "2026-12-01T10:30:00Z", campaigns: [first])
            // A scheduler died while planning 10:00 (two users done) with the first definition…
            guard case .created(let occurrence) = try await fixture.store.claimOccurrence(
                campaignID: "digest", fireAt: Self.instant("2026-12-01T10:00:00Z"), definitionHash: "h1", definitionText: first.definitionText,
                owner: "dead", lease: .seconds(60), at: Self.instant("2026-12-01T10:00:00Z")
            ) else {
                Issue.record("not created")
                return
            }
            _ = try await fixture.store.savePlanned(["u-001", "u-002"].map { user in
                PlannedNotification(
                    occurrenceID: occurrence.id, campaignID: "digest", category: "marketing", userID: user, channel: .email,
                    provider: "sendgrid", address: "\(user)@example.com", dueAt: occurrence.fireAt,
                    decision: .send(.email(EmailContent(subject: "digest", text: "10% off")))
                )
            }, at: occurrence.fireAt)
            // …and the file was edited before the next scheduler started.
            fixture.campaigns.set([digest("h2", offer: "50% off")])
            let renderer = ClosureRenderer { campaign, _, user in
                .email(EmailContent(subject: campaign.id, text: campaign.params["offer"].map { "\($0)" } ?? "no offer"))
            }
            let restore: @Sendable (String, String) -> Campaign? = { text, _ in text == first.definitionText ? first : nil }
            try await fixture.scheduler(once: true, renderer: renderer, restore: restore).run()
            fixture.clock.set(Self.instant("2026-12-01T11:00:00Z"))
            try await fixture.scheduler(once: true, renderer: renderer, restore: restore).run()
            #expect(fixture.events.lines == ["digest resumed 10:00: 28 planned, 2 already", "digest planned 11:00: 30 planned"])
            // 10:00 went out as it started, to everyone; 11:00, begun after the edit, is the edit.
            #expect(try await fixture.rows("""
                SELECT strftime('%H:%M', o.fire_at / 1000, 'unixepoch'), o.definition_hash, n.content LIKE '%10\\% off%' ESCAPE '\\', COUNT(*)
                FROM occurrences o JOIN notifications n ON n.occurrence_id = o.id GROUP BY 1, 2, 3 ORDER BY 1
                """) == [["10:00", "h1", "1", "30"], ["11:00", "h2", "0", "30"]])
        }
    }

    @Test func twoSchedulersInOneProcessPlanEachOccurrenceOnce() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T09:00:00Z", users: 200)
            _ = try await fixture.store.firstSeen(campaignID: "digest", at: Self.instant("2026-12-01T06:30:00Z"))
            let other = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let second = Scheduler(
                store: other, clock: fixture.clock, configuration: Scheduler.Configuration(owner: "s2", runsOnce: true),
                onEvent: { [events = fixture.events] in events.append($0) }
            ) {
                Scheduler.Definitions(
                    campaigns: [Self.hourly()],
                    planner: Planner(store: other, renderer: ClosureRenderer.simple, routing: routing, clock: fixture.clock, configuration: .init(batchSize: 7))
                )
            }
            async let first: Void = fixture.scheduler(owner: "s1", once: true).run()
            async let run2: Void = second.run()
            _ = try await (first, run2)
            // 07:00, 08:00 (missed by 2 h and 1 h: expired) and 09:00, each handled once.
            let lines = fixture.events.lines
            #expect(lines.filter { $0.contains("planned 09:00") }.count == 1, "\(lines)")
            #expect(try await fixture.rows("SELECT state, COUNT(*) FROM occurrences GROUP BY state ORDER BY state") == [["expired", "2"], ["planned", "1"]])
            #expect(try await fixture.rows("SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications") == [["200", "200"]])
        }
    }

    @Test func cancellingTheServiceWhileItSleepsEndsIt() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, at: "2026-12-01T09:30:00Z")
            let service = Task { try await fixture.scheduler().run() }
            try await fixture.clock.waitForSleeper(until: Self.instant("2026-12-01T10:00:00Z"))
            service.cancel()
            try await service.value
            #expect(fixture.clock.sleepingUntil.isEmpty)
        }
    }
}
