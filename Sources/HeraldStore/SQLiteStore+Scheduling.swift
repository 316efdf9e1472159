import Foundation
import GRDB
import HeraldCore

/// The scheduler's side of the store: occurrences claimed with a planning lease, expired ones
/// recorded, and when each campaign was first seen.
extension SQLiteStore {
    public func claimOccurrence(
        campaignID: String, fireAt: Date, definitionHash: String, definitionText: String?, owner: String, lease: Duration, at now: Date
    ) async throws -> OccurrenceClaim {
        let fire = Self.milliseconds(fireAt)
        let until = now.timeIntervalSince1970 + Self.seconds(lease)
        // One IMMEDIATE transaction (GRDB's default for writes): a second scheduler asking at the
        // same moment waits for this one, then finds the row it wrote and its lease.
        return try await write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, definition_hash, params, state, lease_owner, lease_until, definition FROM occurrences WHERE campaign_id = ? AND fire_at = ?
                """, arguments: [campaignID, fire])
            else {
                try db.execute(sql: """
                    INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, kind, params, scheduled, lease_owner, lease_until, definition)
                    VALUES (?, ?, ?, 'planning', ?, 'audience', '{}', 1, ?, ?, ?)
                    """, arguments: [campaignID, fire, definitionHash, now.timeIntervalSince1970, owner, until, definitionText])
                return .created(Occurrence(
                    id: db.lastInsertedRowID, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: definitionHash,
                    kind: .audience, isNew: true, definitionText: definitionText
                ))
            }
            let id: Int64 = row[0]
            let occurrence = Occurrence(
                id: id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: row[1], kind: .audience,
                params: Self.decodeParams(row[2]), isNew: false, isPlanned: (row[3] as String) == "planned", definitionText: row[6]
            )
            switch row[3] as String {
            case "planning":
                let holder: String? = row[4]
                let heldUntil: Double? = row[5]
                if let holder, holder != owner, let heldUntil, heldUntil > now.timeIntervalSince1970 {
                    return .held(by: holder, until: Date(timeIntervalSince1970: heldUntil))
                }
                try db.execute(sql: """
                    UPDATE occurrences SET lease_owner = ?, lease_until = ?, scheduled = 1 WHERE id = ?
                    """, arguments: [owner, until, id])
                return .resumed(occurrence)
            case "expired":
                return .expired
            default:
                return .planned(occurrence)
            }
        }
    }

    public func renewOccurrenceLease(id: Int64, owner: String, lease: Duration, at now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE occurrences SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'planning'
                """, arguments: [now.timeIntervalSince1970 + Self.seconds(lease), id, owner])
            return db.changesCount > 0
        }
    }

    public func releaseOccurrenceLease(id: Int64, owner: String) async throws {
        try await write { db in
            try db.execute(sql: """
                UPDATE occurrences SET lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'planning'
                """, arguments: [id, owner])
        }
    }

    public func recordExpiredOccurrence(campaignID: String, fireAt: Date, definitionHash: String, detail: String, at now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, finished_at, kind, params, scheduled)
                VALUES (?, ?, ?, 'expired', ?, ?, 'audience', '{}', 1)
                ON CONFLICT (campaign_id, fire_at) DO NOTHING
                """, arguments: [campaignID, Self.milliseconds(fireAt), definitionHash, now.timeIntervalSince1970, now.timeIntervalSince1970])
            guard db.changesCount > 0 else { return false }
            // The whole occurrence is skipped, so the event names no notification.
            try db.execute(sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (NULL, ?, NULL, ?, ?, ?, ?)
                """, arguments: [
                    campaignID, DeliveryEventType.skipped.rawValue, SkipReason.expired.rawValue, now.timeIntervalSince1970, detail,
                ])
            return true
        }
    }

    public func lastFireInstant(campaignID: String) async throws -> Date? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(fire_at) FROM occurrences WHERE campaign_id = ? AND scheduled = 1", arguments: [campaignID])
                .map { Self.date(milliseconds: $0) }
        }
    }

    public func firstSeen(campaignID: String, at now: Date) async throws -> Date {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO scheduled_campaigns (campaign_id, first_seen_at) VALUES (?, ?) ON CONFLICT (campaign_id) DO NOTHING
                """, arguments: [campaignID, Self.milliseconds(now)])
            let seen = try Int64.fetchOne(db, sql: "SELECT first_seen_at FROM scheduled_campaigns WHERE campaign_id = ?", arguments: [campaignID])
            return Self.date(milliseconds: seen ?? Self.milliseconds(now))
        }
    }

    public func unfinishedScheduledOccurrences() async throws -> [Occurrence] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, campaign_id, fire_at, definition_hash, params, definition FROM occurrences
                WHERE scheduled = 1 AND state = 'planning' ORDER BY fire_at, id
                """).map { row in
                Occurrence(
                    id: row[0], campaignID: row[1], fireAt: Self.date(milliseconds: row[2]), definitionHash: row[3], kind: .audience,
                    params: Self.decodeParams(row[4]), isNew: false, definitionText: row[5]
                )
            }
        }
    }

    public func stalledTriggeredOccurrences(createdBefore before: Date, at now: Date, limit: Int) async throws -> [StalledTrigger] {
        try await read { db in
            // `kind = 'trigger' AND state = 'planning'` as written: the partial index
            // occurrences_trigger_unfinished serves exactly that condition.
            try Row.fetchAll(db, sql: """
                SELECT o.id, t.campaign_id, t.due_at, o.definition_hash, e.id, e.external_id, e.user_id, e.name, e.properties, e.received_at
                FROM occurrences o
                JOIN triggered_occurrences t ON t.occurrence_id = o.id
                LEFT JOIN received_events e ON e.id = t.event_id
                WHERE o.kind = 'trigger' AND o.state = 'planning' AND o.created_at < ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
                ORDER BY o.created_at, o.id LIMIT ?
                """, arguments: [before.timeIntervalSince1970, now.timeIntervalSince1970, limit]).map { row in
                let occurrence = Self.triggeredOccurrence(
                    id: row[0], campaignID: row[1], due: row[2], definitionHash: row[3], isNew: false, isPlanned: false
                )
                let event: ReceivedEvent? = (row[4] as Int64?).map { id in
                    ReceivedEvent(
                        id: id, externalID: row[5], userID: row[6], name: row[7], properties: EventProperties(storedJSON: row[8]),
                        receivedAt: Date(timeIntervalSince1970: row[9])
                    )
                }
                return StalledTrigger(occurrence: occurrence, event: event)
            }
        }
    }

    public func claimTriggeredOccurrence(id: Int64, owner: String, lease: Duration, at now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE occurrences SET lease_owner = ?, lease_until = ?
                WHERE id = ? AND kind = 'trigger' AND state = 'planning' AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)
                """, arguments: [owner, now.timeIntervalSince1970 + Self.seconds(lease), id, now.timeIntervalSince1970, owner])
            return db.changesCount > 0
        }
    }

    /// A lease length in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
