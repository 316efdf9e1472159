import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func experimentReport(campaignID: String?) async throws -> [ExperimentGroupCounts] {
        try await read { db in
            let filter = campaignID == nil ? "" : " AND n.campaign_id = ?"
            let arguments: StatementArguments = campaignID.map { [$0] } ?? []
            // `+e.type` keeps SQLite from answering the per-notification lookups below through
            // events_by_type_time (walking every `sent` event of the store for each notification)
            // instead of events_by_notification.
            var groups: [String: ExperimentGroupCounts] = [:]
            func key(_ campaign: String, _ group: String) -> String { campaign + "\u{0}" + group }
            let members = try Row.fetchCursor(db, sql: """
                WITH members AS (
                    SELECT n.campaign_id AS campaign_id, n.variant AS variant, n.user_id AS user_id,
                        MIN(CASE WHEN n.state = 'skipped' THEN n.due_at ELSE COALESCE(
                            (SELECT MIN(e.at) FROM events e WHERE e.notification_id = n.id AND +e.type = 'sent'), n.due_at) END) AS start,
                        MAX(n.state IN ('sent', 'delivered')) AS sent
                    FROM notifications n
                    WHERE n.variant IS NOT NULL AND (n.state != 'skipped' OR n.reason = 'holdout')\(filter)
                    GROUP BY n.campaign_id, n.variant, n.user_id
                )
                SELECT m.campaign_id, m.variant, COUNT(*), SUM(m.sent), c.conversion_event, c.conversion_window,
                    SUM(c.conversion_event IS NOT NULL AND EXISTS (
                        SELECT 1 FROM received_events r
                        WHERE r.user_id = m.user_id AND r.name = c.conversion_event
                            AND r.received_at >= CAST(m.start AS INTEGER) AND r.received_at <= m.start + c.conversion_window))
                FROM members m LEFT JOIN campaigns c ON c.id = m.campaign_id
                GROUP BY m.campaign_id, m.variant
                """, arguments: arguments)
            while let row = try members.next() {
                let event: String? = row[4]
                groups[key(row[0], row[1])] = ExperimentGroupCounts(
                    campaignID: row[0], group: row[1], people: row[2], sent: row[3], converted: event == nil ? nil : row[6] as Int,
                    conversionEvent: event, conversionWindowSeconds: row[5]
                )
            }
            let engagement = try Row.fetchCursor(db, sql: """
                SELECT n.campaign_id, n.variant,
                    COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'first' THEN n.user_id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'clicked' THEN n.user_id END)
                FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE n.variant IS NOT NULL AND e.type IN ('opened', 'clicked')\(campaignID == nil ? "" : " AND e.campaign_id = ? AND n.campaign_id = e.campaign_id")
                GROUP BY n.campaign_id, n.variant
                """, arguments: arguments)
            while let row = try engagement.next() {
                let id = key(row[0], row[1])
                groups[id]?.opened = row[2]
                groups[id]?.clicked = row[3]
            }
            return groups.values.sorted(by: ExperimentGroupCounts.reportOrder)
        }
    }
}
