import Foundation
import GRDB
import HeraldCore
import HeraldRules
import Synchronization

/// The SQLite store: one database file in WAL mode behind a GRDB `DatabasePool`.
///
/// Open one per process per file; it is safe to share between tasks. Writes are batched, one
/// transaction per batch, so a crash leaves each batch either fully applied or not at all.
///
/// ```swift
/// let store = try SQLiteStore(path: "herald.db", schema: workspace.configuration.attributes)
/// let summary = try await store.upsertUsers(users, at: clock.now)
/// ```
public final class SQLiteStore: Store, SentMessageLog {
    public struct Configuration: Sendable {
        /// How long a writer waits for another writer's lock before failing. Default 10 s.
        public var busyTimeout: TimeInterval
        /// Concurrent readers. Default 4.
        public var maximumReaderCount: Int
        /// The zone of `today()` in audience rules for users without a valid one. Default `UTC`.
        public var defaultTimezone: String

        public init(busyTimeout: TimeInterval = 10, maximumReaderCount: Int = 4, defaultTimezone: String = "UTC") {
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
            self.defaultTimezone = defaultTimezone
        }
    }

    /// The attribute schema, to read attributes back from JSON with their declared types.
    public let schema: AttributeSchema
    let pool: DatabasePool
    let codec = StoreCodec()
    let defaultTimezone: String
    /// Audience rules already checked, by source; the same rule is compiled for every page.
    let rules = Mutex<[RuleSource: Rule]>([:])

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    ///
    /// - Throws: ``StoreError`` when the file cannot be opened or is not a Herald database.
    public init(path: String, schema: AttributeSchema, configuration: Configuration = Configuration()) throws {
        self.schema = schema
        defaultTimezone = configuration.defaultTimezone
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        config.maximumReaderCount = configuration.maximumReaderCount
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            SQLiteStore.registerRuleFunctions(db)
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try StoreMigrations.migrator.migrate(pool)
            try pool.write { db in try SQLiteStore.ensureAttributeIndexes(db, schema: schema) }
        } catch let error as DatabaseError {
            throw StoreError(.cannotOpen, "cannot open the database '\(path)': \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// Runs a read-only SQL query and returns rows as text, for `--explain` and diagnostics.
    public func rows(sql: String, arguments: [String] = []) async throws -> [[String]] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                row.databaseValues.map { $0.isNull ? "NULL" : String(describing: $0.storage.value ?? "") }
            }
        }
    }

    /// Wraps GRDB errors into ``StoreError`` so callers never see SQL text.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError {
            throw StoreError(.database, "the database refused a write: \(error.message ?? "\(error.resultCode)")")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw StoreError(.database, "the database refused a read: \(error.message ?? "\(error.resultCode)")")
        }
    }
}

private extension DatabaseValue.Storage {
    var value: Any? {
        switch self {
        case .null: nil
        case .int64(let value): value
        case .double(let value): value
        case .string(let value): value
        case .blob(let value): value
        }
    }
}

/// An error from the store, with a stable code and a sentence for the user.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotOpen = "store.cannot_open"
        case database = "store.database"
        case invalidAudience = "store.invalid_audience"
        case corrupt = "store.corrupt"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
