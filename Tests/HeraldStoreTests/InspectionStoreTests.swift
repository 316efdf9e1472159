import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// SQLite's ``OutboxInspection`` as only SQLite has it: the queries it reads with (no scan of the
/// events table, dead letters from their index), and the due age of rows never claimed. The
/// figures, traces, dead letters and provider health are the conformance suite's
/// (HeraldPostgresTests' `InspectionConformanceTests`), which runs them on SQLite and PostgreSQL
/// alike.
@Suite struct InspectionStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

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
            let store = try makeStore(directory)
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
}
