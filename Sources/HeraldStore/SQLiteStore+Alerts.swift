import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: AlertIncidentStore {
    public func openIncident(_ alert: Alert) async throws -> Bool {
        let key: StatementArguments = [alert.kind.rawValue, alert.channel.rawValue, alert.provider ?? ""]
        let seen = alert.at.timeIntervalSince1970
        return try await write { db in
            // In one write transaction: of two processes seeing it at once, one opens it.
            try db.execute(sql: """
                UPDATE alert_incidents SET confirmed_at = MAX(COALESCE(confirmed_at, started_at), ?) WHERE kind = ? AND channel = ? AND provider = ?
                """, arguments: [seen] + key)
            guard db.changesCount == 0 else { return false }
            try db.execute(sql: """
                INSERT INTO alert_incidents (kind, channel, provider, severity, message, started_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: key + [alert.severity.rawValue, alert.message, alert.startedAt.timeIntervalSince1970, seen])
            return true
        }
    }

    public func closeIncident(_ key: Alert.Key, unseenSince cutoff: Date, at now: Date) async throws -> Alert? {
        try await write { db in
            // One statement: of two processes closing the same incident, one gets the row back.
            let row = try Row.fetchOne(db, sql: """
                DELETE FROM alert_incidents WHERE kind = ? AND channel = ? AND provider = ? AND COALESCE(confirmed_at, started_at) <= ?
                RETURNING kind, channel, provider, severity, message, started_at
                """, arguments: [key.kind.rawValue, key.channel.rawValue, key.provider ?? "", cutoff.timeIntervalSince1970])
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
