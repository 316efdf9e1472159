import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    /// When a send happened, in milliseconds, for the report: an occurrence's fire instant; for an
    /// API send, when the request came (its occurrence's creation). API sends of one template
    /// made in the same millisecond take successive instants to stay distinct, which would show
    /// a busy second's sends later than they were made.
    static let sendInstant = "CASE WHEN substr(o.campaign_id, 1, 4) = 'api:' THEN CAST(round(o.created_at * 1000) AS INTEGER) ELSE o.fire_at END"

    public func report(campaignID: String?) async throws -> [ReportRow] {
        try await report(campaignID: campaignID, by: .send)
    }

    public func report(campaignID: String?, by grouping: ReportGrouping) async throws -> [ReportRow] {
        if grouping != .send { return try await groupedReport(campaignID: campaignID, by: grouping) }
        return try await read { db in
            let filter = campaignID == nil ? "" : "WHERE n.campaign_id = ?"
            let arguments: StatementArguments = campaignID.map { [$0] } ?? []
            struct Key: Hashable {
                var campaign: String
                var occurrence: Int64?
                var channel: String
            }
            var rows: [Key: ReportRow] = [:]
            func row(_ key: Key, fireAt: Date?) -> ReportRow {
                rows[key] ?? ReportRow(campaignID: key.campaign, occurrenceID: key.occurrence, fireAt: fireAt, channel: Channel(rawValue: key.channel) ?? .email)
            }
            // Counts per send, state and reason; the totals add them up.
            let counts = try Row.fetchCursor(db, sql: """
                SELECT n.campaign_id, n.occurrence_id, \(Self.sendInstant), n.channel, n.state, n.reason, COUNT(*)
                FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id \(filter)
                GROUP BY n.campaign_id, n.occurrence_id, n.channel, n.state, n.reason
                """, arguments: arguments)
            while let record = try counts.next() {
                guard Channel(rawValue: record[3]) != nil, let state = NotificationState(rawValue: record[4]) else { continue }
                let count: Int = record[6]
                let fireAt = Self.date(milliseconds: record[2])
                for key in [Key(campaign: record[0], occurrence: record[1], channel: record[3]), Key(campaign: record[0], occurrence: nil, channel: record[3])] {
                    var entry = row(key, fireAt: key.occurrence == nil ? nil : fireAt)
                    entry.add(count, in: state, reason: record[5])
                    rows[key] = entry
                }
            }
            // Engagement from the trail, each notification counted once per kind.
            let engagement = try Row.fetchCursor(db, sql: """
                SELECT n.campaign_id, n.occurrence_id, \(Self.sendInstant), n.channel,
                    COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'first' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'machine' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'clicked' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'unsubscribed' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'unsubscribed' AND e.reason = 'spam_report' THEN n.id END)
                FROM events e JOIN notifications n ON n.id = e.notification_id JOIN occurrences o ON o.id = n.occurrence_id
                WHERE e.type IN ('opened', 'clicked', 'unsubscribed')\(campaignID == nil ? "" : " AND n.campaign_id = ?")
                GROUP BY n.campaign_id, n.occurrence_id, n.channel
                """, arguments: arguments)
            while let record = try engagement.next() {
                guard Channel(rawValue: record[3]) != nil else { continue }
                let fireAt = Self.date(milliseconds: record[2])
                for key in [Key(campaign: record[0], occurrence: record[1], channel: record[3]), Key(campaign: record[0], occurrence: nil, channel: record[3])] {
                    var entry = row(key, fireAt: key.occurrence == nil ? nil : fireAt)
                    entry.opened += record[4]
                    entry.machineOpened += record[5]
                    entry.clicked += record[6]
                    entry.unsubscribed += record[7]
                    entry.complained += record[8]
                    rows[key] = entry
                }
            }
            // People, counted once per send and once per campaign whatever their devices.
            let perSend = try Row.fetchCursor(db, sql: """
                SELECT n.campaign_id, n.occurrence_id, n.channel, COUNT(DISTINCT n.user_id) FROM notifications n \(filter)
                GROUP BY n.campaign_id, n.occurrence_id, n.channel
                """, arguments: arguments)
            while let record = try perSend.next() {
                rows[Key(campaign: record[0], occurrence: record[1], channel: record[2])]?.recipients = record[3]
            }
            let perCampaign = try Row.fetchCursor(db, sql: """
                SELECT n.campaign_id, n.channel, COUNT(DISTINCT n.user_id) FROM notifications n \(filter) GROUP BY n.campaign_id, n.channel
                """, arguments: arguments)
            while let record = try perCampaign.next() {
                rows[Key(campaign: record[0], occurrence: nil, channel: record[1])]?.recipients = record[2]
            }
            var sends: [String: Set<Int64>] = [:]
            for key in rows.keys { if let occurrence = key.occurrence { sends[key.campaign, default: []].insert(occurrence) } }
            // A total equal to the one send it adds up is left out.
            return rows.values.filter { !$0.isTotal || (sends[$0.campaignID]?.count ?? 0) > 1 }.sorted { lhs, rhs in
                if lhs.campaignID != rhs.campaignID { return lhs.campaignID < rhs.campaignID }
                if lhs.isTotal != rhs.isTotal { return !lhs.isTotal }
                if lhs.fireAt != rhs.fireAt { return (lhs.fireAt ?? .distantFuture) < (rhs.fireAt ?? .distantFuture) }
                if lhs.occurrenceID != rhs.occurrenceID { return (lhs.occurrenceID ?? 0) < (rhs.occurrenceID ?? 0) }
                return lhs.channel < rhs.channel
            }
        }
    }

    /// The report by provider or by day: the same counts, one row per campaign, channel and
    /// provider (or UTC day the notifications were due), without totals.
    func groupedReport(campaignID: String?, by grouping: ReportGrouping) async throws -> [ReportRow] {
        let group = grouping == .provider ? "COALESCE(n.provider, '')" : "date(n.due_at, 'unixepoch')"
        return try await read { db in
            let filter = campaignID == nil ? "" : " AND n.campaign_id = ?"
            let arguments: StatementArguments = campaignID.map { [$0] } ?? []
            var tally = ReportGroupTally()
            for record in try Row.fetchAll(db, sql: """
                SELECT n.campaign_id, \(group), n.channel, n.state, n.reason, COUNT(*) FROM notifications n
                WHERE 1\(filter) GROUP BY 1, 2, 3, 4, 5
                """, arguments: arguments) {
                tally.add(record[5], campaignID: record[0], group: record[1], channel: record[2], state: record[3], reason: record[4])
            }
            for record in try Row.fetchAll(db, sql: """
                SELECT n.campaign_id, \(group), n.channel, COUNT(DISTINCT n.user_id) FROM notifications n WHERE 1\(filter) GROUP BY 1, 2, 3
                """, arguments: arguments) {
                tally.setRecipients(record[3], campaignID: record[0], group: record[1], channel: record[2])
            }
            for record in try Row.fetchAll(db, sql: """
                SELECT n.campaign_id, \(group), n.channel,
                    COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'first' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'machine' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'clicked' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'unsubscribed' THEN n.id END),
                    COUNT(DISTINCT CASE WHEN e.type = 'unsubscribed' AND e.reason = 'spam_report' THEN n.id END)
                FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type IN ('opened', 'clicked', 'unsubscribed')\(filter) GROUP BY 1, 2, 3
                """, arguments: arguments) {
                let engagement = ReportGroupTally.Engagement(
                    opened: record[3], machineOpened: record[4], clicked: record[5], unsubscribed: record[6], complained: record[7]
                )
                tally.setEngagement(engagement, campaignID: record[0], group: record[1], channel: record[2])
            }
            return tally.rows
        }
    }

    /// The first notification sent of each campaign and channel, and of its recipients whose
    /// locale is Korean (`ko…`; SQLite's LIKE ignores ASCII case): what the demo shows as samples.
    public func firstSends() async throws -> [SentSample] {
        try await read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT n.channel, n.campaign_id, COALESCE(u.locale, ''), n.provider_message_id, n.address, n.content FROM notifications n
                JOIN users u ON u.id = n.user_id
                WHERE n.id IN (SELECT MIN(n2.id) FROM notifications n2 JOIN users u2 ON u2.id = n2.user_id WHERE n2.state = 'sent'
                               GROUP BY n2.campaign_id, n2.channel, COALESCE(u2.locale, '') LIKE 'ko%')
                ORDER BY n.campaign_id, n.channel, u.locale
                """)
            var samples: [SentSample] = []
            while let row = try rows.next() {
                guard let channel = Channel(rawValue: row[0]) else { continue }
                let content: String? = row[5]
                samples.append(SentSample(
                    campaignID: row[1], channel: channel, locale: row[2], providerMessageID: (row[3] as String?) ?? "", address: (row[4] as String?) ?? "",
                    content: content.flatMap(NotificationContent.init(jsonText:))
                ))
            }
            return samples
        }
    }

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

extension SQLiteStore {
    public func recipients(matching filter: RecipientFilter, after lastID: Int64?, limit: Int) async throws -> [RecipientRow] {
        try await read { db in
            var conditions = ["n.id > ?"]
            var arguments: StatementArguments = [lastID ?? 0]
            if let campaign = filter.campaignID {
                conditions.append("n.campaign_id = ?")
                arguments += [campaign]
            }
            if let channel = filter.channel {
                conditions.append("n.channel = ?")
                arguments += [channel.rawValue]
            }
            if let state = filter.state {
                conditions.append("n.state = ?")
                arguments += [state.rawValue]
            }
            if let reason = filter.reason {
                conditions.append("n.reason = ?")
                arguments += [reason]
            }
            arguments += [limit]
            return try Row.fetchAll(db, sql: """
                SELECT n.id, n.campaign_id, \(Self.sendInstant), n.user_id, n.channel, n.address, n.state, n.reason, n.provider, n.updated_at
                FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY n.id LIMIT ?
                """, arguments: arguments).compactMap { row in
                guard let channel = Channel(rawValue: row[4]), let state = NotificationState(rawValue: row[6]) else { return nil }
                return RecipientRow(
                    notificationID: row[0], campaignID: row[1], fireAt: Self.date(milliseconds: row[2]), userID: row[3],
                    channel: channel, address: row[5], state: state, reason: row[7], provider: row[8],
                    updatedAt: Date(timeIntervalSince1970: row[9])
                )
            }
        }
    }
}

extension SQLiteStore {
    public func topLinks(campaignID: String?, limit: Int) async throws -> [LinkClicks] {
        try await read { db in
            // A click's detail is `source: URL`.
            try Row.fetchAll(db, sql: """
                SELECT campaign_id, url, clicks, people FROM (
                    SELECT campaign_id, url, COUNT(*) AS clicks, COUNT(DISTINCT notification_id) AS people,
                        ROW_NUMBER() OVER (PARTITION BY campaign_id ORDER BY COUNT(DISTINCT notification_id) DESC, COUNT(*) DESC, url) AS rank
                    FROM (SELECT campaign_id, notification_id, substr(detail, instr(detail, ': ') + 2) AS url FROM events
                          WHERE type = 'clicked' AND detail IS NOT NULL\(campaignID == nil ? "" : " AND campaign_id = ?"))
                    GROUP BY campaign_id, url
                ) WHERE rank <= ? ORDER BY campaign_id, rank
                """, arguments: (campaignID.map { [$0] } ?? []) + [limit]).map { row in
                LinkClicks(campaignID: row[0] ?? "", url: row[1], clicks: row[2], notifications: row[3])
            }
        }
    }
}
