import Foundation
import HeraldCore
import Logging
import PostgresNIO

/// The PostgreSQL schema, as append-only named migrations: a landed migration is never edited,
/// a change is a new one. The tables mirror SQLite's (`StoreMigrations`) with PostgreSQL's
/// types: `BOOLEAN` flags, `JSONB` attributes, instants as `DOUBLE PRECISION` seconds since 1970
/// (as SQLite's REAL, so that both stores give the same instants), and ids in the "C" collation
/// so that paging by id orders them by bytes, as SQLite does.
enum PostgresMigrations {
    /// Each migration's statements, run one by one (the extended protocol takes one statement
    /// per query) in one transaction with its record in `herald_migrations`.
    static let all: [(identifier: String, statements: [String])] = [
        ("v1-users", [
            """
            CREATE TABLE users (
                id TEXT COLLATE "C" PRIMARY KEY,
                email TEXT,
                phone TEXT,
                locale TEXT,
                timezone TEXT,
                first_name TEXT,
                last_name TEXT,
                created_at DOUBLE PRECISION,
                attributes JSONB NOT NULL DEFAULT '{}',
                updated_at DOUBLE PRECISION NOT NULL DEFAULT 0,
                -- People an API send names by address: in no campaign audience.
                guest BOOLEAN NOT NULL DEFAULT FALSE
            )
            """,
            "CREATE INDEX users_by_email ON users (lower(email))",
            "CREATE INDEX users_by_phone ON users (phone)",
            """
            CREATE TABLE devices (
                user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                platform TEXT NOT NULL,
                address TEXT NOT NULL,
                subscription TEXT,
                active BOOLEAN NOT NULL DEFAULT TRUE,
                -- The push service that issued the token; NULL: the platform's default.
                service TEXT,
                PRIMARY KEY (user_id, platform, address)
            )
            """,
            """
            CREATE TABLE preferences (
                user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                opted_in BOOLEAN NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (user_id, key)
            )
            """,
        ]),
        // What audience rules need (`Rule.sql(in:dialect: .postgres)`): the events `performed()`
        // and `count()` read, and the functions SQLite gets from Swift, with the same results.
        ("v2-rules", PostgresRuleFunctions.receivedEvents + PostgresRuleFunctions.statements + PostgresUnicodeFunctions.statements),
    ]

    /// Applies the migrations the database lacks, in order, each in its own transaction, under a
    /// transaction-scoped advisory lock: a second process starting at the same moment waits, then
    /// finds them applied.
    ///
    /// - Parameter schema: the PostgreSQL schema the tables go in (created when missing); nil:
    ///   the connection's default.
    static func migrate(_ client: PostgresClient, schema: String?, logger: Logger) async throws {
        for migration in all {
            try await client.withTransaction(logger: logger) { connection in
                // Under the lock: two processes creating the table at once would collide.
                try await connection.query("SELECT pg_advisory_xact_lock(8317054012)", logger: logger)
                if let schema {
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
                }
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS herald_migrations (identifier TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)
                    """, logger: logger)
                let applied = try await connection.query(
                    "SELECT 1 FROM herald_migrations WHERE identifier = \(migration.identifier)", logger: logger
                )
                for try await _ in applied { return }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = Date().timeIntervalSince1970
                try await connection.query(
                    "INSERT INTO herald_migrations (identifier, applied_at) VALUES (\(migration.identifier), \(now))", logger: logger
                )
            }
        }
    }
}
