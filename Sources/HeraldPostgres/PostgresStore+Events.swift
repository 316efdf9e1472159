import Foundation
import HeraldCore
import Logging
import PostgresNIO

/// The events role on PostgreSQL: an event and the occurrences it triggers in one transaction,
/// once per external id across processes.
extension PostgresStore {
    /// The first key of the advisory lock on an event's external id: two processes receiving the
    /// same event at once record it once, the second finding the first's receipt.
    static let externalIDLockSpace: Int32 = 83_170_003

    public func recordEvent(_ event: ReceivedEvent, triggering campaigns: [TriggeredCampaign], at now: Date) async throws -> EventReceipt {
        try await transaction { connection in
            if let externalID = event.externalID {
                try await connection.perform("SELECT pg_advisory_xact_lock(\(Self.externalIDLockSpace), hashtext(\(externalID)))", logger: logger)
                if let first = try await receivedEvents(connection, """
                    SELECT id, external_id, user_id, name, properties::text, received_at FROM received_events WHERE external_id = \(externalID)
                    """).first {
                    guard first.userID == event.userID, first.name == event.name, first.properties == event.properties else {
                        throw EventError.conflictingID(first, event)
                    }
                    return EventReceipt(event: first, isNew: false, occurrences: try await triggeredOccurrences(connection, eventID: first.id))
                }
            }
            // Checked in the transaction that inserts, and the user's row held (FOR KEY SHARE) until
            // it ends, so that an event is never recorded for a user another process is removing.
            // A guest (someone an API send named by address) is in no campaign's audience: events,
            // which trigger campaigns, are for users only.
            var isGuest: Bool?
            for try await guest in try await connection.query(
                "SELECT guest FROM users WHERE id = \(event.userID) FOR KEY SHARE", logger: logger
            ).decode(Bool.self) {
                isGuest = guest
            }
            guard let isGuest else {
                throw EventError(.unknownUser, "no user with id \(Quoted.visible(event.userID))")
            }
            guard !isGuest else {
                throw EventError(.unknownUser, "\(Quoted.visible(event.userID)) is a guest (named by address in an API send); events are recorded for users only")
            }
            let timestamp = now.timeIntervalSince1970
            var recorded = event
            for try await id in try await connection.query("""
                INSERT INTO received_events (external_id, user_id, name, properties, received_at, recorded_at)
                VALUES (\(event.externalID), \(event.userID), \(event.name), \(event.properties.jsonText)::jsonb, \(event.receivedAt.timeIntervalSince1970), \(timestamp))
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                recorded.id = id
            }
            // Every campaign's occurrence lock first, in one order, so that two events triggering
            // the same campaigns wait for each other rather than deadlock.
            for campaignID in Set(campaigns.map(\.campaignID)).sorted() {
                try await lockOccurrences(of: campaignID, connection)
            }
            var occurrences: [String: Occurrence] = [:]
            for campaign in campaigns {
                let due = Self.milliseconds(campaign.dueAt)
                // An occurrence is unique by campaign and fire instant, and two users' events can
                // fall in the same millisecond: the key moves on to the first free one. The due
                // time stays exact: it is kept with the trigger.
                let fire = try await firstFreeFireInstant(connection, campaignID: campaign.campaignID, from: due)
                let occurrence = try await insertOccurrence(
                    connection, campaignID: campaign.campaignID, fire: fire, definitionHash: campaign.definitionHash, kind: .trigger, params: "{}", at: now
                )
                try await connection.perform("""
                    INSERT INTO triggered_occurrences (event_id, campaign_id, occurrence_id, due_at)
                    VALUES (\(recorded.id), \(campaign.campaignID), \(occurrence.id), \(due))
                    """, logger: logger)
                occurrences[campaign.campaignID] = Self.triggeredOccurrence(
                    id: occurrence.id, campaignID: campaign.campaignID, due: due, definitionHash: campaign.definitionHash, isNew: true, isPlanned: false
                )
            }
            return EventReceipt(event: recorded, isNew: true, occurrences: occurrences)
        }
    }

    public func receivedEvents(userID: String, named name: String?, limit: Int) async throws -> [ReceivedEvent] {
        do {
            return try await client.withConnection { connection in
                try await receivedEvents(connection, """
                    SELECT id, external_id, user_id, name, properties::text, received_at FROM received_events
                    WHERE user_id = \(userID) AND (\(name)::text IS NULL OR name = \(name))
                    ORDER BY received_at DESC, id DESC LIMIT \(limit)
                    """)
            }
        } catch {
            throw Self.describe(error, location: location, serverErrorCode: .database)
        }
    }

    /// The events a query of `id, external_id, user_id, name, properties::text, received_at` returns.
    func receivedEvents(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [ReceivedEvent] {
        var events: [ReceivedEvent] = []
        for try await (id, externalID, userID, name, properties, receivedAt) in try await connection.query(query, logger: logger).decode(
            (Int64, String?, String, String, String, Double).self
        ) {
            events.append(ReceivedEvent(
                id: id, externalID: externalID, userID: userID, name: name, properties: EventProperties(storedJSON: properties),
                receivedAt: Date(timeIntervalSince1970: receivedAt)
            ))
        }
        return events
    }

    /// The occurrences an event created, by campaign id.
    func triggeredOccurrences(_ connection: PostgresConnection, eventID: Int64) async throws -> [String: Occurrence] {
        var occurrences: [String: Occurrence] = [:]
        for try await (campaignID, due, id, definitionHash, state) in try await connection.query("""
            SELECT t.campaign_id, t.due_at, o.id, o.definition_hash, o.state
            FROM triggered_occurrences t JOIN occurrences o ON o.id = t.occurrence_id
            WHERE t.event_id = \(eventID)
            """, logger: logger).decode((String, Int64, Int64, String, String).self) {
            occurrences[campaignID] = Self.triggeredOccurrence(
                id: id, campaignID: campaignID, due: due, definitionHash: definitionHash, isNew: false, isPlanned: state == "planned"
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
