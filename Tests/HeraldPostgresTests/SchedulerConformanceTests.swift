import Foundation
import HeraldCore
import HeraldEngine
import HeraldTesting
import Synchronization
import Testing

/// The engine's scheduler over either store: schedulers in several processes plan each
/// occurrence of a cron campaign once, and resume a triggered send whose process died.
@Suite struct SchedulerConformanceTests {
    static func instant(_ text: String) -> Date { ISO8601.date(from: text)! }

    static func hourly(_ id: String) -> Campaign {
        Campaign(
            id: id, channels: [.email], template: "digest",
            schedule: .cron(CronSchedule(expression: try! CronExpression("0 * * * *"), zone: .fixed("UTC"))),
            file: "campaigns/\(id).yml", definitionHash: "h1"
        )
    }

    /// What the schedulers reported.
    final class Events: Sendable {
        private let list = Mutex<[Scheduler.Event]>([])
        var all: [Scheduler.Event] { list.withLock { $0 } }
        func append(_ event: Scheduler.Event) { list.withLock { $0.append(event) } }
    }

    static func scheduler(_ store: any Store, owner: String, campaigns: [Campaign], clock: ManualClock, events: Events = Events()) -> Scheduler {
        Scheduler(
            store: store, clock: clock, configuration: Scheduler.Configuration(owner: owner, lease: .seconds(60), runsOnce: true),
            onEvent: { events.append($0) }
        ) {
            Scheduler.Definitions(
                campaigns: campaigns,
                planner: Planner(store: store, renderer: ClosureRenderer.simple, routing: DeliveryConformanceTests.routing, clock: clock, configuration: .init(batchSize: 7))
            )
        }
    }

    /// Four schedulers in four processes pass over an hourly campaign first seen at 06:30, at
    /// 09:00: 07:00 and 08:00 are recorded expired and 09:00 planned, each once. Ten campaigns
    /// in a row.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func schedulersInFourProcessesPlanEachOccurrenceOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            let clock = ManualClock(Self.instant("2026-12-01T09:00:00Z"))
            _ = try await stores[0].store.upsertUsers((1...50).map { User(id: String(format: "u-%03d", $0), email: "user\($0)@example.com") }, at: clock.now)
            for round in 0..<10 {
                let campaign = Self.hourly("digest-\(round)")
                _ = try await stores[0].store.firstSeen(campaignID: campaign.id, at: Self.instant("2026-12-01T06:30:00Z"))
                let events = Events()
                _ = try await concurrently(stores) { index, store in
                    try await Self.scheduler(store.store, owner: "s\(index)", campaigns: [campaign], clock: clock, events: events).run()
                }
                let planned = events.all.filter { if case .planned = $0 { true } else { false } }
                #expect(planned.count == 1, "round \(round): \(events.all)")
                // The others found each occurrence held or done; none failed on the way.
                #expect(!events.all.contains { if case .failed = $0 { true } else { false } }, "round \(round): \(events.all)")
                #expect(try await stores[0].rows("""
                    SELECT state, COUNT(*) FROM occurrences WHERE campaign_id = '\(campaign.id)' GROUP BY state ORDER BY state
                    """) == [["expired", "2"], ["planned", "1"]], "round \(round)")
                #expect(try await stores[0].rows("""
                    SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications WHERE campaign_id = '\(campaign.id)'
                    """) == [["50", "50"]], "round \(round)")
                #expect(try await stores[0].rows("""
                    SELECT COUNT(*) FROM events WHERE campaign_id = '\(campaign.id)' AND type = 'skipped' AND reason = 'expired' AND notification_id IS NULL
                    """) == [["2"]], "round \(round)")
            }
        }
    }

    /// A process recorded an event and died before planning what it triggered: once a lease
    /// has passed, a scheduler in another process plans it for the event's user, once.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func aTriggeredSendWhoseProcessDiedIsPlannedByAnother(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            let clock = ManualClock(Self.instant("2026-12-01T10:00:00Z"))
            let welcome = Campaign(
                id: "welcome", channels: [.email], template: "welcome", schedule: .trigger(event: "signup", delay: nil),
                file: "campaigns/welcome.yml", definitionHash: "w1"
            )
            _ = try await stores[0].store.upsertUsers((1...5).map { User(id: "u-\($0)", email: "user\($0)@example.com") }, at: clock.now)
            _ = try await stores[0].store.recordEvent(
                ReceivedEvent(userID: "u-3", name: "signup", properties: try EventProperties(json: #"{"coupon": "HELLO-17"}"#), receivedAt: clock.now),
                triggering: [TriggeredCampaign(campaignID: "welcome", definitionHash: "w1", dueAt: clock.now)], at: clock.now
            )
            clock.advance(by: 120)
            try await Self.scheduler(stores[1].store, owner: "s2", campaigns: [welcome], clock: clock).run()
            #expect(try await stores[0].rows("SELECT user_id, state FROM notifications") == [["u-3", "planned"]])
            #expect(try await stores[0].rows("SELECT state FROM occurrences") == [["planned"]])
            // Nothing is left stalled, and a second pass plans nothing more.
            try await Self.scheduler(stores[0].store, owner: "s1", campaigns: [welcome], clock: clock).run()
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM notifications") == [["1"]])
        }
    }
}
