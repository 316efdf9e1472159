import Foundation
import HeraldCore
import PostgresNIO

/// `herald report --variants` on PostgreSQL: each campaign's groups, counted as on SQLite (see
/// ``InsightStore/experimentReport(campaignID:)`` for who is in a group and what converts).
extension PostgresStore {
    public func experimentReport(campaignID: String?) async throws -> [ExperimentGroupCounts] {
        let (filter, bindings) = Self.campaignFilter(campaignID, column: "n.campaign_id")
        return try await readSnapshot { connection in
            var groups: [String: ExperimentGroupCounts] = [:]
            func key(_ campaign: String, _ group: String) -> String { campaign + "\u{0}" + group }
            // The window opens at the second of the send (SQLite's CAST(start AS INTEGER): trunc).
            let members = try await connection.query(PostgresQuery(unsafeSQL: """
                WITH members AS (
                    SELECT n.campaign_id AS campaign_id, n.variant AS variant, n.user_id AS user_id,
                        MIN(CASE WHEN n.state = 'skipped' THEN n.due_at ELSE COALESCE(
                            (SELECT MIN(e.at) FROM events e WHERE e.notification_id = n.id AND e.type = 'sent'), n.due_at) END) AS start,
                        bool_or(n.state IN ('sent', 'delivered')) AS sent
                    FROM notifications n
                    WHERE n.variant IS NOT NULL AND (n.state <> 'skipped' OR n.reason = 'holdout')\(filter)
                    GROUP BY n.campaign_id, n.variant, n.user_id
                )
                SELECT m.campaign_id, m.variant, COUNT(*), COUNT(*) FILTER (WHERE m.sent), c.conversion_event, c.conversion_window,
                    COUNT(*) FILTER (WHERE c.conversion_event IS NOT NULL AND EXISTS (
                        SELECT 1 FROM received_events r
                        WHERE r.user_id = m.user_id AND r.name = c.conversion_event
                            AND r.received_at >= trunc(m.start) AND r.received_at <= m.start + c.conversion_window))
                FROM members m LEFT JOIN campaigns c ON c.id = m.campaign_id
                GROUP BY m.campaign_id, m.variant, c.conversion_event, c.conversion_window
                """, binds: bindings), logger: logger)
            for try await (campaign, group, people, sent, event, window, converted) in members.decode(
                (String, String, Int, Int, String?, Double?, Int).self
            ) {
                groups[key(campaign, group)] = ExperimentGroupCounts(
                    campaignID: campaign, group: group, people: people, sent: sent, converted: event == nil ? nil : converted,
                    conversionEvent: event, conversionWindowSeconds: window
                )
            }
            let engagementFilter = campaignID == nil ? "" : " AND e.campaign_id = $1 AND n.campaign_id = e.campaign_id"
            let engagement = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT n.campaign_id, n.variant,
                    COUNT(DISTINCT n.user_id) FILTER (WHERE e.type = 'opened' AND e.reason = 'first'),
                    COUNT(DISTINCT n.user_id) FILTER (WHERE e.type = 'clicked')
                FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE n.variant IS NOT NULL AND e.type IN ('opened', 'clicked')\(engagementFilter)
                GROUP BY n.campaign_id, n.variant
                """, binds: bindings), logger: logger)
            for try await (campaign, group, opened, clicked) in engagement.decode((String, String, Int, Int).self) {
                groups[key(campaign, group)]?.opened = opened
                groups[key(campaign, group)]?.clicked = clicked
            }
            return groups.values.sorted(by: ExperimentGroupCounts.reportOrder)
        }
    }
}
