import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: AlertIncidentStore {
    public func openIncident(_ alert: Alert) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO alert_incidents (kind, channel, provider, severity, message, started_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (kind, channel, provider) DO NOTHING
                """, arguments: [
                    alert.kind.rawValue, alert.channel.rawValue, alert.provider ?? "", alert.severity.rawValue, alert.message,
                    alert.startedAt.timeIntervalSince1970,
                ])
            return db.changesCount > 0
        }
    }

    public func closeIncident(_ key: Alert.Key, at now: Date) async throws -> Alert? {
        try await write { db in
            // One statement: of two processes closing the same incident, one gets the row back.
            let row = try Row.fetchOne(db, sql: """
                DELETE FROM alert_incidents WHERE kind = ? AND channel = ? AND provider = ?
                RETURNING kind, channel, provider, severity, message, started_at
                """, arguments: [key.kind.rawValue, key.channel.rawValue, key.provider ?? ""])
            return row.flatMap { Self.incident($0, at: now) }
        }
    }

    public func openIncidents() async throws -> [Alert] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT kind, channel, provider, severity, message, started_at FROM alert_incidents ORDER BY channel, kind, provider
                """).compactMap { Self.incident($0, at: nil) }
        }
    }

    /// An incident row as the alert that opened it (`at` is when it was observed, its start by
    /// default); nil for a kind or channel this version does not know.
    static func incident(_ row: Row, at: Date?) -> Alert? {
        Alert(storedKind: row[0], channel: row[1], provider: row[2], severity: row[3], message: row[4], startedAt: row[5], at: at)
    }
}
