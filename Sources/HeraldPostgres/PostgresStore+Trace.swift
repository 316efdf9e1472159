import Foundation
import HeraldCore
import Logging
import PostgresNIO

/// `herald trace` on PostgreSQL: a notification's header and its events, as on SQLite.
extension PostgresStore: TraceStore {
    public func trace(notificationID: Int64) async throws -> NotificationTrace? {
        try await traces(where: "n.id = \(notificationID)").first
    }

    public func traces(userID: String, campaignID: String) async throws -> [NotificationTrace] {
        try await traces(where: "n.user_id = \(userID) AND n.campaign_id = \(campaignID)")
    }

    /// The notifications matching `condition` with their trails: one query for the headers and
    /// one for every event of them. An API send's instant is its creation (its occurrence's
    /// fire instant is a key, not a time), as on SQLite.
    private func traces(where condition: PostgresQuery) async throws -> [NotificationTrace] {
        let query = PostgresQuery(unsafeSQL: """
            SELECT n.id, n.campaign_id, CASE WHEN left(o.campaign_id, 4) = 'api:' THEN round(o.created_at * 1000)::bigint ELSE o.fire_at END,
                   n.user_id, n.channel, n.provider, n.address, n.state, n.reason,
                   n.attempts, n.due_at, ob.due_at, ob.lease_until, n.expires_at, n.provider_message_id
            FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id
            LEFT JOIN outbox ob ON ob.notification_id = n.id
            WHERE \(condition.sql)
            ORDER BY o.fire_at, n.channel COLLATE "C", n.id
            """, binds: condition.binds)
        var traces = try await fetch(query) { rows in
            var traces: [NotificationTrace] = []
            let columns = (Int64, String, Int64, String, String, String?, String?, String, String?, Int, Double, Double?, Double?, Double?, String?).self
            for try await row in rows.decode(columns) {
                let (id, campaignID, fire, userID, channelName, provider, address, stateName, reason, attempts, dueAt, queuedDueAt, leaseUntil, expiresAt, messageID) = row
                guard let channel = Channel(rawValue: channelName), let state = NotificationState(rawValue: stateName) else {
                    throw StoreError(.corrupt, "notification \(id) has a channel or state this version does not know")
                }
                traces.append(NotificationTrace(
                    notificationID: id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), userID: userID, channel: channel,
                    provider: provider, address: address, state: state, reason: reason, attempts: attempts,
                    dueAt: Date(timeIntervalSince1970: dueAt), queuedDueAt: queuedDueAt.map(Date.init(timeIntervalSince1970:)),
                    leaseUntil: leaseUntil.map(Date.init(timeIntervalSince1970:)), expiresAt: expiresAt.map(Date.init(timeIntervalSince1970:)),
                    providerMessageID: messageID, events: []
                ))
            }
            return traces
        }
        guard !traces.isEmpty else { return [] }
        var index: [Int64: Int] = [:]
        for (position, trace) in traces.enumerated() { index[trace.notificationID] = position }
        let ids = traces.map(\.notificationID)
        let events = try await fetch("""
            SELECT notification_id, type, reason, at, detail FROM events
            WHERE notification_id = ANY(\(ids)::bigint[])
            ORDER BY notification_id, id
            """) { rows in
            var events: [(Int64, TraceEvent)] = []
            for try await (id, type, reason, at, detail) in rows.decode((Int64, String, String?, Double, String?).self) {
                events.append((id, TraceEvent(type: type, reason: reason, at: Date(timeIntervalSince1970: at), detail: detail)))
            }
            return events
        }
        for (id, event) in events {
            if let position = index[id] { traces[position].events.append(event) }
        }
        return traces
    }
}
