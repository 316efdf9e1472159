import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: ProviderEventStore {
    /// Applies provider events, each once, in one transaction:
    /// - `delivered` moves a sent notification to delivered; nothing moves back (a late `sent`
    ///   after `delivered` changes nothing);
    /// - `bounced`, `dropped` fail a notification that was not delivered; a hard bounce turns the
    ///   channel off for the user, a complaint or an unsubscribe the notification's category on it
    ///   (the channel itself for a transactional one);
    /// - opens and clicks are recorded, the first of each per notification apart from repeats,
    ///   and machine opens apart from both.
    public func applyProviderEvents(_ events: [ProviderEvent], at now: Date) async throws -> WebhookSummary {
        try await write { db in
            var summary = WebhookSummary()
            let timestamp = now.timeIntervalSince1970
            for event in events {
                let row: Row?
                switch event.target {
                case .notification(let id):
                    row = try Row.fetchOne(db, sql: "SELECT id, campaign_id, channel, category, user_id, state FROM notifications WHERE id = ?", arguments: [id])
                case .providerMessage(let messageID):
                    row = try Row.fetchOne(db, sql: Self.providerMessageSQL, arguments: [messageID])
                case .key(let key):
                    row = try Row.fetchOne(db, sql: """
                        SELECT id, campaign_id, channel, category, user_id, state FROM notifications
                        WHERE occurrence_id = ? AND user_id = ? AND channel = ? AND device = ?
                        """, arguments: [key.occurrenceID, key.userID, key.channel.rawValue, key.device])
                }
                // Unknown (yet: a callback can overtake the outcome that records the provider's
                // id) is not remembered, so that the provider's retry can still apply it.
                guard let row else {
                    summary.unknown += 1
                    continue
                }
                // Herald's own tracking hits are each an event: nothing to dedupe, nothing to keep.
                if event.provider != "herald" {
                    try db.execute(sql: """
                        INSERT INTO webhook_receipts (provider, event_key, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
                        """, arguments: [event.provider, event.eventKey, timestamp])
                }
                guard event.provider == "herald" || db.changesCount > 0 else {
                    summary.repeated += 1
                    continue
                }
                try Self.apply(event, to: row, db: db, at: event.at.timeIntervalSince1970, now: timestamp)
                summary.applied += 1
            }
            return summary
        }
    }

    /// The notification a webhook names by its provider's message id: SMS and email only (their
    /// providers post webhooks), through the partial index that leaves push out.
    static let providerMessageSQL = """
        SELECT id, campaign_id, channel, category, user_id, state FROM notifications
        WHERE provider_message_id = ? AND channel <> 'push' ORDER BY id LIMIT 1
        """

    static func apply(_ event: ProviderEvent, to row: Row, db: Database, at: Double, now: Double) throws {
        let id: Int64 = row[0]
        let campaignID: String = row[1]
        let channel: String = row[2]
        let category: String = row[3]
        let userID: String = row[4]
        let state: String = row[5]
        // After an erasure nothing a provider says may bring personal data back (bounce texts
        // hold addresses, clicked URLs can be personal).
        let erased = userID.hasPrefix("erased-")
        func record(_ type: DeliveryEventType, reason: String? = nil, detail rawDetail: String? = nil) throws {
            let detail = erased ? nil : rawDetail
            try db.execute(sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, campaignID, channel, type.rawValue, reason, at, detail.map { "\(event.provider): \($0)" } ?? event.provider])
        }
        func optOut(_ key: String) throws {
            try db.execute(sql: """
                INSERT INTO preferences (user_id, key, opted_in, updated_at) SELECT ?, ?, 0, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = 0, updated_at = excluded.updated_at WHERE opted_in != 0
                """, arguments: [userID, key, now, userID])
            try optOutAddressPeers(of: userID, key: key, db: db, at: now)
        }
        let listKey = category == Campaign.transactionalCategory ? channel : "\(channel):\(category)"
        /// Only a notification handed to the provider fails by its word: one that is retrying,
        /// dead, skipped or delivered keeps its state. A failed send leaves the outbox, so it
        /// is not tried again.
        func fail(_ reason: String) throws {
            guard state == NotificationState.sent.rawValue || state == NotificationState.sending.rawValue else { return }
            try db.execute(sql: "UPDATE notifications SET state = 'failed', reason = ?, updated_at = ? WHERE id = ?", arguments: [reason, now, id])
            try db.execute(sql: "DELETE FROM outbox WHERE notification_id = ?", arguments: [id])
        }
        switch event.kind {
        case .accepted:
            break
        case .delivered:
            if state == NotificationState.sent.rawValue || state == NotificationState.sending.rawValue {
                try db.execute(sql: "UPDATE notifications SET state = 'delivered', updated_at = ? WHERE id = ?", arguments: [now, id])
                try record(.delivered)
            }
        case .deferred:
            try record(.retryScheduled, reason: "deferred", detail: event.detail)
        case .bounced(let hard):
            try fail(hard ? "bounced" : "soft_bounce")
            try record(.failed, reason: hard ? "bounced" : "soft_bounce", detail: event.detail)
            if hard { try optOut(channel) }
        case .dropped:
            try fail("dropped")
            try record(.failed, reason: "dropped", detail: event.detail)
        case .complained:
            try record(.unsubscribed, reason: "spam_report")
            try optOut(listKey)
        case .unsubscribed:
            try record(.unsubscribed, reason: "provider")
            try optOut(listKey)
        case .opened(let machine):
            let reason = machine ? "machine" : try firstOrRepeat(.opened, id: id, db: db)
            guard try reason == "first" || isUnderEngagementLimit(.opened, id: id, db: db) else { return }
            try record(.opened, reason: reason)
        case .clicked(let url):
            let reason = try firstOrRepeat(.clicked, id: id, db: db)
            guard try reason == "first" || isUnderEngagementLimit(.clicked, id: id, db: db) else { return }
            try record(.clicked, reason: reason, detail: String(url.prefix(2048)))
        }
    }

    /// The most opens (or clicks) recorded per notification: a person's first is always
    /// recorded; repeats and machine opens past this many are not, so that a token fetched in a
    /// loop cannot grow the trail without end.
    static let maximumRecordedEngagement = 50

    static func isUnderEngagementLimit(_ type: DeliveryEventType, id: Int64, db: Database) throws -> Bool {
        let recorded = try Int.fetchOne(db.cachedStatement(sql: """
            SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE notification_id = ? AND type = ? LIMIT ?)
            """), arguments: [id, type.rawValue, maximumRecordedEngagement]) ?? 0
        return recorded < maximumRecordedEngagement
    }

    /// `first` unless a person's open (or click) of the notification was recorded before.
    static func firstOrRepeat(_ type: DeliveryEventType, id: Int64, db: Database) throws -> String {
        try Bool.fetchOne(db, sql: """
            SELECT 1 FROM events WHERE notification_id = ? AND type = ? AND reason = 'first'
            """, arguments: [id, type.rawValue]) == nil ? "first" : "repeat"
    }

    /// Opts out of SMS every user whose phone is `phone` (a STOP reply); how many.
    public func optOutPhone(_ phone: String, at now: Date) async throws -> Int {
        try await write { db in
            let users = try String.fetchAll(db, sql: "SELECT id FROM users WHERE phone = ?", arguments: [phone])
            for user in users {
                try db.execute(sql: """
                    INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (?, 'sms', 0, ?)
                    ON CONFLICT (user_id, key) DO UPDATE SET opted_in = 0, updated_at = excluded.updated_at
                    """, arguments: [user, now.timeIntervalSince1970])
            }
            return users.count
        }
    }
}
