import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func report(campaignID: String?) async throws -> [ReportRow] {
        try await read { db in
            var sql = "SELECT campaign_id, channel, state, reason, COUNT(*) FROM notifications"
            var arguments: StatementArguments = []
            if let campaignID {
                sql += " WHERE campaign_id = ?"
                arguments += [campaignID]
            }
            sql += " GROUP BY campaign_id, channel, state, reason ORDER BY campaign_id, channel"
            var rows: [String: ReportRow] = [:]
            var order: [String] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                guard let channel = Channel(rawValue: row[1]), let state = NotificationState(rawValue: row[2]) else { continue }
                let key = "\(row[0] as String)\u{0}\(channel.rawValue)"
                if rows[key] == nil {
                    rows[key] = ReportRow(campaignID: row[0], channel: channel)
                    order.append(key)
                }
                let count: Int = row[4]
                rows[key]!.targeted += count
                switch state {
                case .planned, .sending: rows[key]!.pending += count
                case .sent: rows[key]!.sent += count
                case .delivered: rows[key]!.delivered += count
                case .failed: rows[key]!.failed += count
                case .dead: rows[key]!.dead += count
                case .skipped: rows[key]!.skipped[(row[3] as String?) ?? "unknown", default: 0] += count
                }
            }
            return order.compactMap { rows[$0] }.sorted { ($0.campaignID, $0.channel) < ($1.campaignID, $1.channel) }
        }
    }

    /// The ids of every campaign the store has planned, sorted.
    public func campaignIDs() async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM campaigns ORDER BY id")
        }
    }

    /// How many events of each type the trail holds, optionally for one campaign.
    public func eventCounts(campaignID: String? = nil) async throws -> [String: Int] {
        try await read { db in
            var sql = "SELECT type, COUNT(*) FROM events"
            var arguments: StatementArguments = []
            if let campaignID {
                sql += " WHERE campaign_id = ?"
                arguments += [campaignID]
            }
            sql += " GROUP BY type"
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                counts[row[0]] = row[1]
            }
            return counts
        }
    }
}
