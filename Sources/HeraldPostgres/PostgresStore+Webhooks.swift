import Foundation
import HeraldCore
import PostgresNIO

/// Provider webhooks and tracking hits on PostgreSQL, as on SQLite (see
/// `SQLiteStore.applyProviderEvents`), for servers on several machines: a provider that posts the
/// same event to two of them at once has it applied once, because the receipt is inserted with
/// `ON CONFLICT DO NOTHING` on its primary key (the second insert waits for the first
/// transaction, then does nothing); and the notification's row is locked before its state is
/// read, so that two events about it (a `delivered` and a `bounced`, two first opens) apply one
/// after the other.
extension PostgresStore: ProviderEventStore {
    public func applyProviderEvents(_ events: [ProviderEvent], at now: Date) async throws -> WebhookSummary {
        let timestamp = now.timeIntervalSince1970
        return try await transaction { connection in
            var summary = WebhookSummary()
            for event in events {
                let columns = "n.id, n.campaign_id, n.channel, n.category, n.user_id, n.state"
                let query: PostgresQuery
                switch event.target {
                case .notification(let id):
                    query = "SELECT \(unescaped: columns) FROM notifications n WHERE n.id = \(id) FOR UPDATE"
                case .providerMessage(let messageID):
                    query = "SELECT \(unescaped: columns) FROM notifications n WHERE n.provider_message_id = \(messageID) AND n.channel <> 'push' ORDER BY n.id LIMIT 1 FOR UPDATE"
                case .key(let key):
                    query = """
                        SELECT \(unescaped: columns) FROM notifications n
                        WHERE n.occurrence_id = \(key.occurrenceID) AND n.user_id = \(key.userID) AND n.channel = \(key.channel.rawValue) AND n.device = \(key.device)
                        FOR UPDATE
                        """
                }
                var target: WebhookTarget?
                for try await row in try await connection.query(query, logger: logger).decode((Int64, String, String, String, String, String).self) {
                    target = WebhookTarget(id: row.0, campaignID: row.1, channel: row.2, category: row.3, userID: row.4, state: row.5)
                }
                // Unknown (yet) is not remembered, so that the provider's retry can still apply it.
                guard let target else {
                    summary.unknown += 1
                    continue
                }
                // Herald's own tracking hits are each an event: nothing to dedupe.
                if event.provider != "herald" {
                    let isNew = try await exists(connection, """
                        INSERT INTO webhook_receipts (provider, event_key, received_at) VALUES (\(event.provider), \(event.eventKey), \(timestamp))
                        ON CONFLICT DO NOTHING RETURNING 1
                        """)
                    guard isNew else {
                        summary.repeated += 1
                        continue
                    }
                }
                try await apply(event, to: target, connection, now: timestamp)
                summary.applied += 1
            }
            return summary
        }
    }

    /// The notification a provider event is about, as read (and locked) before it is applied.
    struct WebhookTarget {
        var id: Int64
        var campaignID: String
        var channel: String
        var category: String
        var userID: String
        var state: String
    }

    func apply(_ event: ProviderEvent, to target: WebhookTarget, _ connection: PostgresConnection, now: Double) async throws {
        let at = event.at.timeIntervalSince1970
        // After an erasure nothing a provider says may bring personal data back.
        let erased = target.userID.hasPrefix("erased-")
        func record(_ type: DeliveryEventType, reason: String? = nil, detail rawDetail: String? = nil) async throws {
            let detail = (erased ? nil : rawDetail).map { "\(event.provider): \($0)" } ?? event.provider
            try await connection.perform("""
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                VALUES (\(target.id), \(target.campaignID), \(target.channel), \(type.rawValue), \(reason), \(at), \(detail))
                """, logger: logger)
        }
        func optOut(_ key: String) async throws {
            try await connection.perform("""
                INSERT INTO preferences (user_id, key, opted_in, updated_at) SELECT id, \(key), FALSE, \(now) FROM users WHERE id = \(target.userID)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = FALSE, updated_at = EXCLUDED.updated_at WHERE preferences.opted_in
                """, logger: logger)
            try await optOutAddressPeers(of: target.userID, key: key, connection, at: now)
        }
        let listKey = target.category == Campaign.transactionalCategory ? target.channel : "\(target.channel):\(target.category)"
        let isHandedOver = target.state == NotificationState.sent.rawValue || target.state == NotificationState.sending.rawValue
        func fail(_ reason: String) async throws {
            guard isHandedOver else { return }
            try await connection.perform(
                "UPDATE notifications SET state = 'failed', reason = \(reason), updated_at = \(now) WHERE id = \(target.id)", logger: logger
            )
            try await connection.perform("DELETE FROM outbox WHERE notification_id = \(target.id)", logger: logger)
        }
        /// `first` unless a person's open (or click) was recorded before; nil past the limit of
        /// recorded repeats (SQLite's `maximumRecordedEngagement`, 50).
        func engagement(_ type: DeliveryEventType, machine: Bool = false) async throws -> String? {
            var first = false
            var recorded = 0
            for try await (isFirst, count) in try await connection.query("""
                SELECT NOT EXISTS (SELECT 1 FROM events WHERE notification_id = \(target.id) AND type = \(type.rawValue) AND reason = 'first'),
                    (SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE notification_id = \(target.id) AND type = \(type.rawValue) LIMIT 50) e)
                """, logger: logger).decode((Bool, Int).self) {
                first = isFirst
                recorded = count
            }
            let reason = machine ? "machine" : first ? "first" : "repeat"
            return reason == "first" || recorded < 50 ? reason : nil
        }
        switch event.kind {
        case .accepted:
            break
        case .delivered:
            if isHandedOver {
                try await connection.perform("UPDATE notifications SET state = 'delivered', updated_at = \(now) WHERE id = \(target.id)", logger: logger)
                try await record(.delivered)
            }
        case .deferred:
            try await record(.retryScheduled, reason: "deferred", detail: event.detail)
        case .bounced(let hard):
            try await fail(hard ? "bounced" : "soft_bounce")
            try await record(.failed, reason: hard ? "bounced" : "soft_bounce", detail: event.detail)
            if hard { try await optOut(target.channel) }
        case .dropped:
            try await fail("dropped")
            try await record(.failed, reason: "dropped", detail: event.detail)
        case .complained:
            try await record(.unsubscribed, reason: "spam_report")
            try await optOut(listKey)
        case .unsubscribed:
            try await record(.unsubscribed, reason: "provider")
            try await optOut(listKey)
        case .opened(let machine):
            if let reason = try await engagement(.opened, machine: machine) { try await record(.opened, reason: reason) }
        case .clicked(let url):
            if let reason = try await engagement(.clicked) { try await record(.clicked, reason: reason, detail: String(url.prefix(2048))) }
        }
    }

    public func optOutPhone(_ phone: String, at now: Date) async throws -> Int {
        try await transaction { connection in
            var count = 0
            for try await _ in try await connection.query("""
                INSERT INTO preferences (user_id, key, opted_in, updated_at) SELECT id, 'sms', FALSE, \(now.timeIntervalSince1970) FROM users WHERE phone = \(phone)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = FALSE, updated_at = EXCLUDED.updated_at
                RETURNING 1
                """, logger: logger) {
                count += 1
            }
            return count
        }
    }
}
