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
public final class SQLiteStore: Store {
    public struct Configuration: Sendable {
        /// Whether the store may write.
        public enum Access: Sendable {
            /// Creates the file if needed and migrates it (commands that write).
            case readWrite
            /// Opens an existing, migrated file and never writes, so that it works on a read-only
            /// file and never waits for another process's write lock (commands that only read).
            case readOnly
        }

        /// How long a writer waits for another writer's lock before failing. Default 10 s.
        public var busyTimeout: TimeInterval
        /// Concurrent readers. Default 4.
        public var maximumReaderCount: Int
        /// The zone of `today()` in audience rules for users without a valid one. Default `UTC`.
        public var defaultTimezone: String
        /// Default `.readWrite`.
        public var access: Access

        public init(busyTimeout: TimeInterval = 10, maximumReaderCount: Int = 4, defaultTimezone: String = "UTC", access: Access = .readWrite) {
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
            self.defaultTimezone = defaultTimezone
            self.access = access
        }
    }

    /// The attribute schema, to read attributes back from JSON with their declared types.
    public let schema: AttributeSchema
    let pool: DatabasePool
    /// Every async read goes through it (see ``ReaderGate``).
    let readers: ReaderGate
    let codec = StoreCodec()
    let defaultTimezone: String
    /// Audience rules already checked, by source; the same rule is compiled for every page.
    let rules = Mutex<[RuleSource: Rule]>([:])
    /// `store_secrets.guest_ids`, read once.
    let guestKey = Mutex<[UInt8]?>(nil)
    /// Writes of concurrent API sends, committed together.
    let groupCommit: GroupCommit
    /// Checkpoints the log beside the writer; `nil` when read-only.
    let checkpointer: WALCheckpointer?

    /// Opens the database at `path`: with `.readWrite` access it is created if needed and
    /// migrated to the current schema; with `.readOnly` it must exist and be migrated already.
    ///
    /// - Throws: ``StoreError`` with a sentence that says what to do when the file is missing
    ///   (read-only), cannot be opened, is not a Herald database, or needs another version.
    public init(path: String, schema: AttributeSchema, configuration: Configuration = Configuration()) throws {
        self.schema = schema
        defaultTimezone = configuration.defaultTimezone
        let readOnly = configuration.access == .readOnly
        if readOnly, !FileManager.default.fileExists(atPath: path) {
            throw StoreError(.missing, "no database at '\(path)'; create one with `herald users import FILE` or `herald users generate --count N`, or name the right file with --database")
        }
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        config.maximumReaderCount = configuration.maximumReaderCount
        readers = ReaderGate(permits: configuration.maximumReaderCount)
        config.foreignKeysEnabled = true
        config.readonly = readOnly
        config.prepareDatabase { db in
            if !readOnly {
                // The checkpointer copies the log beside the writer (``WALCheckpointer``).
                try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerLimit)")
            }
            SQLiteStore.registerRuleFunctions(db)
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            if readOnly {
                try Self.checkSchema(pool, path: path)
                checkpointer = nil
            } else {
                try Self.migrate(pool)
                try pool.write { db in try SQLiteStore.ensureAttributeIndexes(db, schema: schema) }
                checkpointer = try WALCheckpointer(path: path)
            }
        } catch let error as DatabaseError {
            throw StoreError(.cannotOpen, Self.describe(error, path: path))
        }
        groupCommit = GroupCommit { [pool, checkpointer] body in try await SQLiteStore.write(pool, checkpointer: checkpointer, body) }
    }

    /// Migrates, and migrates again when another process did it first: GRDB reads which
    /// migrations ran before it takes the write lock, so two processes opening a new file at the
    /// same moment can both try the same migration (the second then finds its tables, or gets
    /// SQLITE_BUSY upgrading a stale read). Each retry starts after the other process's latest
    /// migration, so one attempt per migration (and two more) always ends.
    static func migrate(_ pool: DatabasePool) throws {
        let attempts = 2 * StoreMigrations.migrator.migrations.count + 2
        var attempt = 1
        while true {
            do {
                try StoreMigrations.migrator.migrate(pool)
                return
            } catch is DatabaseError where attempt < attempts {
                attempt += 1
                // The check may meet the same contention (SQLITE_BUSY while another connection
                // recovers the WAL): then it is one more attempt.
                if (try? pool.read({ try StoreMigrations.migrator.hasCompletedMigrations($0) })) == true { return }
                usleep(useconds_t(Int.random(in: 1_000...20_000)))
            }
        }
    }

    /// A read-only store cannot migrate: the file must already have this version's schema.
    static func checkSchema(_ pool: DatabasePool, path: String) throws {
        let (completed, superseded, isHerald) = try pool.read { db in
            (
                try StoreMigrations.migrator.hasCompletedMigrations(db),
                try StoreMigrations.migrator.hasBeenSuperseded(db),
                try db.tableExists("grdb_migrations") && db.tableExists("notifications")
            )
        }
        guard isHerald else {
            throw StoreError(.cannotOpen, "'\(path)' is not a Herald database (it has no Herald tables); name the right file with --database")
        }
        if superseded {
            throw StoreError(.cannotOpen, "'\(path)' was written by a newer version of Herald; use that version to read it")
        }
        guard completed else {
            throw StoreError(.cannotOpen, "'\(path)' was written by an older version of Herald; run a command that writes (such as `herald deliver`) once to upgrade it")
        }
    }

    /// A sentence for an SQLite error met while opening `path`.
    static func describe(_ error: DatabaseError, path: String) -> String {
        switch error.resultCode {
        case .SQLITE_NOTADB:
            "'\(path)' is not a Herald database (not an SQLite file); name the right file with --database"
        case .SQLITE_READONLY:
            "cannot write the database '\(path)': it is read-only; check its permissions (and its directory's), or work on a copy"
        case .SQLITE_CANTOPEN:
            "cannot open the database '\(path)': check that its directory exists and is readable"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            "the database '\(path)' is locked by another process; try again when it is done"
        default:
            "cannot open the database '\(path)': \(error.message ?? "\(error.resultCode)")"
        }
    }

    /// Runs a read-only SQL query and returns rows as text, for `--explain` and diagnostics.
    public func rows(sql: String, arguments: [String] = []) async throws -> [[String]] {
        try await readers.withPermit {
            try await pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                    row.databaseValues.map { $0.isNull ? "NULL" : String(describing: $0.storage.value ?? "") }
                }
            }
        }
    }

    /// Wraps GRDB errors into ``StoreError`` so callers never see SQL text.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.write(pool, checkpointer: checkpointer, body)
    }

    static func write<T: Sendable>(
        _ pool: DatabasePool, checkpointer: WALCheckpointer?, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            defer { checkpointer?.wrote() }
            return try await pool.write(body)
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_READONLY:
                throw StoreError(.database, "cannot write the database: it is read-only; check its permissions (and its directory's), or work on a copy")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw StoreError(.database, "the database stayed locked by another process for 10 s; try again when it is done")
            default:
                throw StoreError(.database, "the database refused a write: \(error.message ?? "\(error.resultCode)")")
            }
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await readers.withPermit { try await pool.read(body) }
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

