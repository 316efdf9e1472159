import Foundation
import HeraldCore
import PostgresNIO

/// The scheduler's side of the store on PostgreSQL: occurrences claimed with a planning lease,
/// expired ones recorded, and when each campaign was first seen. Creating or claiming a
/// scheduled occurrence takes the campaign's occurrence lock (as every statement that creates an
/// occurrence does), so two schedulers in two processes asking at once see one another's row.
extension PostgresStore {
    public func claimOccurrence(
        campaignID: String, fireAt: Date, definitionHash: String, definitionText: String?, owner: String, lease: Duration, at now: Date
    ) async throws -> OccurrenceClaim {
        let fire = Self.milliseconds(fireAt)
        let until = now.timeIntervalSince1970 + lease.timeInterval
        return try await transaction { connection in
            try await lockOccurrences(of: campaignID, connection)
            var found: (id: Int64, definitionHash: String, params: String, state: String, owner: String?, until: Double?, definition: String?)?
            for try await row in try await connection.query("""
                SELECT id, definition_hash, params, state, lease_owner, lease_until, definition FROM occurrences
                WHERE campaign_id = \(campaignID) AND fire_at = \(fire)
                """, logger: logger).decode((Int64, String, String, String, String?, Double?, String?).self) {
                found = row
            }
            guard let row = found else {
                var id: Int64 = 0
                for try await inserted in try await connection.query("""
                    INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, kind, params, scheduled, lease_owner, lease_until, definition)
                    VALUES (\(campaignID), \(fire), \(definitionHash), 'planning', \(now.timeIntervalSince1970), 'audience', '{}', TRUE, \(owner), \(until), \(definitionText))
                    RETURNING id
                    """, logger: logger).decode(Int64.self) {
                    id = inserted
                }
                return .created(Occurrence(
                    id: id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: definitionHash, kind: .audience,
                    isNew: true, definitionText: definitionText
                ))
            }
            let occurrence = Occurrence(
                id: row.id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: row.definitionHash, kind: .audience,
                params: Self.decodeParams(row.params), isNew: false, isPlanned: row.state == "planned", definitionText: row.definition
            )
            switch row.state {
            case "planning":
                if let holder = row.owner, holder != owner, let heldUntil = row.until, heldUntil > now.timeIntervalSince1970 {
                    return .held(by: holder, until: Date(timeIntervalSince1970: heldUntil))
                }
                try await connection.perform("""
                    UPDATE occurrences SET lease_owner = \(owner), lease_until = \(until), scheduled = TRUE WHERE id = \(row.id)
                    """, logger: logger)
                return .resumed(occurrence)
            case "expired":
                return .expired
            default:
                return .planned(occurrence)
            }
        }
    }

    public func renewOccurrenceLease(id: Int64, owner: String, lease: Duration, at now: Date) async throws -> Bool {
        try await count("""
            WITH renewed AS (
                UPDATE occurrences SET lease_until = \(now.timeIntervalSince1970 + lease.timeInterval)
                WHERE id = \(id) AND lease_owner = \(owner) AND state = 'planning' RETURNING 1)
            SELECT COUNT(*) FROM renewed
            """) > 0
    }

    public func releaseOccurrenceLease(id: Int64, owner: String) async throws {
        try await perform("UPDATE occurrences SET lease_until = NULL WHERE id = \(id) AND lease_owner = \(owner) AND state = 'planning'")
    }

    public func recordExpiredOccurrence(campaignID: String, fireAt: Date, definitionHash: String, detail: String, at now: Date) async throws -> Bool {
        let timestamp = now.timeIntervalSince1970
        return try await transaction { connection in
            try await lockOccurrences(of: campaignID, connection)
            var inserted = false
            for try await _ in try await connection.query("""
                INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, finished_at, kind, params, scheduled)
                VALUES (\(campaignID), \(Self.milliseconds(fireAt)), \(definitionHash), 'expired', \(timestamp), \(timestamp), 'audience', '{}', TRUE)
                ON CONFLICT (campaign_id, fire_at) DO NOTHING
                RETURNING id
                """, logger: logger) {
                inserted = true
            }
            guard inserted else { return false }
            // The whole occurrence is skipped, so the event names no notification.
            try await connection.perform("""
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                VALUES (NULL, \(campaignID), NULL, \(DeliveryEventType.skipped.rawValue), \(SkipReason.expired.rawValue), \(timestamp), \(detail))
                """, logger: logger)
            return true
        }
    }

    public func lastFireInstant(campaignID: String) async throws -> Date? {
        try await fetch("SELECT MAX(fire_at) FROM occurrences WHERE campaign_id = \(campaignID) AND scheduled") { rows in
            for try await fire in rows.decode(Int64?.self) { return fire.map { Self.date(milliseconds: $0) } }
            return nil
        }
    }

    public func firstSeen(campaignID: String, at now: Date) async throws -> Date {
        let seen = Self.milliseconds(now)
        return try await transaction { connection in
            try await connection.perform("""
                INSERT INTO scheduled_campaigns (campaign_id, first_seen_at) VALUES (\(campaignID), \(seen)) ON CONFLICT (campaign_id) DO NOTHING
                """, logger: logger)
            // A statement of its own, which sees the row another process inserted at the same
            // moment (the insert waited for it to commit).
            for try await first in try await connection.query(
                "SELECT first_seen_at FROM scheduled_campaigns WHERE campaign_id = \(campaignID)", logger: logger
            ).decode(Int64.self) {
                return Self.date(milliseconds: first)
            }
            return Self.date(milliseconds: seen)
        }
    }

    public func unfinishedScheduledOccurrences() async throws -> [Occurrence] {
        try await fetch("""
            SELECT id, campaign_id, fire_at, definition_hash, params, definition FROM occurrences
            WHERE scheduled AND state = 'planning' ORDER BY fire_at, id
            """) { rows in
            var occurrences: [Occurrence] = []
            for try await (id, campaignID, fire, definitionHash, params, definition) in rows.decode((Int64, String, Int64, String, String, String?).self) {
                occurrences.append(Occurrence(
                    id: id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: definitionHash, kind: .audience,
                    params: Self.decodeParams(params), isNew: false, definitionText: definition
                ))
            }
            return occurrences
        }
    }

    public func stalledTriggeredOccurrences(createdBefore before: Date, at now: Date, limit: Int) async throws -> [StalledTrigger] {
        // `kind = 'trigger' AND state = 'planning'` as written: the partial index
        // occurrences_trigger_unfinished serves exactly that condition.
        try await fetch("""
            SELECT o.id, t.campaign_id, t.due_at, o.definition_hash, e.id, e.external_id, e.user_id, e.name, e.properties::text, e.received_at
            FROM occurrences o
            JOIN triggered_occurrences t ON t.occurrence_id = o.id
            LEFT JOIN received_events e ON e.id = t.event_id
            WHERE o.kind = 'trigger' AND o.state = 'planning' AND o.created_at < \(before.timeIntervalSince1970)
                AND (o.lease_until IS NULL OR o.lease_until <= \(now.timeIntervalSince1970))
            ORDER BY o.created_at, o.id LIMIT \(limit)
            """) { rows in
            var stalled: [StalledTrigger] = []
            for try await (id, campaignID, due, definitionHash, eventID, externalID, userID, name, properties, receivedAt) in rows.decode(
                (Int64, String, Int64, String, Int64?, String?, String?, String?, String?, Double?).self
            ) {
                let occurrence = Self.triggeredOccurrence(id: id, campaignID: campaignID, due: due, definitionHash: definitionHash, isNew: false, isPlanned: false)
                var event: ReceivedEvent?
                if let eventID, let userID, let name, let properties, let receivedAt {
                    event = ReceivedEvent(
                        id: eventID, externalID: externalID, userID: userID, name: name, properties: EventProperties(storedJSON: properties),
                        receivedAt: Date(timeIntervalSince1970: receivedAt)
                    )
                }
                stalled.append(StalledTrigger(occurrence: occurrence, event: event))
            }
            return stalled
        }
    }

    public func claimTriggeredOccurrence(id: Int64, owner: String, lease: Duration, at now: Date) async throws -> Bool {
        try await count("""
            WITH claimed AS (
                UPDATE occurrences SET lease_owner = \(owner), lease_until = \(now.timeIntervalSince1970 + lease.timeInterval)
                WHERE id = \(id) AND kind = 'trigger' AND state = 'planning'
                    AND (lease_until IS NULL OR lease_until <= \(now.timeIntervalSince1970) OR lease_owner = \(owner))
                RETURNING 1)
            SELECT COUNT(*) FROM claimed
            """) > 0
    }

    /// The count a `SELECT COUNT(*)` statement returns.
    func count(_ query: PostgresQuery) async throws -> Int {
        try await fetch(query) { rows in
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }
}
