import Foundation
import GRDB

extension SQLiteStore {
    /// What planning wrote to a database, table by table.
    public struct PlannedRows: Sendable {
        public var notifications: Int
        public var outbox: Int
        public var events: Int
        public var capSlots: Int
        /// Bytes of the database's pages that hold those tables and their indexes.
        public var bytes: Int

        public var rows: Int { notifications + outbox + events + capSlots }
    }

    /// Counts the rows and bytes of the planning tables.
    public func plannedRows() async throws -> PlannedRows {
        try await read { db in
            func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
            // dbstat is compiled into the SQLite of most systems; without it the byte count is 0.
            let bytes = (try? Int.fetchOne(db, sql: """
                SELECT SUM(pgsize) FROM dbstat WHERE name IN (
                    SELECT name FROM sqlite_schema WHERE tbl_name IN ('notifications', 'outbox', 'events', 'cap_ledger'))
                """)) ?? 0
            return PlannedRows(
                notifications: try count("notifications"), outbox: try count("outbox"), events: try count("events"),
                capSlots: try count("cap_ledger"), bytes: bytes ?? 0
            )
        }
    }

    /// The raw insert ceiling for planning: copies the planning tables of the database at
    /// `source` into the empty, migrated database at `target`, `batchSize` rows per
    /// transaction and table (`INSERT … SELECT` in key order), and returns how long that took.
    /// The same rows into the same indexes: what any planner writing them spends at least.
    public static func copyPlannedRows(from source: String, to target: String, batchSize: Int = 1000) throws -> Duration {
        let queue = try DatabaseQueue(path: target)
        try queue.inDatabase { db in
            try db.execute(sql: "DELETE FROM cap_ledger")
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [source])
        }
        let tables: [(name: String, key: [String])] = [
            ("occurrences", ["id"]), ("notifications", ["id"]), ("outbox", ["notification_id"]), ("events", ["id"]),
            ("cap_ledger", ["user_id", "at", "occurrence_id", "channel"]),
        ]
        let clock = ContinuousClock()
        return try clock.measure {
            for table in tables {
                let key = table.key.joined(separator: ", ")
                var last: [DatabaseValue]?
                while true {
                    let copied: Int = try queue.write { db in
                        let after = last.map { _ in "WHERE (\(key)) > (\(table.key.map { _ in "?" }.joined(separator: ", ")))" } ?? ""
                        try db.execute(sql: """
                            INSERT INTO main.\(table.name) SELECT * FROM source.\(table.name) \(after) ORDER BY \(key) LIMIT \(batchSize)
                            """, arguments: StatementArguments(last ?? []))
                        let count = db.changesCount
                        if count > 0 {
                            let row = try Row.fetchOne(db, sql: "SELECT \(key) FROM main.\(table.name) ORDER BY \(table.key.map { "\($0) DESC" }.joined(separator: ", ")) LIMIT 1")
                            last = row.map { row in table.key.indices.map { row[$0] } }
                        }
                        return count
                    }
                    if copied < batchSize { break }
                }
            }
        }
    }
}
