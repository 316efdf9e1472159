import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func saveCampaign(id: String, definitionHash: String, at now: Date) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET definition_hash = excluded.definition_hash, updated_at = excluded.updated_at
                WHERE definition_hash IS NOT excluded.definition_hash
                """, arguments: [id, definitionHash, now.timeIntervalSince1970])
        }
    }

    public func beginOccurrence(campaignID: String, fireAt: Date, definitionHash: String, at now: Date) async throws -> Occurrence {
        try await write { db in
            let fire = Self.milliseconds(fireAt)
            if let row = try Row.fetchOne(db, sql: "SELECT id, definition_hash FROM occurrences WHERE campaign_id = ? AND fire_at = ?", arguments: [campaignID, fire]) {
                // An occurrence keeps the definition it was first planned with.
                return Occurrence(id: row[0], campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: row[1], isNew: false)
            }
            try db.execute(sql: """
                INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at) VALUES (?, ?, ?, 'planning', ?)
                """, arguments: [campaignID, fire, definitionHash, now.timeIntervalSince1970])
            return Occurrence(id: db.lastInsertedRowID, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: definitionHash, isNew: true)
        }
    }

    /// An occurrence is identified by its campaign and fire instant, so the instant is kept as
    /// whole milliseconds: a `Date` read back from a REAL can differ in its last bit and would
    /// no longer find its occurrence.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    public func finishOccurrence(id: Int64, at now: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE occurrences SET state = 'planned', finished_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, id])
        }
    }

    public func plannedUserIDs(occurrenceID: Int64, among userIDs: [String]) async throws -> Set<String> {
        let ids = codec.encode(userIDs)
        return try await read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT DISTINCT user_id FROM notifications WHERE occurrence_id = ? AND user_id IN (SELECT value FROM json_each(?))
                """, arguments: [occurrenceID, ids]))
        }
    }

    public func resumableOccurrence(campaignID: String) async throws -> Occurrence? {
        try await read { db in
            try Row.fetchOne(db, sql: """
                SELECT id, fire_at, definition_hash FROM occurrences o
                WHERE campaign_id = ? AND (state = 'planning' OR EXISTS (
                    SELECT 1 FROM notifications n JOIN outbox x ON x.notification_id = n.id WHERE n.occurrence_id = o.id))
                ORDER BY fire_at DESC LIMIT 1
                """, arguments: [campaignID]).map { row in
                Occurrence(id: row[0], campaignID: campaignID, fireAt: Self.date(milliseconds: row[1]), definitionHash: row[2], isNew: false)
            }
        }
    }

    public func savePlanned(_ batch: [PlannedNotification], at now: Date) async throws -> PlanSummary {
        let rows: [(PlannedNotification, String?)] = batch.map { planned in
            if case .send(let content) = planned.decision { return (planned, content.jsonText) }
            return (planned, nil)
        }
        return try await write { db in
            let insertNotification = try db.cachedStatement(sql: """
                INSERT INTO notifications (dedupe_key, occurrence_id, campaign_id, category, user_id, channel, provider,
                    address, content, state, reason, due_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (dedupe_key) DO NOTHING
                """)
            let insertOutbox = try db.cachedStatement(sql: "INSERT INTO outbox (notification_id, channel, due_at) VALUES (?, ?, ?)")
            let insertEvent = try db.cachedStatement(sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            let timestamp = now.timeIntervalSince1970
            var summary = PlanSummary()
            for (planned, content) in rows {
                let state: NotificationState
                var reason: String?
                var detail: String?
                switch planned.decision {
                case .send:
                    state = .planned
                case .skip(let skipReason, let skipDetail):
                    state = .skipped
                    reason = skipReason.rawValue
                    detail = skipDetail
                }
                try insertNotification.execute(arguments: [
                    planned.dedupeKey, planned.occurrenceID, planned.campaignID, planned.category, planned.userID,
                    planned.channel.rawValue, planned.provider, planned.address, content, state.rawValue, reason,
                    planned.dueAt.timeIntervalSince1970, timestamp, timestamp,
                ])
                guard db.changesCount > 0 else {
                    summary.duplicates += 1
                    continue
                }
                let id = db.lastInsertedRowID
                if state == .planned {
                    try insertOutbox.execute(arguments: [id, planned.channel.rawValue, planned.dueAt.timeIntervalSince1970])
                    summary.planned += 1
                } else {
                    summary.skipped += 1
                }
                let event: DeliveryEventType = state == .planned ? .planned : .skipped
                try insertEvent.execute(arguments: [id, planned.campaignID, planned.channel.rawValue, event.rawValue, reason, timestamp, detail])
                if let warning = planned.warning {
                    try insertEvent.execute(arguments: [
                        id, planned.campaignID, planned.channel.rawValue, DeliveryEventType.renderWarning.rawValue, nil, timestamp, warning,
                    ])
                }
            }
            return summary
        }
    }
}
