import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// Migrations bring a database written by an earlier version up to date when it is opened.
@Suite struct MigrationTests {
    /// Runs `body` with the path of a database migrated up to `version` only, with what `write`
    /// put in it as that version would have.
    func withOldDatabase(
        upTo version: String, _ write: @escaping @Sendable (Database) throws -> Void, _ body: (String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("old.db")
            do {
                let pool = try DatabasePool(path: path)
                try StoreMigrations.migrator.migrate(pool, upTo: version)
                try await pool.write(write)
            }
            try await body(path)
        }
    }

    /// The stand-in transport of the first versions copied every "sent" message, address and
    /// content, into `sent_messages`. Nothing writes there any more, so the copies (personal data
    /// that erasure would otherwise have to chase) go away with the table.
    @Test func theStandInLogOfEarlierVersionsIsDroppedWithItsCopies() async throws {
        try await withOldDatabase(upTo: "v9-experiments", { db in
            try db.execute(sql: """
                INSERT INTO sent_messages (notification_id, provider, channel, address, content, at)
                VALUES (1, 'sendgrid', 'email', 'ana@example.com', '{"subject":"Hi Ana"}', 0)
                """)
        }) { path in
            let store = try SQLiteStore(path: path, schema: AttributeSchema())
            let tables = try await store.rows(sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sent_messages'")
            #expect(tables.isEmpty)
            let applied = try await store.rows(sql: "SELECT identifier FROM grdb_migrations WHERE identifier = 'v10-no-stand-in-log'")
            #expect(applied == [["v10-no-stand-in-log"]])
        }
    }

    /// Earlier versions indexed attributes on `json_extract(…)` alone, which the typed reads of
    /// audience SQL no longer match: the indexes are built again on the typed read, and a rule
    /// searches them.
    @Test func attributeIndexesOfEarlierVersionsAreBuiltAgainOnTheTypedRead() async throws {
        try await withOldDatabase(upTo: "v17-workers", { db in
            try db.execute(sql: "CREATE INDEX users_attribute_country ON users (json_extract(attributes, '$.country'))")
            try db.execute(sql: "CREATE INDEX users_attribute_beta ON users (json_extract(attributes, '$.beta'))")
        }) { path in
            let store = try SQLiteStore(path: path, schema: schema)
            let indexes = try await store.rows(sql: "SELECT name, sql FROM sqlite_master WHERE name LIKE 'users_attribute_%' ORDER BY name")
            #expect(indexes == [
                ["users_attribute_beta", """
                    CREATE INDEX users_attribute_beta ON users (CASE WHEN json_type(attributes, '$.beta') IN ('true', 'false') \
                    THEN json_extract(attributes, '$.beta') END)
                    """],
                ["users_attribute_country", """
                    CREATE INDEX users_attribute_country ON users (CASE WHEN json_type(attributes, '$.country') = 'text' \
                    THEN json_extract(attributes, '$.country') END)
                    """],
                ["users_attribute_last_seen_at", """
                    CREATE INDEX users_attribute_last_seen_at ON users (CASE WHEN json_type(attributes, '$.last_seen_at') IN ('integer', 'real') \
                    THEN json_extract(attributes, '$.last_seen_at') END)
                    """],
                ["users_attribute_lifetime_value", """
                    CREATE INDEX users_attribute_lifetime_value ON users (CASE WHEN json_type(attributes, '$.lifetime_value') IN ('integer', 'real') \
                    THEN json_extract(attributes, '$.lifetime_value') END)
                    """],
            ])
            let applied = try await store.rows(sql: "SELECT identifier FROM grdb_migrations WHERE identifier = 'v18-typed-attribute-indexes'")
            #expect(applied == [["v18-typed-attribute-indexes"]])
            let source = RuleSource(text: #"country == "KR""#, location: SourceLocation(file: "campaigns/x.yml", line: 1, column: 1))
            let explained = try await store.explain(source, now: Date(timeIntervalSince1970: 1_795_000_000), campaignID: "x")
            #expect(explained.plan.contains { $0.contains("SEARCH users USING INDEX users_attribute_country") }, "\(explained.plan)")
        }
    }

    /// Only SMS and email providers post webhooks that name a message by their id: the index of
    /// provider ids leaves pushes out (their random ids cost a page each at every outcome), and
    /// a webhook still finds an SMS by its SID through it.
    @Test func theProviderMessageIndexLeavesPushOutAndWebhooksStillFindTheirMessage() async throws {
        try await withOldDatabase(upTo: "v18-typed-attribute-indexes", { db in
            try db.execute(sql: """
                INSERT INTO occurrences (id, campaign_id, fire_at, definition_hash, state, created_at) VALUES (1, 'spring', 0, 'h', 'planned', 0);
                INSERT INTO notifications (id, occurrence_id, campaign_id, category, user_id, channel, device, provider, address, content,
                    state, due_at, provider_message_id, created_at, updated_at)
                VALUES (1, 1, 'spring', 'marketing', 'u-1', 'sms', '', 'twilio', '+15550001', '{}', 'sent', 0, 'SM0001', 0, 0),
                       (2, 1, 'spring', 'marketing', 'u-1', 'push', 'tok', 'apns', 'tok', '{}', 'sent', 0, 'A1B2C3D4-0000-4000-8000-000000000001', 0, 0);
                """)
        }) { path in
            let store = try SQLiteStore(path: path, schema: AttributeSchema())
            let index = try await store.rows(sql: "SELECT sql FROM sqlite_master WHERE name = 'notifications_by_provider_message'")
            #expect(index.first?.first?.hasSuffix("WHERE provider_message_id IS NOT NULL AND channel <> 'push'") == true, "\(index)")
            let indexed = try await store.rows(sql: """
                SELECT provider_message_id FROM notifications INDEXED BY notifications_by_provider_message
                WHERE provider_message_id IS NOT NULL AND channel <> 'push'
                """)
            #expect(indexed == [["SM0001"]])
            let plan = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteStore.providerMessageSQL, arguments: ["SM0001"]).map { $0["detail"] as String }
            }
            #expect(plan.contains { $0.contains("USING INDEX notifications_by_provider_message") }, "\(plan)")
            let at = Date(timeIntervalSince1970: 1_800_000_000)
            let summary = try await store.applyProviderEvents([
                ProviderEvent(target: .providerMessage("SM0001"), kind: .delivered, provider: "twilio", eventKey: "SM0001:delivered", at: at),
            ], at: at)
            #expect(summary.applied == 1 && summary.unknown == 0)
            let states = try await store.rows(sql: "SELECT id, state FROM notifications ORDER BY id")
            #expect(states == [["1", "delivered"], ["2", "sent"]])
        }
    }
}
