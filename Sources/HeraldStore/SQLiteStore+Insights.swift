import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: InsightStore {
    public func activity(campaignID: String?) async throws -> [ActivityCount] {
        try await read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT n.campaign_id, CAST(e.at / 3600 AS INTEGER) AS hour,
                    SUM(e.type = 'sent'), SUM(e.type = 'opened' AND e.reason = 'first'), SUM(e.type = 'clicked')
                FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type IN ('sent', 'opened', 'clicked')\(campaignID == nil ? "" : " AND e.campaign_id = ?")
                GROUP BY n.campaign_id, hour ORDER BY n.campaign_id, hour
                """, arguments: campaignID.map { [$0] } ?? [])
            var result: [ActivityCount] = []
            while let row = try rows.next() {
                result.append(ActivityCount(campaignID: row[0], hour: Date(timeIntervalSince1970: Double(row[1] as Int64) * 3600), sent: row[2], opened: row[3], clicked: row[4]))
            }
            return result
        }
    }

    public func localeBreakdown(campaignID: String?) async throws -> [LocaleCount] {
        try await read { db in
            let filter = campaignID == nil ? "" : "WHERE n.campaign_id = ?"
            let rows = try Row.fetchCursor(db, sql: """
                WITH people AS (
                    SELECT n.campaign_id AS campaign_id, n.user_id AS user_id,
                        MAX(n.state IN ('sent', 'delivered')) AS sent,
                        MAX(EXISTS (SELECT 1 FROM events e WHERE e.notification_id = n.id AND +e.type = 'opened' AND e.reason = 'first')) AS opened,
                        MAX(EXISTS (SELECT 1 FROM events e WHERE e.notification_id = n.id AND +e.type = 'clicked')) AS clicked
                    FROM notifications n \(filter)
                    GROUP BY n.campaign_id, n.user_id
                )
                SELECT p.campaign_id, COALESCE(u.locale, ''), COUNT(*), SUM(p.sent), SUM(p.opened), SUM(p.clicked)
                FROM people p LEFT JOIN users u ON u.id = p.user_id
                GROUP BY p.campaign_id, COALESCE(u.locale, '') ORDER BY p.campaign_id, COUNT(*) DESC, 2
                """, arguments: campaignID.map { [$0] } ?? [])
            var result: [LocaleCount] = []
            while let row = try rows.next() {
                result.append(LocaleCount(campaignID: row[0], locale: row[1], people: row[2], sent: row[3], opened: row[4], clicked: row[5]))
            }
            return result
        }
    }

    public func conversionsByChannel(campaignID: String?) async throws -> [ChannelConversions] {
        try await read { db in
            let filter = campaignID == nil ? "" : " AND n.campaign_id = ?"
            let rows = try Row.fetchCursor(db, sql: """
                WITH sends AS (
                    SELECT n.campaign_id AS campaign_id, n.channel AS channel, n.user_id AS user_id,
                        MIN(COALESCE((SELECT MIN(e.at) FROM events e WHERE e.notification_id = n.id AND +e.type = 'sent'), n.due_at)) AS start
                    FROM notifications n JOIN campaigns c ON c.id = n.campaign_id
                    WHERE c.conversion_event IS NOT NULL AND n.state IN ('sent', 'delivered')\(filter)
                    GROUP BY n.campaign_id, n.channel, n.user_id
                )
                SELECT s.campaign_id, s.channel, COUNT(*), SUM(EXISTS (
                    SELECT 1 FROM received_events r
                    WHERE r.user_id = s.user_id AND r.name = c.conversion_event
                        AND r.received_at >= CAST(s.start AS INTEGER) AND r.received_at <= s.start + c.conversion_window))
                FROM sends s JOIN campaigns c ON c.id = s.campaign_id
                GROUP BY s.campaign_id, s.channel ORDER BY s.campaign_id, s.channel
                """, arguments: campaignID.map { [$0] } ?? [])
            var result: [ChannelConversions] = []
            while let row = try rows.next() {
                guard let channel = Channel(rawValue: row[1]) else { continue }
                result.append(ChannelConversions(campaignID: row[0], channel: channel, people: row[2], converted: row[3]))
            }
            return result
        }
    }
}
