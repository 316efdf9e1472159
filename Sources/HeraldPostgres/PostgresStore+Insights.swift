import Foundation
import HeraldCore
import PostgresNIO

/// The report's other views on PostgreSQL (`herald report --by`, `--recipients`, `--links`, and
/// what `--format html` draws): the same queries as SQLite's, in PostgreSQL's dialect, with the
/// same results. Where SQLite's functions differ from PostgreSQL's, the SQL says which one it
/// matches: `CAST(x AS INTEGER)` truncates (`trunc`), `instr` and `substr` count characters as
/// `strpos` and `substr` do, and text sorts by bytes (`COLLATE "C"`).
extension PostgresStore: InsightStore {
    public func campaignIDs() async throws -> [String] {
        try await fetch("SELECT id FROM campaigns ORDER BY id") { rows in
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            return ids
        }
    }

    public func report(campaignID: String?, by grouping: ReportGrouping) async throws -> [ReportRow] {
        let group: String
        switch grouping {
        case .send: return try await report(campaignID: campaignID)
        case .provider: group = "COALESCE(n.provider, '')"
        // SQLite's date(due_at, 'unixepoch'): the UTC day.
        case .day: group = "to_char(to_timestamp(n.due_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        }
        let (filter, bindings) = Self.campaignFilter(campaignID, column: "n.campaign_id")
        return try await readSnapshot { connection in
            var tally = ReportGroupTally()
            let counts = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT n.campaign_id, \(group), n.channel, n.state, n.reason, COUNT(*) FROM notifications n
                WHERE TRUE\(filter) GROUP BY 1, 2, 3, 4, 5
                """, binds: bindings), logger: logger)
            for try await (campaign, key, channel, state, reason, count) in counts.decode((String, String, String, String, String?, Int).self) {
                tally.add(count, campaignID: campaign, group: key, channel: channel, state: state, reason: reason)
            }
            let people = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT n.campaign_id, \(group), n.channel, COUNT(DISTINCT n.user_id) FROM notifications n WHERE TRUE\(filter) GROUP BY 1, 2, 3
                """, binds: bindings), logger: logger)
            for try await (campaign, key, channel, count) in people.decode((String, String, String, Int).self) {
                tally.setRecipients(count, campaignID: campaign, group: key, channel: channel)
            }
            let engagement = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT n.campaign_id, \(group), n.channel,
                    COUNT(DISTINCT n.id) FILTER (WHERE e.type = 'opened' AND e.reason = 'first'),
                    COUNT(DISTINCT n.id) FILTER (WHERE e.type = 'opened' AND e.reason = 'machine'),
                    COUNT(DISTINCT n.id) FILTER (WHERE e.type = 'clicked'),
                    COUNT(DISTINCT n.id) FILTER (WHERE e.type = 'unsubscribed'),
                    COUNT(DISTINCT n.id) FILTER (WHERE e.type = 'unsubscribed' AND e.reason = 'spam_report')
                FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type IN ('opened', 'clicked', 'unsubscribed')\(filter) GROUP BY 1, 2, 3
                """, binds: bindings), logger: logger)
            for try await (campaign, key, channel, opened, machine, clicked, unsubscribed, complained) in engagement.decode(
                (String, String, String, Int, Int, Int, Int, Int).self
            ) {
                let counts = ReportGroupTally.Engagement(
                    opened: opened, machineOpened: machine, clicked: clicked, unsubscribed: unsubscribed, complained: complained
                )
                tally.setEngagement(counts, campaignID: campaign, group: key, channel: channel)
            }
            return tally.rows
        }
    }

    public func recipients(matching filter: RecipientFilter, after lastID: Int64?, limit: Int) async throws -> [RecipientRow] {
        var bindings = PostgresBindings()
        bindings.append(lastID ?? 0)
        var conditions = ["n.id > $1"]
        func condition(_ column: String, _ value: String?) {
            guard let value else { return }
            bindings.append(value)
            conditions.append("\(column) = $\(bindings.count)")
        }
        condition("n.campaign_id", filter.campaignID)
        condition("n.channel", filter.channel?.rawValue)
        condition("n.state", filter.state?.rawValue)
        condition("n.reason", filter.reason)
        bindings.append(limit)
        let query = PostgresQuery(unsafeSQL: """
            SELECT n.id, n.campaign_id, \(Self.sendInstant), n.user_id, n.channel, n.address, n.state, n.reason, n.provider, n.updated_at
            FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY n.id LIMIT $\(bindings.count)
            """, binds: bindings)
        return try await fetch(query) { rows in
            var page: [RecipientRow] = []
            for try await (id, campaignID, instant, userID, channelName, address, stateName, reason, provider, updatedAt) in rows.decode(
                (Int64, String, Int64, String, String, String?, String, String?, String?, Double).self
            ) {
                guard let channel = HeraldCore.Channel(rawValue: channelName), let state = NotificationState(rawValue: stateName) else { continue }
                page.append(RecipientRow(
                    notificationID: id, campaignID: campaignID, fireAt: Self.date(milliseconds: instant), userID: userID, channel: channel,
                    address: address, state: state, reason: reason, provider: provider, updatedAt: Date(timeIntervalSince1970: updatedAt)
                ))
            }
            return page
        }
    }

    public func topLinks(campaignID: String?, limit: Int) async throws -> [LinkClicks] {
        var (filter, bindings) = Self.campaignFilter(campaignID, column: "campaign_id")
        bindings.append(limit)
        // A click's detail is `source: URL`; strpos is 0 without `: `, as SQLite's instr.
        let query = PostgresQuery(unsafeSQL: """
            SELECT campaign_id, url, clicks, people FROM (
                SELECT campaign_id, url, COUNT(*) AS clicks, COUNT(DISTINCT notification_id) AS people,
                    ROW_NUMBER() OVER (PARTITION BY campaign_id ORDER BY COUNT(DISTINCT notification_id) DESC, COUNT(*) DESC, url COLLATE "C") AS rank
                FROM (SELECT campaign_id, notification_id, substr(detail, strpos(detail, ': ') + 2) AS url FROM events
                      WHERE type = 'clicked' AND detail IS NOT NULL\(filter)) clicks
                GROUP BY campaign_id, url
            ) ranked WHERE rank <= $\(bindings.count) ORDER BY campaign_id NULLS FIRST, rank
            """, binds: bindings)
        return try await fetch(query) { rows in
            var links: [LinkClicks] = []
            for try await (campaign, url, clicks, people) in rows.decode((String?, String, Int, Int).self) {
                links.append(LinkClicks(campaignID: campaign ?? "", url: url, clicks: clicks, notifications: people))
            }
            return links
        }
    }

    public func activity(campaignID: String?) async throws -> [ActivityCount] {
        let (filter, bindings) = Self.campaignFilter(campaignID, column: "e.campaign_id")
        let query = PostgresQuery(unsafeSQL: """
            SELECT n.campaign_id, trunc(e.at / 3600)::bigint AS hour,
                COUNT(*) FILTER (WHERE e.type = 'sent'), COUNT(*) FILTER (WHERE e.type = 'opened' AND e.reason = 'first'),
                COUNT(*) FILTER (WHERE e.type = 'clicked')
            FROM events e JOIN notifications n ON n.id = e.notification_id
            WHERE e.type IN ('sent', 'opened', 'clicked')\(filter)
            GROUP BY n.campaign_id, hour ORDER BY n.campaign_id, hour
            """, binds: bindings)
        return try await fetch(query) { rows in
            var counts: [ActivityCount] = []
            for try await (campaign, hour, sent, opened, clicked) in rows.decode((String, Int64, Int, Int, Int).self) {
                counts.append(ActivityCount(campaignID: campaign, hour: Date(timeIntervalSince1970: Double(hour) * 3600), sent: sent, opened: opened, clicked: clicked))
            }
            return counts
        }
    }

    public func localeBreakdown(campaignID: String?) async throws -> [LocaleCount] {
        let (filter, bindings) = Self.campaignFilter(campaignID, column: "n.campaign_id")
        let query = PostgresQuery(unsafeSQL: """
            WITH people AS (
                SELECT n.campaign_id AS campaign_id, n.user_id AS user_id,
                    bool_or(n.state IN ('sent', 'delivered')) AS sent,
                    bool_or(EXISTS (SELECT 1 FROM events e WHERE e.notification_id = n.id AND e.type = 'opened' AND e.reason = 'first')) AS opened,
                    bool_or(EXISTS (SELECT 1 FROM events e WHERE e.notification_id = n.id AND e.type = 'clicked')) AS clicked
                FROM notifications n WHERE TRUE\(filter)
                GROUP BY n.campaign_id, n.user_id
            )
            SELECT p.campaign_id, COALESCE(u.locale, '') COLLATE "C" AS user_locale, COUNT(*),
                COUNT(*) FILTER (WHERE p.sent), COUNT(*) FILTER (WHERE p.opened), COUNT(*) FILTER (WHERE p.clicked)
            FROM people p LEFT JOIN users u ON u.id = p.user_id
            GROUP BY p.campaign_id, user_locale ORDER BY p.campaign_id, COUNT(*) DESC, user_locale
            """, binds: bindings)
        return try await fetch(query) { rows in
            var counts: [LocaleCount] = []
            for try await (campaign, locale, people, sent, opened, clicked) in rows.decode((String, String, Int, Int, Int, Int).self) {
                counts.append(LocaleCount(campaignID: campaign, locale: locale, people: people, sent: sent, opened: opened, clicked: clicked))
            }
            return counts
        }
    }

    public func conversionsByChannel(campaignID: String?) async throws -> [ChannelConversions] {
        let (filter, bindings) = Self.campaignFilter(campaignID, column: "n.campaign_id")
        // The window opens at the second of the send (SQLite's CAST(start AS INTEGER): trunc).
        let query = PostgresQuery(unsafeSQL: """
            WITH sends AS (
                SELECT n.campaign_id AS campaign_id, n.channel AS channel, n.user_id AS user_id,
                    MIN(COALESCE((SELECT MIN(e.at) FROM events e WHERE e.notification_id = n.id AND e.type = 'sent'), n.due_at)) AS start
                FROM notifications n JOIN campaigns c ON c.id = n.campaign_id
                WHERE c.conversion_event IS NOT NULL AND n.state IN ('sent', 'delivered')\(filter)
                GROUP BY n.campaign_id, n.channel, n.user_id
            )
            SELECT s.campaign_id, s.channel, COUNT(*), COUNT(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM received_events r
                WHERE r.user_id = s.user_id AND r.name = c.conversion_event
                    AND r.received_at >= trunc(s.start) AND r.received_at <= s.start + c.conversion_window))
            FROM sends s JOIN campaigns c ON c.id = s.campaign_id
            GROUP BY s.campaign_id, s.channel ORDER BY s.campaign_id, s.channel COLLATE "C"
            """, binds: bindings)
        return try await fetch(query) { rows in
            var conversions: [ChannelConversions] = []
            for try await (campaign, channelName, people, converted) in rows.decode((String, String, Int, Int).self) {
                guard let channel = HeraldCore.Channel(rawValue: channelName) else { continue }
                conversions.append(ChannelConversions(campaignID: campaign, channel: channel, people: people, converted: converted))
            }
            return conversions
        }
    }

    /// ` AND column = $1` with its parameter when a campaign is given, else nothing.
    static func campaignFilter(_ campaignID: String?, column: String) -> (String, PostgresBindings) {
        var bindings = PostgresBindings()
        guard let campaignID else { return ("", bindings) }
        bindings.append(campaignID)
        return (" AND \(column) = $1", bindings)
    }
}
