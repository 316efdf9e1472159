import Foundation
import HeraldCore
import HeraldRules
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// The store on PostgreSQL (`store: postgres://user@host:5432/herald` in herald.yml), for Herald
/// processes on several machines sharing one database. SQLite stays the embedded default.
///
/// It runs its own connection pool (postgres-nio's `PostgresClient`) for as long as it is open;
/// ``close()`` stops it. Opening applies the schema's migrations (append-only and versioned, as
/// for SQLite), under an advisory lock so that processes starting together apply each once.
///
/// It implements every role of ``Store``: users and audience rules (``UserStore``), compiled
/// to PostgreSQL's dialect (`SQLDialect.postgres`) and selecting the same users as on SQLite and
/// in memory; planning (``PlanningStore``), with the cap ledger and the throttle ledger checked
/// under locks in the transaction that writes a page; the outbox (``OutboxStore``), claimed with
/// `FOR UPDATE SKIP LOCKED` so that dispatchers in several processes never take the same row;
/// received events (``EventStore``) and the scheduler's occurrences (``ScheduleStore``), each
/// created once across processes; and the report's counts (``ReportStore``).
///
/// ```swift
/// let store = try await PostgresStore(url: "postgres://herald@db.internal:5432/herald", password: secret, attributes: schema)
/// defer { Task { await store.close() } }
/// _ = try await store.upsertUsers(users, at: Date())
/// ```
public final class PostgresStore: Store, Sendable {
    /// Where the database is: host, port, user and database of a `postgres://` URL.
    public typealias Location = PostgresLocation

    /// The connection pool; tests reach the tables through it.
    package let client: PostgresClient
    let running: Task<Void, Never>
    /// The server, named in errors.
    let location: Location
    let schema: AttributeSchema
    let logger: Logger
    /// herald.yml's `default_timezone`, for `today()` of users without a valid zone.
    let defaultTimezone: String
    /// The server's zone names (see `zoneNames(_:logger:)`).
    package let zoneNames: [String]
    /// Audience rules by source, parsed and checked once.
    let rules = Mutex<[RuleSource: Rule]>([:])

    /// Connects, and applies the migrations the database lacks.
    ///
    /// - Parameters:
    ///   - url: `postgres://user@host:port/database`.
    ///   - password: the password when the URL has none (from `${ENV}` in herald.yml).
    ///   - attributes: the attribute schema users' attributes are read with.
    ///   - searchPath: the PostgreSQL schema Herald's tables live in, created when missing;
    ///     default the user's (`public`). Tests give each run a schema of its own.
    ///   - maximumConnections: the pool's size. Default 20.
    ///   - defaultTimezone: herald.yml's `default_timezone`, the zone of `today()` for users
    ///     without a valid one. Default UTC.
    public convenience init(
        url: String, password: String? = nil, attributes: AttributeSchema, searchPath: String? = nil, maximumConnections: Int = 20,
        defaultTimezone: String = "UTC"
    ) async throws {
        var location = try Location(url: url)
        if location.password == nil { location.password = password }
        try await self.init(
            location: location, attributes: attributes, searchPath: searchPath, maximumConnections: maximumConnections, defaultTimezone: defaultTimezone
        )
    }

    /// Connects to the database at `location` (herald.yml's `store:`, read with ``StoreLocation``),
    /// and applies the migrations it lacks; the other parameters as for ``init(url:password:attributes:searchPath:maximumConnections:defaultTimezone:)``.
    public init(
        location: Location, attributes: AttributeSchema, searchPath: String? = nil, maximumConnections: Int = 20, defaultTimezone: String = "UTC"
    ) async throws {
        if let searchPath {
            guard let first = searchPath.unicodeScalars.first, first == "_" || ("a"..."z").contains(first),
                  searchPath.unicodeScalars.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }), searchPath.count <= 63
            else {
                throw StoreError(.missing, "'\(searchPath)' is not a PostgreSQL schema name Herald uses (lower-case letters, digits and _, at most 63)")
            }
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable
        )
        configuration.options.maximumConnections = maximumConnections
        if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
        // postgres-nio warns when the first query is queued before `run()` has started (it is
        // served as soon as it has), and logs each reconnection: noise on every command line.
        // What fails reaches the caller as a thrown ``StoreError``.
        var logger = Logger(label: "herald.postgres")
        logger.logLevel = .error
        // One connection first, on its own: the pool retries a server that refuses it and ends
        // with an error that says nothing of why (a wrong password, an unknown database).
        var single = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable
        )
        if let searchPath { single.options.additionalStartupParameters = [("search_path", searchPath)] }
        do {
            let probe = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: single, id: 0, logger: logger
            ).get()
            try await probe.close()
        } catch {
            throw Self.describe(error, location: location)
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let running = Task { await client.run() }
        let zoneNames: [String]
        do {
            try await PostgresMigrations.withSchemaLock(single, logger: logger) { connection in
                let isNew = try await PostgresMigrations.migrate(connection, schema: searchPath, logger: logger)
                try await Self.ensureAttributeIndexes(connection, schema: attributes, isNew: isNew, logger: logger)
            }
            zoneNames = try await Self.zoneNames(client, logger: logger)
        } catch {
            running.cancel()
            await running.value
            throw Self.describe(error, location: location)
        }
        self.client = client
        self.running = running
        self.location = location
        self.schema = attributes
        self.logger = logger
        self.defaultTimezone = defaultTimezone
        self.zoneNames = zoneNames
    }

    /// The identifiers of the migrations applied to this database, in the order applied.
    public func migrationsApplied() async throws -> [String] {
        let rows = try await client.query("SELECT identifier FROM herald_migrations ORDER BY applied_at, identifier", logger: logger)
        var identifiers: [String] = []
        for try await identifier in rows.decode(String.self) { identifiers.append(identifier) }
        return identifiers
    }

    /// Stops the connection pool; the store cannot be used after.
    public func close() async {
        running.cancel()
        await running.value
    }

    /// Runs `body` in one transaction and turns what PostgreSQL refuses into a ``StoreError``
    /// naming the server and the SQLSTATE. A transaction PostgreSQL ended to break a deadlock (SQLSTATE
    /// 40P01: two writers waiting on each other's rows) is run again from the start, up to three
    /// times in all: it wrote nothing, and `body` decides again from what it reads. `retrying`
    /// names further SQLSTATEs treated so (an API send that met a key another server inserted
    /// meanwhile, 23505, finds it the next time).
    func transaction<Result: Sendable>(retrying: Set<String> = [], _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await client.withTransaction(logger: logger) { try await body($0) }
            } catch {
                if attempt < 3, let state = Self.sqlState(of: error), state == "40P01" || retrying.contains(state) {
                    attempt += 1
                    continue
                }
                // What `body` threw itself (an `EventError`, an `OutboxInspectionError`, an API
                // send's `UnknownUsers` or `GuestIDTaken`, a `StoreError`) reaches the caller as it is.
                if let failed = error as? PostgresTransactionError, let cause = failed.closureError, cause is EventError || cause is OutboxInspectionError || cause is UnknownUsers || cause is GuestIDTaken {
                    throw cause
                }
                throw Self.describe(error, location: location, serverErrorCode: .database)
            }
        }
    }

    /// Runs one statement outside a transaction and collects its rows; errors as in ``transaction(_:)``.
    func fetch<Row: Sendable>(_ query: PostgresQuery, _ read: (PostgresRowSequence) async throws -> Row) async throws -> Row {
        do {
            return try await read(try await client.query(query, logger: logger))
        } catch {
            throw Self.describe(error, location: location, serverErrorCode: .database)
        }
    }

    /// The SQLSTATE a PostgreSQL error carries, also inside a failed transaction.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresTransactionError, let cause = error.closureError ?? error.commitError ?? error.beginError {
            return sqlState(of: cause)
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A PostgreSQL error as a store error that says what failed and where.
    ///
    /// - Parameter serverErrorCode: the code of an error the server reported; opening the store
    ///   says `.corrupt` (the database is not as Herald needs it), the roles `.database`.
    static func describe(_ error: any Error, location: Location, serverErrorCode: StoreError.Code = .corrupt) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError, let cause = error.closureError ?? error.commitError ?? error.beginError {
            return describe(cause, location: location, serverErrorCode: serverErrorCode)
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return StoreError(serverErrorCode, "PostgreSQL at \(location.host):\(location.port)/\(location.database): \(message)\(code)")
            }
            return StoreError(.missing, "cannot reach PostgreSQL at \(location.host):\(location.port)/\(location.database): \(error.code)")
        }
        return StoreError(.missing, "PostgreSQL at \(location.host):\(location.port)/\(location.database): \(error)")
    }
}
