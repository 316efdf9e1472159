import Foundation
import HeraldCore
import PostgresNIO

/// The delivery workers alive on the database, as on SQLite.
extension PostgresStore: WorkerPresenceStore {
    public func announce(_ worker: WorkerPresence, liveSince: Date) async throws -> [WorkerPresence] {
        try await transaction { connection in
            try await connection.perform("""
                INSERT INTO workers (id, channels, host, process_id, started_at, seen_at)
                VALUES (\(worker.id), \(worker.storedChannels), \(worker.host), \(worker.processID), \(worker.startedAt.timeIntervalSince1970),
                    \(worker.seenAt.timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET channels = excluded.channels, seen_at = GREATEST(workers.seen_at, excluded.seen_at)
                """, logger: logger)
            try await connection.perform("DELETE FROM workers WHERE seen_at < \(liveSince.timeIntervalSince1970 - 3600)", logger: logger)
            return try await Self.workers(connection.query(Self.liveWorkersQuery(since: liveSince), logger: logger))
        }
    }

    public func withdraw(workerID: String) async throws {
        try await perform("DELETE FROM workers WHERE id = \(workerID)")
    }

    public func liveWorkers(since liveSince: Date) async throws -> [WorkerPresence] {
        try await fetch(Self.liveWorkersQuery(since: liveSince)) { try await Self.workers($0) }
    }

    static func liveWorkersQuery(since: Date) -> PostgresQuery {
        "SELECT id, channels, host, process_id, started_at, seen_at FROM workers WHERE seen_at >= \(since.timeIntervalSince1970) ORDER BY id COLLATE \"C\""
    }

    static func workers(_ rows: PostgresRowSequence) async throws -> [WorkerPresence] {
        var workers: [WorkerPresence] = []
        for try await row in rows.decode((String, String, String, Int, Double, Double).self) {
            workers.append(WorkerPresence(
                id: row.0, channels: WorkerPresence.channels(stored: row.1), host: row.2, processID: row.3,
                startedAt: Date(timeIntervalSince1970: row.4), seenAt: Date(timeIntervalSince1970: row.5)
            ))
        }
        return workers
    }
}
