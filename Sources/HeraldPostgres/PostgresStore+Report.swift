import Foundation
import HeraldCore
import PostgresNIO

/// The report role on PostgreSQL: the counts `herald report` shows, from the same tables and with
/// the same queries as SQLite's, in PostgreSQL's dialect.
extension PostgresStore {
    /// When a send happened, in milliseconds: an occurrence's fire instant; for an API send, when
    /// the request came (its occurrence's creation), rounded as SQLite's `round` does (half away
    /// from zero; instants are positive).
    static let sendInstant = "CASE WHEN left(o.campaign_id, 4) = 'api:' THEN floor(o.created_at * 1000 + 0.5)::bigint ELSE o.fire_at END"

    /// Per campaign, send and channel counts, one row per send (occurrence), and for a campaign
    /// sent more than once a total row per channel as well.
    public func report(campaignID: String?) async throws -> [ReportRow] {
        struct Key: Hashable {
            var campaign: String
            var occurrence: Int64?
            var channel: String
        }
        var rows: [Key: ReportRow] = [:]
        func row(_ key: Key, fireAt: Date?) -> ReportRow {
            rows[key] ?? ReportRow(campaignID: key.campaign, occurrenceID: key.occurrence, fireAt: fireAt, channel: HeraldCore.Channel(rawValue: key.channel) ?? .email)
        }
        let filter = campaignID == nil ? "" : " AND n.campaign_id = $1"
        var bindings = PostgresBindings()
        if let campaignID { bindings.append(campaignID) }
        // Counts per send, state and reason; the totals add them up.
        let counts = try await fetch(PostgresQuery(unsafeSQL: """
            SELECT n.campaign_id, n.occurrence_id, \(Self.sendInstant), n.channel, n.state, n.reason, COUNT(*)
            FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id WHERE TRUE\(filter)
            GROUP BY n.campaign_id, n.occurrence_id, 3, n.channel, n.state, n.reason
            """, binds: bindings)) { rows in
            var records: [(String, Int64, Int64, String, String, String?, Int)] = []
            for try await record in rows.decode((String, Int64, Int64, String, String, String?, Int).self) { records.append(record) }
            return records
        }
        for (campaign, occurrence, instant, channel, stateName, reason, count) in counts {
            guard HeraldCore.Channel(rawValue: channel) != nil, let state = NotificationState(rawValue: stateName) else { continue }
            let fireAt = Self.date(milliseconds: instant)
            for key in [Key(campaign: campaign, occurrence: occurrence, channel: channel), Key(campaign: campaign, occurrence: nil, channel: channel)] {
                var entry = row(key, fireAt: key.occurrence == nil ? nil : fireAt)
                entry.add(count, in: state, reason: reason)
                rows[key] = entry
            }
        }
        // Engagement from the trail, each notification counted once per kind.
        let engagement = try await fetch(PostgresQuery(unsafeSQL: """
            SELECT n.campaign_id, n.occurrence_id, \(Self.sendInstant), n.channel,
                COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'first' THEN n.id END),
                COUNT(DISTINCT CASE WHEN e.type = 'opened' AND e.reason = 'machine' THEN n.id END),
                COUNT(DISTINCT CASE WHEN e.type = 'clicked' THEN n.id END),
                COUNT(DISTINCT CASE WHEN e.type = 'unsubscribed' THEN n.id END),
                COUNT(DISTINCT CASE WHEN e.type = 'unsubscribed' AND e.reason = 'spam_report' THEN n.id END)
            FROM events e JOIN notifications n ON n.id = e.notification_id JOIN occurrences o ON o.id = n.occurrence_id
            WHERE e.type IN ('opened', 'clicked', 'unsubscribed')\(filter)
            GROUP BY n.campaign_id, n.occurrence_id, 3, n.channel
            """, binds: bindings)) { rows in
            var records: [(String, Int64, Int64, String, Int, Int, Int, Int, Int)] = []
            for try await record in rows.decode((String, Int64, Int64, String, Int, Int, Int, Int, Int).self) { records.append(record) }
            return records
        }
        for (campaign, occurrence, instant, channel, opened, machineOpened, clicked, unsubscribed, complained) in engagement {
            guard HeraldCore.Channel(rawValue: channel) != nil else { continue }
            let fireAt = Self.date(milliseconds: instant)
            for key in [Key(campaign: campaign, occurrence: occurrence, channel: channel), Key(campaign: campaign, occurrence: nil, channel: channel)] {
                var entry = row(key, fireAt: key.occurrence == nil ? nil : fireAt)
                entry.opened += opened
                entry.machineOpened += machineOpened
                entry.clicked += clicked
                entry.unsubscribed += unsubscribed
                entry.complained += complained
                rows[key] = entry
            }
        }
        // People, counted once per send and once per campaign whatever their devices.
        let perSend = try await fetch(PostgresQuery(unsafeSQL: """
            SELECT n.campaign_id, n.occurrence_id, n.channel, COUNT(DISTINCT n.user_id) FROM notifications n WHERE TRUE\(filter)
            GROUP BY n.campaign_id, n.occurrence_id, n.channel
            """, binds: bindings)) { rows in
            var records: [(String, Int64, String, Int)] = []
            for try await record in rows.decode((String, Int64, String, Int).self) { records.append(record) }
            return records
        }
        for (campaign, occurrence, channel, recipients) in perSend {
            rows[Key(campaign: campaign, occurrence: occurrence, channel: channel)]?.recipients = recipients
        }
        let perCampaign = try await fetch(PostgresQuery(unsafeSQL: """
            SELECT n.campaign_id, n.channel, COUNT(DISTINCT n.user_id) FROM notifications n WHERE TRUE\(filter) GROUP BY n.campaign_id, n.channel
            """, binds: bindings)) { rows in
            var records: [(String, String, Int)] = []
            for try await record in rows.decode((String, String, Int).self) { records.append(record) }
            return records
        }
        for (campaign, channel, recipients) in perCampaign {
            rows[Key(campaign: campaign, occurrence: nil, channel: channel)]?.recipients = recipients
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

    /// The first notification sent of each campaign and channel, and of its recipients whose
    /// locale is Korean (`ko…`, in any case, as SQLite's LIKE matches).
    public func firstSends() async throws -> [SentSample] {
        try await fetch("""
            SELECT n.channel, n.campaign_id, COALESCE(u.locale, ''), n.provider_message_id, n.address, n.content FROM notifications n
            JOIN users u ON u.id = n.user_id
            WHERE n.id IN (SELECT MIN(n2.id) FROM notifications n2 JOIN users u2 ON u2.id = n2.user_id WHERE n2.state = 'sent'
                           GROUP BY n2.campaign_id, n2.channel, COALESCE(u2.locale, '') ILIKE 'ko%')
            ORDER BY n.campaign_id, n.channel COLLATE "C", u.locale COLLATE "C" NULLS FIRST
            """) { rows in
            var samples: [SentSample] = []
            for try await (channelName, campaignID, locale, messageID, address, content) in rows.decode(
                (String, String, String, String?, String?, String?).self
            ) {
                guard let channel = HeraldCore.Channel(rawValue: channelName) else { continue }
                samples.append(SentSample(
                    campaignID: campaignID, channel: channel, locale: locale, providerMessageID: messageID ?? "", address: address ?? "",
                    content: content.flatMap(NotificationContent.init(jsonText:))
                ))
            }
            return samples
        }
    }
}
