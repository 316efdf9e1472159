import Foundation
import GRDB
import HeraldCore
import HeraldEngine
import HeraldPostgres
import HeraldStore
import HeraldTesting
import PostgresNIO
import Testing

/// `herald store copy`: a SQLite store with its history moved into an empty PostgreSQL database,
/// whole or not at all, after which Herald goes on there.
@Suite(.timeLimit(.minutes(3))) struct StoreCopyTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A SQLite store where a campaign was planned for 120 users, its pushes sent and its email
    /// still waiting in the outbox.
    static func sqliteStore(_ directory: TemporaryDirectory) async throws -> SQLiteStore {
        let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
        let clock = ManualClock(start)
        _ = try await store.upsertUsers(DeliveryConformanceTests.users, at: clock.now)
        let planner = Planner(store: store, renderer: ClosureRenderer.simple, routing: DeliveryConformanceTests.routing, clock: clock, configuration: .init(batchSize: 40))
        _ = try await planner.plan(Self.sale, fireAt: clock.now)
        let push = DeliveryConformanceTests.dispatcher(.push, store: store, owner: "sqlite", transports: [ScriptedTransport(name: "apns")], clock: clock)
        _ = try await push.drain()
        // A row in each table of the API, webhooks, provider health, alerts and the send ledger.
        let queue = try DatabaseQueue(path: directory.file("herald.db"))
        try await queue.write { db in
            let occurrence = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM occurrences")!
            try db.execute(sql: "INSERT INTO api_keys (app_key, salt, secret_hash, scopes, rate, created_at) VALUES ('key-1', x'00ff10', x'abcdef', 'send,read', '100/s', 1800000000)")
            try db.execute(sql: "INSERT INTO api_requests (app_key, idempotency_key, request_hash, occurrence_id, status, response, created_at) VALUES ('key-1', 'idem-1', 'h', ?, 202, '{\"ok\":true}', 1800000000)", arguments: [occurrence])
            try db.execute(sql: "INSERT INTO webhook_receipts (provider, event_key, received_at) VALUES ('sendgrid', 'sg-event-1', 1800000000.5)")
            try db.execute(sql: "INSERT INTO provider_health (provider, channel, breaker, paused_reason, opened_at, updated_at) VALUES ('twilio', 'sms', 'open', NULL, 1800000000, 1800000001)")
            try db.execute(sql: "INSERT INTO alert_incidents (kind, channel, provider, severity, message, started_at, confirmed_at) VALUES ('breaker_open', 'sms', 'twilio', 'error', 'Twilio is failing', 1800000000, 1800000010)")
            try db.execute(sql: "INSERT INTO send_ledger (campaign_id, slot_seconds, slot, used) VALUES ('sale', 1, 1800000000, 3)")
        }
        return store
    }

    static let sale = Campaign(
        id: "sale", category: "marketing", channels: [.push, .email], delivery: .firstAvailable, template: "sale", schedule: .manual,
        file: "campaigns/sale.yml"
    )

    @Test func aStoreWithItsHistoryIsCopiedWholeAndHeraldGoesOnInPostgreSQL() async throws {
        try await withTemporaryDirectory { directory in
            let sqlite = try await Self.sqliteStore(directory)
            try await TestPostgres.withStore(attributes: AttributeSchema()) { postgres in
                let copies = try await postgres.copy(from: sqlite, pageSize: 7)
                let byTable = Dictionary(uniqueKeysWithValues: copies.map { ($0.table, $0) })
                for table in [
                    "users", "devices", "preferences", "campaigns", "occurrences", "notifications", "outbox", "events", "store_secrets", "api_keys",
                    "api_requests", "webhook_receipts", "provider_health", "alert_incidents", "send_ledger",
                ] {
                    let copy = try #require(byTable[table], "\(table) was not copied: \(copies.map(\.table))")
                    #expect(copy.sourceRows > 0 && copy.targetRows == copy.sourceRows, "\(copy)")
                    #expect(copy.sourceRows == Int(try await sqlite.rows(sql: "SELECT COUNT(*) FROM \(table)")[0][0]), "\(table)")
                }
                #expect(copies.allSatisfy { $0.sourceRows == $0.targetRows })

                // The same people, the same report, the same secret bytes.
                let sqliteUsers = try await sqlite.users(matching: .everyone, after: nil, limit: 1000)
                #expect(try await postgres.users(matching: .everyone, after: nil, limit: 1000) == sqliteUsers)
                #expect(sqliteUsers.count == 120)
                #expect(try await postgres.report(campaignID: nil) == sqlite.report(campaignID: nil))
                let secret = try await sqlite.guestIDKey()
                let copied: [ByteBuffer] = try await postgres.rows("SELECT value FROM store_secrets WHERE name = 'guest_ids'")
                #expect(copied.map { Array($0.readableBytesView) } == [secret])
                let salts: [ByteBuffer] = try await postgres.rows("SELECT salt FROM api_keys WHERE app_key = 'key-1'")
                #expect(salts.map { Array($0.readableBytesView) } == [[0x00, 0xff, 0x10]])

                // The email left in the outbox goes out from PostgreSQL, and a new campaign's
                // notifications take ids after the copied ones.
                let clock = ManualClock(Self.start.addingTimeInterval(60))
                let waiting = try #require(Int(try await sqlite.rows(sql: "SELECT COUNT(*) FROM outbox")[0][0]))
                #expect(waiting > 0)
                let sendgrid = ScriptedTransport(name: "sendgrid")
                let email = try await DeliveryConformanceTests.dispatcher(.email, store: postgres, owner: "postgres", transports: [sendgrid], clock: clock).drain()
                #expect(email.sent == waiting && sendgrid.messages.count == waiting)
                let lastCopiedID = try #require(Int64(try await sqlite.rows(sql: "SELECT MAX(id) FROM notifications")[0][0]))
                var again = Self.sale
                again.id = "sale-again"
                let planner = Planner(store: postgres, renderer: ClosureRenderer.simple, routing: DeliveryConformanceTests.routing, clock: clock, configuration: .init(batchSize: 40))
                let result = try await planner.plan(again, fireAt: clock.now)
                #expect(result.recipients == 120)
                let newIDs: [Int64] = try await postgres.rows("SELECT id FROM notifications WHERE campaign_id = 'sale-again' ORDER BY id")
                #expect(!newIDs.isEmpty && newIDs.allSatisfy { $0 > lastCopiedID })
            }
        }
    }

    /// A database that holds data is refused, and so is a source with rows in a table PostgreSQL
    /// lacks; either way nothing is written.
    @Test func aDatabaseWithDataOrASourceWithAnUnknownTableIsRefusedAndNothingIsWritten() async throws {
        try await withTemporaryDirectory { directory in
            let sqlite = try await Self.sqliteStore(directory)
            try await TestPostgres.withStore(attributes: AttributeSchema()) { postgres in
                _ = try await postgres.upsertUsers([User(id: "someone", email: "someone@example.com")], at: Self.start)
                let refusal = await #expect(throws: StoreError.self) { try await postgres.copy(from: sqlite) }
                #expect(refusal?.message.contains("already holds Herald data (table users has rows)") == true, "\(String(describing: refusal))")
                #expect(try await postgres.rows("SELECT COUNT(*)::bigint FROM users") == [Int64(1)])
                #expect(try await postgres.rows("SELECT COUNT(*)::bigint FROM notifications") == [Int64(0)])
            }
            try await TestPostgres.withStore(attributes: AttributeSchema()) { postgres in
                let queue = try DatabaseQueue(path: directory.file("herald.db"))
                try await queue.write { db in
                    try db.execute(sql: "CREATE TABLE surprise (id INTEGER PRIMARY KEY, note TEXT)")
                    try db.execute(sql: "INSERT INTO surprise (note) VALUES ('kept by a newer herald')")
                }
                let refusal = await #expect(throws: StoreError.self) { try await postgres.copy(from: sqlite) }
                #expect(refusal?.message.contains("has no table surprise that the SQLite store has rows in") == true, "\(String(describing: refusal))")
                for table in ["users", "notifications", "events", "store_secrets"] {
                    #expect(try await postgres.rows(PostgresQuery(unsafeSQL: "SELECT COUNT(*)::bigint FROM \(table)")) == [Int64(0)], "\(table)")
                }
            }
        }
    }

    /// A failure part way (a value PostgreSQL refuses, in the last table copied) leaves the
    /// database as it was: the tables copied before it are empty again.
    @Test func aFailurePartWayLeavesTheDatabaseEmpty() async throws {
        try await withTemporaryDirectory { directory in
            let sqlite = try await Self.sqliteStore(directory)
            let queue = try DatabaseQueue(path: directory.file("herald.db"))
            // users.attributes is JSON text in SQLite and jsonb in PostgreSQL.
            try await queue.write { db in try db.execute(sql: "UPDATE users SET attributes = '{not json' WHERE id = 'u-120'") }
            try await TestPostgres.withStore(attributes: AttributeSchema()) { postgres in
                let refusal = await #expect(throws: StoreError.self) { try await postgres.copy(from: sqlite, pageSize: 50) }
                #expect(refusal?.message.contains("table users, column attributes") == true, "\(String(describing: refusal))")
                for table in ["users", "devices", "store_secrets"] {
                    let count: [Int64] = try await postgres.rows(PostgresQuery(unsafeSQL: "SELECT COUNT(*)::bigint FROM \(table)"))
                    #expect(count == [0], "\(table)")
                }
            }
        }
    }
}
