import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// Migrations bring a database written by an earlier version up to date when it is opened.
@Suite struct MigrationTests {
    /// The stand-in transport of the first versions copied every "sent" message, address and
    /// content, into `sent_messages`. Nothing writes there any more, so the copies (personal data
    /// that erasure would otherwise have to chase) go away with the table.
    @Test func theStandInLogOfEarlierVersionsIsDroppedWithItsCopies() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("old.db")
            do {
                let pool = try DatabasePool(path: path)
                try StoreMigrations.migrator.migrate(pool, upTo: "v9-experiments")
                try await pool.write { db in
                    try db.execute(sql: """
                        INSERT INTO sent_messages (notification_id, provider, channel, address, content, at)
                        VALUES (1, 'sendgrid', 'email', 'ana@example.com', '{"subject":"Hi Ana"}', 0)
                        """)
                }
            }
            let store = try SQLiteStore(path: path, schema: AttributeSchema())
            let tables = try await store.rows(sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sent_messages'")
            #expect(tables.isEmpty)
            let applied = try await store.rows(sql: "SELECT identifier FROM grdb_migrations WHERE identifier = 'v10-no-stand-in-log'")
            #expect(applied == [["v10-no-stand-in-log"]])
        }
    }
}
