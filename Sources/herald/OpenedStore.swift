import HeraldCore
import HeraldPostgres
import HeraldStore

/// The store herald.yml names, opened: a SQLite file or a PostgreSQL database.
///
/// Commands talk to the store through its roles, which both databases implement: ``store`` (the
/// engine's: sending, workers, the scheduler, triggers, imports), ``tracing`` (`herald trace`),
/// ``inspection`` (`herald queue`, `herald dead-letter`, the workers' provider health),
/// ``insights`` (every view of `herald report`), ``keys`` (`herald keys`), ``incidents`` (the
/// workers' alerts), ``workers`` (the workers' shares of each provider's rate) and ``AudienceExplaining`` (`herald audience --explain`), gathered in
/// ``roles`` with the HTTP API's (`herald serve`, `herald run`); `herald plan`, `audience` and
/// `preview` read through them too. What only SQLite has (`herald store copy`'s source, the
/// demo) asks for ``sqlite(for:)``,
/// which says so when herald.yml names PostgreSQL. The benchmarks measure SQLite and open their
/// own files.
enum OpenedStore: Sendable {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    /// Every role both databases implement.
    typealias Roles = Store & OutboxInspection & InsightStore & APIKeyStore & AlertIncidentStore & AudienceExplaining & APIStore
        & ProviderEventStore & WorkerPresenceStore

    /// The store, on whichever database, as each of its roles.
    var roles: any Roles {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// Every role of ``Store``, the engine's.
    var store: any Store { roles }

    /// Notifications with their trails (`herald trace`).
    var tracing: any TraceStore { roles }

    /// The queues, dead letters and providers' health (`herald queue`, `herald dead-letter`, the
    /// workers).
    var inspection: any OutboxInspection { roles }

    /// What `herald report` shows, every view of it.
    var insights: any InsightStore { roles }

    /// The API keys (`herald keys`).
    var keys: any APIKeyStore { roles }

    /// The alert incidents open across processes (the workers).
    var incidents: any AlertIncidentStore { roles }

    /// The delivery workers alive on the database, which divide each provider's rate (the
    /// workers; `herald queue`).
    var workers: any WorkerPresenceStore { roles }

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
