import Foundation
import GRDB
import HeraldCore
import HeraldRules
import HeraldStore

/// A SQLite file with the store's `users` and `devices` tables and the rule functions, as the
/// store sets them up.
public final class RuleTestDatabase {
    /// The database, for tests that run SQL of their own.
    public let queue: DatabaseQueue
    private let directory: URL

    /// A new file in a temporary directory, removed with the object.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            SQLiteStore.registerRuleFunctions(db)
        }
        queue = try DatabaseQueue(path: directory.appendingPathComponent("herald.db").path, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE users (
                  id TEXT PRIMARY KEY NOT NULL, email TEXT, phone TEXT, locale TEXT, timezone TEXT,
                  first_name TEXT, last_name TEXT, created_at REAL,
                  attributes TEXT NOT NULL DEFAULT '{}',
                  updated_at REAL NOT NULL DEFAULT 0);
                CREATE TABLE devices (
                  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, platform TEXT NOT NULL, address TEXT NOT NULL,
                  subscription TEXT, active INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (user_id, platform, address));
                CREATE TABLE received_events (
                  id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, received_at REAL NOT NULL);
                CREATE INDEX received_events_by_user ON received_events (user_id, name, received_at);
                """)
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Replaces every user, writing attributes as the store does (`AttributeValue.jsonValue`).
    public func replaceUsers(_ users: [User]) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM devices")
            try db.execute(sql: "DELETE FROM users")
            for user in users {
                let json = try JSONSerialization.data(withJSONObject: user.attributes.mapValues(\.jsonValue), options: [.sortedKeys])
                try db.execute(
                    sql: """
                        INSERT INTO users (id, email, phone, locale, timezone, first_name, last_name, created_at, attributes)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        user.id, user.email, user.phone, user.locale, user.timezone, user.firstName, user.lastName,
                        user.createdAt?.timeIntervalSince1970, String(decoding: json, as: UTF8.self),
                    ]
                )
                for (index, device) in user.devices.enumerated() {
                    try db.execute(
                        sql: "INSERT INTO devices (user_id, platform, address, active) VALUES (?, ?, ?, ?)",
                        arguments: [user.id, device.platform.rawValue, "\(device.address)-\(index)", device.isActive]
                    )
                }
            }
        }
    }

    /// Writes a user's attributes as the given JSON text, which need not fit the schema: as a
    /// database written before the schema changed holds them.
    public func setAttributes(_ json: String, of userID: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE users SET attributes = ? WHERE id = ?", arguments: [json, userID])
        }
    }

    /// Replaces every received event (`performed()`, `count()`).
    public func replaceEvents(_ events: [(userID: String, name: String, at: Date)]) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM received_events")
            for event in events {
                try db.execute(
                    sql: "INSERT INTO received_events (user_id, name, received_at) VALUES (?, ?, ?)",
                    arguments: [event.userID, event.name, event.at.timeIntervalSince1970]
                )
            }
        }
    }

    /// `SELECT id FROM users WHERE <condition> ORDER BY id`, as the planner runs it.
    public func select(_ condition: SQLCondition) throws -> [String] {
        try queue.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM users WHERE \(condition.sql) ORDER BY id",
                arguments: StatementArguments(condition.arguments.map(\.databaseValue))
            )
        }
    }

    /// The query plan's details, for checking index use.
    public func plan(_ condition: SQLCondition) throws -> [String] {
        try queue.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT id FROM users WHERE \(condition.sql) ORDER BY id",
                arguments: StatementArguments(condition.arguments.map(\.databaseValue))
            ).map { $0["detail"] as String }
        }
    }
}
