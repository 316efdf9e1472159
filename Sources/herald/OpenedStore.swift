import HeraldCore
import HeraldPostgres
import HeraldStore

/// The store herald.yml names, opened: a SQLite file or a PostgreSQL database.
///
/// Commands that run on either talk to ``store`` (or ``tracing``); those that need what only
/// SQLite has yet (the HTTP API and its keys, the queue and dead letters, provider health,
/// experiments and the report's other views) ask for ``sqlite(for:)``, which says so when
/// herald.yml names PostgreSQL. The benchmarks measure SQLite and open their own files.
enum OpenedStore: Sendable {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    /// Every role of ``Store``, on whichever database.
    var store: any Store {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// Notifications with their trails (`herald trace`), on either database.
    var tracing: any TraceStore {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// The SQLite store, or an error saying that `command` needs one.
    ///
    /// - Parameter command: the command as the user types it, e.g. `herald serve`.
    func sqlite(for command: String) throws -> SQLiteStore {
        switch self {
        case .sqlite(let store): return store
        case .postgres:
            throw CLIError("`\(command)` does not run on PostgreSQL yet, and herald.yml's store is a postgres:// URL (see \"Running on PostgreSQL\" in the README for what does; --database FILE reads a SQLite file instead)")
        }
    }

    /// Runs a large load with SQLite's attribute indexes dropped and built once at the end;
    /// PostgreSQL keeps its indexes, and runs `body` as it is.
    func withAttributeIndexesDeferred<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        switch self {
        case .sqlite(let store): try await store.withAttributeIndexesDeferred(body)
        case .postgres: try await body()
        }
    }

    /// Updates SQLite's planner statistics after a load; PostgreSQL's autovacuum does that itself.
    func analyze() async throws {
        if case .sqlite(let store) = self { try await store.analyze() }
    }
}
