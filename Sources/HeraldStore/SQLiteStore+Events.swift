import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func recordEvent(_ event: ReceivedEvent, triggering campaigns: [TriggeredCampaign], at now: Date) async throws -> EventReceipt {
        try await write { db in
            if let externalID = event.externalID, let first = try Self.receivedEvent(db, where: "external_id = ?", arguments: [externalID]) {
                guard first.userID == event.userID, first.name == event.name, first.properties == event.properties else {
                    throw EventError.conflictingID(first, event)
                }
                return EventReceipt(event: first, isNew: false, occurrences: try Self.triggeredOccurrences(db, eventID: first.id))
            }
            // Checked in the transaction that inserts, so that an event is never recorded for a
            // user another process has just removed (the foreign key would refuse it too, less clearly).
            // A guest (someone an API send named by address) is not in any campaign's audience:
            // events, which trigger campaigns, are for users only.
            guard let isGuest = try Bool.fetchOne(db, sql: "SELECT guest FROM users WHERE id = ?", arguments: [event.userID]) else {
                throw EventError(.unknownUser, "no user with id \(Quoted.visible(event.userID))")
            }
            guard !isGuest else {
                throw EventError(.unknownUser, "\(Quoted.visible(event.userID)) is a guest (named by address in an API send); events are recorded for users only")
            }
            let timestamp = now.timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO received_events (external_id, user_id, name, properties, received_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [event.externalID, event.userID, event.name, event.properties.jsonText, event.receivedAt.timeIntervalSince1970, timestamp])
            var recorded = event
            recorded.id = db.lastInsertedRowID
            var occurrences: [String: Occurrence] = [:]
            for campaign in campaigns {
                let due = Self.milliseconds(campaign.dueAt)
                // An occurrence is unique by campaign and fire instant, and two users' events can
                // fall in the same millisecond: the key moves on by a millisecond until it is free.
                // The due time stays exact: it is kept with the trigger.
                let fire = try Self.firstFreeFireInstant(db, campaignID: campaign.campaignID, from: due)
                try db.execute(sql: """
                    INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, kind, params)
                    VALUES (?, ?, ?, 'planning', ?, 'trigger', '{}')
                    """, arguments: [campaign.campaignID, fire, campaign.definitionHash, timestamp])
                let occurrenceID = db.lastInsertedRowID
                try db.execute(sql: """
                    INSERT INTO triggered_occurrences (event_id, campaign_id, occurrence_id, due_at) VALUES (?, ?, ?, ?)
                    """, arguments: [recorded.id, campaign.campaignID, occurrenceID, due])
                occurrences[campaign.campaignID] = Self.triggeredOccurrence(
                    id: occurrenceID, campaignID: campaign.campaignID, due: due, definitionHash: campaign.definitionHash, isNew: true, isPlanned: false
                )
            }
            return EventReceipt(event: recorded, isNew: true, occurrences: occurrences)
        }
    }

    public func receivedEvents(userID: String, named name: String?, limit: Int) async throws -> [ReceivedEvent] {
        try await read { db in
            try Self.receivedEvents(
                db, where: name == nil ? "user_id = ?" : "user_id = ? AND name = ?",
                arguments: name.map { [userID, $0] } ?? [userID], order: "received_at DESC, id DESC", limit: limit
            )
        }
    }

    /// The decisions planned for an occurrence, one per notification, in the order planned: what a
    /// triggered send did for its user (`planned`, or `skipped` with a reason).
    public func decisions(occurrenceID: Int64) async throws -> [PlanDecision] {
        try await read { db in try Self.decisions(db, occurrenceID: occurrenceID) }
    }

    static func decisions(_ db: Database, occurrenceID: Int64) throws -> [PlanDecision] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT n.id, n.channel, n.state, n.reason, n.due_at, n.user_id, n.device,
                CASE WHEN n.state = 'skipped' THEN
                    (SELECT e.detail FROM events e WHERE e.notification_id = n.id AND e.type = 'skipped' ORDER BY e.id DESC LIMIT 1)
                END
            FROM notifications n WHERE n.occurrence_id = ? ORDER BY n.id
            """), arguments: [occurrenceID]).compactMap { row in
            guard let channel = Channel(rawValue: row[1]), let state = NotificationState(rawValue: row[2]) else { return nil }
            return PlanDecision(
                notificationID: row[0], userID: row[5], channel: channel, device: row[6], state: state, reason: row[3], detail: row[7],
                dueAt: Date(timeIntervalSince1970: row[4])
            )
        }
    }

    static func receivedEvent(_ db: Database, where condition: String, arguments: StatementArguments) throws -> ReceivedEvent? {
        try receivedEvents(db, where: condition, arguments: arguments, order: "id", limit: 1).first
    }

    static func receivedEvents(_ db: Database, where condition: String, arguments: StatementArguments, order: String, limit: Int) throws -> [ReceivedEvent] {
        try Row.fetchAll(db, sql: """
            SELECT id, external_id, user_id, name, properties, received_at FROM received_events WHERE \(condition) ORDER BY \(order) LIMIT ?
            """, arguments: arguments + [limit]).map { row in
            ReceivedEvent(
                id: row[0], externalID: row[1], userID: row[2], name: row[3], properties: EventProperties(storedJSON: row[4]),
                receivedAt: Date(timeIntervalSince1970: row[5])
            )
        }
    }

    /// The occurrences an event created, by campaign id.
    static func triggeredOccurrences(_ db: Database, eventID: Int64) throws -> [String: Occurrence] {
        var occurrences: [String: Occurrence] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT t.campaign_id, t.due_at, o.id, o.definition_hash, o.state
            FROM triggered_occurrences t JOIN occurrences o ON o.id = t.occurrence_id
            WHERE t.event_id = ?
            """, arguments: [eventID]) {
            let campaignID: String = row[0]
            occurrences[campaignID] = triggeredOccurrence(
                id: row[2], campaignID: campaignID, due: row[1], definitionHash: row[3], isNew: false, isPlanned: (row[4] as String) == "planned"
            )
        }
        return occurrences
    }

    /// A triggered occurrence as the planner takes it: fired at the exact due time (the planner
    /// makes it every notification's due time), whatever millisecond its row's key moved to.
    static func triggeredOccurrence(id: Int64, campaignID: String, due: Int64, definitionHash: String, isNew: Bool, isPlanned: Bool) -> Occurrence {
        Occurrence(
            id: id, campaignID: campaignID, fireAt: date(milliseconds: due), definitionHash: definitionHash, kind: .trigger,
            isNew: isNew, isPlanned: isPlanned
        )
    }
}
