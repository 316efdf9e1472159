import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// Recipients without a valid zone of their own: read in `default_timezone`, and counted in
/// the planner's result (what `herald plan` shows as `recipients_in_default_zone`).
@Suite struct DefaultZoneTests {
    @Test func recipientsWithAMissingOrInvalidZoneAreCountedAndReadInTheDefaultZone() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(ISO8601.date(from: "2026-11-30T12:00:00Z")!)
            _ = try await store.upsertUsers([
                User(id: "u-1", email: "a@example.com", timezone: "Asia/Seoul"),
                User(id: "u-2", email: "b@example.com"),
                User(id: "u-3", email: "c@example.com", timezone: "Mars/Olympus_Mons"),
                User(id: "u-4", email: "d@example.com", timezone: ""),
                User(id: "u-5", email: "e@example.com", timezone: "America/Los_Angeles"),
            ], at: clock.now)
            let morning = Campaign(
                id: "morning", channels: [.email], template: "morning",
                schedule: .at(LocalDateTime("2026-12-01T09:00")!, zone: .recipient), file: "campaigns/morning.yml"
            )
            let planner = Planner(
                store: store, renderer: ClosureRenderer.simple, routing: routing,
                limits: RecipientPlanner.Limits(defaultZone: TimeZone(identifier: "America/Sao_Paulo")!), clock: clock,
                configuration: .init(batchSize: 2)
            )
            // The occurrence fires when the earliest zone (UTC+14) reaches 09:00.
            let fireAt = try #require(morning.schedule.firstFireInstant)
            #expect(fireAt == ISO8601.date(from: "2026-11-30T19:00:00Z"))

            let dryRun = try await planner.dryRun(morning, fireAt: fireAt) { _, _ in }
            #expect(dryRun.recipients == 5 && dryRun.defaultZoneRecipients == 3)
            let result = try await planner.plan(morning, fireAt: fireAt)
            #expect(result.recipients == 5 && result.defaultZoneRecipients == 3)
            // 09:00 in Seoul, in São Paulo (UTC-3) for the three without a zone, in Los Angeles.
            let due = try await store.rows(sql: "SELECT user_id, due_at FROM notifications ORDER BY user_id").map { row in
                "\(row[0]) \(ISO8601.string(from: Date(timeIntervalSince1970: Double(row[1])!)))"
            }
            #expect(due == [
                "u-1 2026-12-01T00:00:00Z", "u-2 2026-12-01T12:00:00Z", "u-3 2026-12-01T12:00:00Z", "u-4 2026-12-01T12:00:00Z",
                "u-5 2026-12-01T17:00:00Z",
            ])
        }
    }
}
