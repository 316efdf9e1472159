import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: WorkerPresenceStore {
    public func announce(_ worker: WorkerPresence, liveSince: Date) async throws -> [WorkerPresence] {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO workers (id, channels, host, process_id, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET channels = excluded.channels, seen_at = MAX(seen_at, excluded.seen_at)
                """, arguments: [
                    worker.id, worker.storedChannels, worker.host, worker.processID, worker.startedAt.timeIntervalSince1970,
                    worker.seenAt.timeIntervalSince1970,
                ])
            try db.execute(sql: "DELETE FROM workers WHERE seen_at < ?", arguments: [liveSince.timeIntervalSince1970 - 3600])
            return try Self.workers(db, since: liveSince)
        }
    }

    public func withdraw(workerID: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM workers WHERE id = ?", arguments: [workerID]) }
    }

    public func liveWorkers(since liveSince: Date) async throws -> [WorkerPresence] {
        try await read { db in try Self.workers(db, since: liveSince) }
    }

    static func workers(_ db: Database, since: Date) throws -> [WorkerPresence] {
        try Row.fetchAll(db, sql: """
            SELECT id, channels, host, process_id, started_at, seen_at FROM workers WHERE seen_at >= ? ORDER BY id
            """, arguments: [since.timeIntervalSince1970]).map { row in
            WorkerPresence(
                id: row[0], channels: WorkerPresence.channels(stored: row[1]), host: row[2], processID: row[3],
                startedAt: Date(timeIntervalSince1970: row[4]), seenAt: Date(timeIntervalSince1970: row[5])
            )
        }
    }
}
