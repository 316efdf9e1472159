import Foundation
import HeraldCore
import Logging
import PostgresNIO

/// The planning role on PostgreSQL: campaigns, occurrences, and pages of decisions written with
/// the cap ledger and the throttle ledger, each page in one transaction and in a few set-based
/// statements (the page travels as one JSON parameter, as an import's users do).
///
/// SQLite has one writer at a time, so reading a ledger and writing to it in one transaction is
/// enough there. PostgreSQL runs writers side by side, so the same transactions take locks
/// first: a campaign's advisory lock before its occurrences are looked up or created, the
/// campaign's throttle lock before its throttle ledger is read, and a row lock per user
/// (`cap_holders`) before the users' cap ledger is read. Locks are always taken in that order,
/// and rows in one order (by key), so that two planners wait for each other rather than deadlock.
extension PostgresStore {
    /// The first key of the two-key advisory locks on a campaign's occurrences (the second is the
    /// campaign id's hash); another number than the migrations' single-key lock.
    static let occurrenceLockSpace: Int32 = 83_170_001
    /// The first key of the advisory lock on a campaign's throttle ledger.
    static let throttleLockSpace: Int32 = 83_170_002

    public func saveCampaign(id: String, definitionHash: String, conversion: Conversion?, at now: Date) async throws {
        let window = conversion.map { Double($0.within.seconds) }
        try await perform("""
            INSERT INTO campaigns (id, definition_hash, updated_at, conversion_event, conversion_window)
            VALUES (\(id), \(definitionHash), \(now.timeIntervalSince1970), \(conversion?.event), \(window))
            ON CONFLICT (id) DO UPDATE SET definition_hash = EXCLUDED.definition_hash, updated_at = EXCLUDED.updated_at,
                conversion_event = EXCLUDED.conversion_event, conversion_window = EXCLUDED.conversion_window
            WHERE campaigns.definition_hash IS DISTINCT FROM EXCLUDED.definition_hash
            """)
    }

    public func beginOccurrence(campaignID: String, fireAt: Date, definitionHash: String, at now: Date) async throws -> Occurrence {
        let fire = Self.milliseconds(fireAt)
        return try await transaction { connection in
            try await lockOccurrences(of: campaignID, connection)
            // An occurrence keeps the definition it was first planned with.
            if let existing = try await occurrence(connection, """
                SELECT \(unescaped: Self.occurrenceColumns) FROM occurrences WHERE campaign_id = \(campaignID) AND fire_at = \(fire)
                """) {
                return existing
            }
            return try await insertOccurrence(
                connection, campaignID: campaignID, fire: fire, definitionHash: definitionHash, kind: .audience, params: "{}", at: now
            )
        }
    }

    /// Race-free across processes: the campaign's advisory lock is taken first, so a second
    /// process asking at the same moment waits for this transaction, and then (each statement
    /// reading what is committed) finds the occurrence it created.
    public func startOccurrence(_ request: OccurrenceRequest, at now: Date) async throws -> OccurrenceStart {
        let params = Self.encodeParams(request.params)
        let campaignID = request.campaignID
        return try await transaction { connection in
            try await lockOccurrences(of: campaignID, connection)
            if request.kind == .audience {
                if request.resumesUnfinished, let unfinished = try await unfinishedAudienceOccurrence(connection, campaignID: campaignID) {
                    return .resumed(unfinished)
                }
                if !request.repeatsFinished, let done = try await occurrence(connection, """
                    SELECT \(unescaped: Self.occurrenceColumns) FROM occurrences
                    WHERE campaign_id = \(campaignID) AND kind = 'audience' AND state = 'planned' ORDER BY fire_at DESC LIMIT 1
                    """) {
                    return .alreadySent(try await record(of: done, connection))
                }
            }
            // Two sends in the same millisecond get distinct instants, as on SQLite: the first
            // free one from the send's own instant.
            let fire = try await firstFreeFireInstant(connection, campaignID: campaignID, from: Self.milliseconds(request.fireAt))
            return .started(try await insertOccurrence(
                connection, campaignID: campaignID, fire: fire, definitionHash: request.definitionHash, kind: request.kind, params: params, at: now
            ))
        }
    }

    public func plannedUserIDs(occurrenceID: Int64, among userIDs: [String]) async throws -> Set<String> {
        try await fetch("""
            SELECT DISTINCT user_id FROM notifications WHERE occurrence_id = \(occurrenceID) AND user_id = ANY(\(userIDs))
            """) { rows in
            var ids = Set<String>()
            for try await id in rows.decode(String.self) { ids.insert(id) }
            return ids
        }
    }

    public func finishOccurrence(id: Int64, at now: Date) async throws {
        try await perform("UPDATE occurrences SET state = 'planned', finished_at = \(now.timeIntervalSince1970) WHERE id = \(id)")
    }

    /// One transaction: the campaign's throttle lock and the page's users' cap locks first (see
    /// the type's notes), then the cap ledger read, the page's `decide` for users whose entries
    /// changed, the throttle ledger checked for the intervals the page fills (the page decided
    /// again from the whole ledger when another send filled one meanwhile), the decisions written
    /// in one statement (notifications, outbox rows, cap slots, events), and the throttle ledger
    /// added to.
    public func savePlanned(_ page: PlanningPage, at now: Date) async throws -> PlanSummary {
        try await transaction { connection in
            if let throttle = page.throttle {
                try await connection.perform(
                    "SELECT pg_advisory_xact_lock(\(Self.throttleLockSpace), hashtext(\(throttle.campaignID)))", logger: logger
                )
            }
            var history: [String: [CapEntry]] = [:]
            if let since = page.capHistorySince {
                try await lockCaps(of: page.userIDs, connection)
                history = try await Self.capHistory(connection, of: page.userIDs, since: since, logger: logger)
            }
            var decisions = page.decisions(given: history)
            guard let throttle = page.throttle else {
                return try await insertPlanned(decisions, connection, at: now).summary
            }
            let counts = throttle.usage(of: decisions)
            let stored = try await throttleLedger(connection, throttle, intervals: Array(counts.keys))
            if throttle.overfills(counts, given: stored) {
                // Another send of the campaign filled an interval meanwhile: decide again, from
                // the whole ledger as it is now.
                let ledger = try await throttleLedger(connection, throttle, intervals: nil)
                let usage = Dictionary(uniqueKeysWithValues: ledger.map { (Date(timeIntervalSince1970: Double($0.key) * throttle.rate.per.seconds), $0.value) })
                decisions = throttle.redecide(usage, history)
            }
            let (summary, sent) = try await insertPlanned(decisions, connection, at: now)
            var added: [Int64: Int64] = [:]
            for due in sent { added[throttle.interval(of: due), default: 0] += 1 }
            if !added.isEmpty {
                let intervals = added.keys.sorted()
                let used = intervals.map { added[$0] ?? 0 }
                try await connection.perform("""
                    INSERT INTO throttle_ledger (campaign_id, seconds, "interval", used)
                    SELECT \(throttle.campaignID), \(throttle.rate.per.seconds), t.i, t.n FROM unnest(\(intervals)::bigint[], \(used)::bigint[]) AS t(i, n)
                    ON CONFLICT (campaign_id, seconds, "interval") DO UPDATE SET used = throttle_ledger.used + EXCLUDED.used
                    """, logger: logger)
            }
            return summary
        }
    }

    public func capHistory(of userIDs: [String], since: Date) async throws -> [String: [CapEntry]] {
        do {
            return try await client.withConnection { connection in
                try await Self.capHistory(connection, of: userIDs, since: since, logger: logger)
            }
        } catch {
            throw Self.describe(error, location: location, serverErrorCode: .database)
        }
    }

    public func plannedSendsByInterval(occurrenceID: Int64, intervalSeconds: Double) async throws -> [Date: Int] {
        try await fetch("""
            SELECT floor(due_at / \(intervalSeconds))::bigint AS slot, COUNT(*) FROM notifications
            WHERE occurrence_id = \(occurrenceID) AND state <> 'skipped' GROUP BY slot
            """) { rows in
            var counts: [Date: Int] = [:]
            for try await (interval, count) in rows.decode((Int64, Int).self) {
                counts[Date(timeIntervalSince1970: Double(interval) * intervalSeconds)] = count
            }
            return counts
        }
    }

    public func throttleUsage(campaignID: String, intervalSeconds: Double, since: Date) async throws -> [Date: Int] {
        let from = Int64((since.timeIntervalSince1970 / intervalSeconds).rounded(.down))
        return try await fetch("""
            SELECT "interval", used FROM throttle_ledger WHERE campaign_id = \(campaignID) AND seconds = \(intervalSeconds) AND "interval" >= \(from)
            """) { rows in
            var usage: [Date: Int] = [:]
            for try await (interval, used) in rows.decode((Int64, Int).self) {
                usage[Date(timeIntervalSince1970: Double(interval) * intervalSeconds)] = used
            }
            return usage
        }
    }

    /// The decisions planned for an occurrence, one per notification, in the order they were
    /// planned (by id): what a triggered send did for its user.
    public func decisions(occurrenceID: Int64) async throws -> [PlanDecision] {
        try await fetch(Self.decisionsQuery(occurrenceID: occurrenceID)) { try await Self.decisions($0) }
    }

    static func decisionsQuery(occurrenceID: Int64) -> PostgresQuery {
        """
            SELECT n.id, n.channel, n.state, n.reason, n.due_at, n.user_id, n.device,
                CASE WHEN n.state = 'skipped' THEN
                    (SELECT e.detail FROM events e WHERE e.notification_id = n.id AND e.type = 'skipped' ORDER BY e.id DESC LIMIT 1)
                END
            FROM notifications n WHERE n.occurrence_id = \(occurrenceID) ORDER BY n.id
            """
    }

    /// The decisions the rows of ``decisionsQuery(occurrenceID:)`` hold.
    static func decisions(_ rows: PostgresRowSequence) async throws -> [PlanDecision] {
        var decisions: [PlanDecision] = []
        for try await (id, channelName, stateName, reason, due, userID, device, detail) in rows.decode(
            (Int64, String, String, String?, Double, String, String, String?).self
        ) {
            guard let channel = HeraldCore.Channel(rawValue: channelName), let state = NotificationState(rawValue: stateName) else { continue }
            decisions.append(PlanDecision(
                notificationID: id, userID: userID, channel: channel, device: device, state: state, reason: reason, detail: detail,
                dueAt: Date(timeIntervalSince1970: due)
            ))
        }
        return decisions
    }

    // MARK: - Occurrences

    static let occurrenceColumns = "id, campaign_id, fire_at, definition_hash, kind, params, state"

    /// Takes the campaign's occurrence lock until the transaction ends. Every statement that
    /// creates an occurrence runs under it, so that finding an instant and taking it are one step.
    func lockOccurrences(of campaignID: String, _ connection: PostgresConnection) async throws {
        try await connection.perform("SELECT pg_advisory_xact_lock(\(Self.occurrenceLockSpace), hashtext(\(campaignID)))", logger: logger)
    }

    /// The first occurrence a query of ``occurrenceColumns`` returns.
    func occurrence(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Occurrence? {
        let rows = try await connection.query(query, logger: logger)
        for try await (id, campaignID, fire, definitionHash, kind, params, state) in rows.decode(
            (Int64, String, Int64, String, String, String, String).self
        ) {
            return Occurrence(
                id: id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: definitionHash,
                kind: Occurrence.Kind(rawValue: kind) ?? .audience, params: Self.decodeParams(params), isNew: false, isPlanned: state == "planned"
            )
        }
        return nil
    }

    /// The latest audience occurrence of the campaign that is not done: its planning stopped part
    /// way (or is still running elsewhere), or some of its notifications are still in the outbox.
    func unfinishedAudienceOccurrence(_ connection: PostgresConnection, campaignID: String) async throws -> Occurrence? {
        if let planning = try await occurrence(connection, """
            SELECT \(unescaped: Self.occurrenceColumns) FROM occurrences
            WHERE campaign_id = \(campaignID) AND kind = 'audience' AND state = 'planning' ORDER BY fire_at DESC LIMIT 1
            """) {
            return planning
        }
        // Walk the outbox (small once delivered) rather than every notification of the campaign.
        return try await occurrence(connection, """
            SELECT \(unescaped: Self.occurrenceColumns) FROM occurrences WHERE id = (
                SELECT o.id FROM outbox x
                JOIN notifications n ON n.id = x.notification_id
                JOIN occurrences o ON o.id = n.occurrence_id
                WHERE n.campaign_id = \(campaignID) AND o.kind = 'audience'
                ORDER BY o.fire_at DESC LIMIT 1)
            """)
    }

    /// The first fire instant (milliseconds) at or after `fire` that no occurrence of the
    /// campaign has, in one query: `fire` itself when free, else the end of the run of taken
    /// instants that starts there, plus one.
    func firstFreeFireInstant(_ connection: PostgresConnection, campaignID: String, from fire: Int64) async throws -> Int64 {
        let rows = try await connection.query("""
            SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM occurrences WHERE campaign_id = \(campaignID) AND fire_at = \(fire)) THEN \(fire)
            ELSE (SELECT MIN(o.fire_at) + 1 FROM occurrences o
                  WHERE o.campaign_id = \(campaignID) AND o.fire_at >= \(fire)
                    AND NOT EXISTS (SELECT 1 FROM occurrences p WHERE p.campaign_id = \(campaignID) AND p.fire_at = o.fire_at + 1))
            END
            """, logger: logger)
        for try await free in rows.decode(Int64.self) { return free }
        return fire
    }

    /// Inserts an occurrence; the caller holds the campaign's occurrence lock.
    func insertOccurrence(
        _ connection: PostgresConnection, campaignID: String, fire: Int64, definitionHash: String, kind: Occurrence.Kind, params: String, at now: Date
    ) async throws -> Occurrence {
        let rows = try await connection.query("""
            INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, kind, params)
            VALUES (\(campaignID), \(fire), \(definitionHash), 'planning', \(now.timeIntervalSince1970), \(kind.rawValue), \(params))
            RETURNING id
            """, logger: logger)
        var id: Int64?
        for try await inserted in rows.decode(Int64.self) { id = inserted }
        guard let id else { throw StoreError(.database, "PostgreSQL at \(location.host):\(location.port)/\(location.database) created no occurrence of \(campaignID)") }
        return Occurrence(
            id: id, campaignID: campaignID, fireAt: Self.date(milliseconds: fire), definitionHash: definitionHash, kind: kind,
            params: Self.decodeParams(params), isNew: true
        )
    }

    /// What an earlier send achieved, counted from its notifications.
    func record(of occurrence: Occurrence, _ connection: PostgresConnection) async throws -> SendRecord {
        let rows = try await connection.query("""
            SELECT (SELECT finished_at FROM occurrences WHERE id = \(occurrence.id)), COUNT(DISTINCT user_id), COUNT(*)
            FROM notifications WHERE occurrence_id = \(occurrence.id) AND state IN ('sent', 'delivered')
            """, logger: logger)
        for try await (finished, recipients, sent) in rows.decode((Double?, Int, Int).self) {
            return SendRecord(occurrence: occurrence, finishedAt: finished.map(Date.init(timeIntervalSince1970:)), recipients: recipients, sent: sent)
        }
        return SendRecord(occurrence: occurrence, finishedAt: nil, recipients: 0, sent: 0)
    }

    // MARK: - Ledgers

    /// Locks the users' `cap_holders` rows until the transaction ends, creating the missing ones.
    /// Both statements go through the users in one order (by id's bytes), so two pages that
    /// share users wait for each other instead of deadlocking. A second transaction inserting a
    /// row the first has just inserted waits for the first to end, then finds the row.
    func lockCaps(of userIDs: [String], _ connection: PostgresConnection) async throws {
        guard !userIDs.isEmpty else { return }
        try await connection.perform("""
            INSERT INTO cap_holders (user_id) SELECT DISTINCT u COLLATE "C" FROM unnest(\(userIDs)::text[]) AS u ORDER BY 1
            ON CONFLICT (user_id) DO NOTHING
            """, logger: logger)
        try await connection.perform(
            "SELECT user_id FROM cap_holders WHERE user_id = ANY(\(userIDs)) ORDER BY user_id FOR UPDATE", logger: logger
        )
    }

    /// The cap ledger slots of the users due at or after `since`, each user's in the ledger's
    /// order (as SQLite reads them), so that two reads of unchanged slots compare equal.
    static func capHistory(_ connection: PostgresConnection, of userIDs: [String], since: Date, logger: Logger) async throws -> [String: [CapEntry]] {
        guard !userIDs.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT user_id, at, channel, category, campaign_id FROM cap_ledger
            WHERE user_id = ANY(\(userIDs)) AND at >= \(since.timeIntervalSince1970)
            ORDER BY user_id, at, occurrence_id, channel
            """, logger: logger)
        var history: [String: [CapEntry]] = [:]
        for try await (userID, at, channelName, category, campaignID) in rows.decode((String, Double, String, String, String).self) {
            guard let channel = HeraldCore.Channel(rawValue: channelName) else { continue }
            history[userID, default: []].append(CapEntry(at: Date(timeIntervalSince1970: at), channel: channel, category: category, campaignID: campaignID))
        }
        return history
    }

    /// The throttle ledger of the campaign: the given intervals, or every one from the interval
    /// of `throttle.since` on.
    func throttleLedger(_ connection: PostgresConnection, _ throttle: PageThrottle, intervals: [Int64]?) async throws -> [Int64: Int] {
        let rows: PostgresRowSequence
        if let intervals {
            rows = try await connection.query("""
                SELECT "interval", used FROM throttle_ledger
                WHERE campaign_id = \(throttle.campaignID) AND seconds = \(throttle.rate.per.seconds) AND "interval" = ANY(\(intervals))
                """, logger: logger)
        } else {
            rows = try await connection.query("""
                SELECT "interval", used FROM throttle_ledger
                WHERE campaign_id = \(throttle.campaignID) AND seconds = \(throttle.rate.per.seconds) AND "interval" >= \(throttle.interval(of: throttle.since))
                """, logger: logger)
        }
        var usage: [Int64: Int] = [:]
        for try await (interval, used) in rows.decode((Int64, Int).self) { usage[interval] = used }
        return usage
    }

    // MARK: - Writing decisions

    /// One decision as `jsonb_to_recordset` reads it.
    struct PlannedRow: Encodable {
        var ord: Int
        var occurrenceID: Int64
        var campaignID: String
        var category: String
        var userID: String
        var channel: String
        var device: String
        var provider: String?
        var address: String?
        var content: String?
        var state: String
        var reason: String?
        var detail: String?
        var warning: String?
        var dueAt: Double
        var expiresAt: Double?
        var variant: String?

        enum CodingKeys: String, CodingKey {
            case ord, category, channel, device, provider, address, content, state, reason, detail, warning, variant
            case occurrenceID = "occurrence_id", campaignID = "campaign_id", userID = "user_id", dueAt = "due_at", expiresAt = "expires_at"
        }
    }

    /// Writes decisions with one statement: the notifications (a key already present is left
    /// alone, and within the batch the first decision of a key wins, as on SQLite), the outbox
    /// row and cap slot of each send written (not of a transactional one), and the events of
    /// each notification written (`planned` or `skipped`, then `render_warning`), in the batch's
    /// order, so that ids and the trail follow it.
    ///
    /// - Returns: the summary, and the due time of each send written (for the throttle ledger).
    func insertPlanned(_ batch: [PlannedNotification], _ connection: PostgresConnection, at now: Date) async throws -> (summary: PlanSummary, sent: [Date]) {
        guard !batch.isEmpty else { return (PlanSummary(), []) }
        let rows = batch.enumerated().map { ord, planned -> PlannedRow in
            var row = PlannedRow(
                ord: ord, occurrenceID: planned.occurrenceID, campaignID: planned.campaignID, category: planned.category, userID: planned.userID,
                channel: planned.channel.rawValue, device: planned.device, provider: planned.provider, address: planned.address,
                content: planned.contentJSON, state: NotificationState.planned.rawValue, dueAt: planned.dueAt.timeIntervalSince1970,
                expiresAt: planned.expiresAt?.timeIntervalSince1970, variant: planned.variant
            )
            if case .skip(let reason, let detail) = planned.decision {
                row.state = NotificationState.skipped.rawValue
                row.reason = reason.rawValue
                row.detail = detail
            }
            row.warning = planned.warning
            return row
        }
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        let timestamp = now.timeIntervalSince1970
        // Event types are the states' names: `planned`, `skipped`.
        let written = try await connection.query("""
            WITH input AS (
                SELECT * FROM jsonb_to_recordset(\(json)::jsonb) AS t(
                    ord integer, occurrence_id bigint, campaign_id text, category text, user_id text, channel text, device text,
                    provider text, address text, content text, state text, reason text, detail text, warning text,
                    due_at double precision, expires_at double precision, variant text)
            ),
            inserted AS (
                INSERT INTO notifications (occurrence_id, campaign_id, category, user_id, channel, device, provider, address, content,
                    state, reason, due_at, expires_at, created_at, updated_at, variant)
                SELECT occurrence_id, campaign_id, category, user_id, channel, device, provider, address, content,
                    state, reason, due_at, expires_at, \(timestamp), \(timestamp), variant
                FROM input ORDER BY ord
                ON CONFLICT (occurrence_id, user_id, channel, device) DO NOTHING
                RETURNING id, occurrence_id, user_id, channel, device
            ),
            written AS (
                SELECT i.id, f.* FROM inserted i JOIN (
                    SELECT DISTINCT ON (occurrence_id, user_id, channel, device) * FROM input
                    ORDER BY occurrence_id, user_id, channel, device, ord
                ) f ON f.occurrence_id = i.occurrence_id AND f.user_id = i.user_id AND f.channel = i.channel AND f.device = i.device
            ),
            queued AS (
                INSERT INTO outbox (notification_id, channel, provider, due_at)
                SELECT id, channel, COALESCE(provider, ''), due_at FROM written WHERE state = 'planned' ORDER BY id
            ),
            slots AS (
                -- Every device of a push decision shares one slot: a cap counts sends, not devices.
                INSERT INTO cap_ledger (user_id, at, occurrence_id, channel, category, campaign_id)
                SELECT user_id, due_at, occurrence_id, channel, category, campaign_id FROM written
                WHERE state = 'planned' AND category <> \(Campaign.transactionalCategory)
                ORDER BY user_id COLLATE "C", due_at, occurrence_id, channel
                ON CONFLICT DO NOTHING
            ),
            trail AS (
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                SELECT id, campaign_id, channel, type, reason, \(timestamp), detail FROM (
                    SELECT id, 0 AS position, campaign_id, channel, state AS type, reason, detail FROM written
                    UNION ALL
                    SELECT id, 1, campaign_id, channel, \(DeliveryEventType.renderWarning.rawValue), NULL, warning FROM written WHERE warning IS NOT NULL
                ) e ORDER BY id, position
            )
            SELECT ord FROM written
            """, logger: logger)
        var summary = PlanSummary()
        var isWritten = [Bool](repeating: false, count: batch.count)
        for try await ord in written.decode(Int.self) { isWritten[ord] = true }
        var sent: [Date] = []
        for (ord, planned) in batch.enumerated() {
            guard isWritten[ord] else {
                summary.duplicates += 1
                continue
            }
            switch planned.decision {
            case .send:
                summary.planned += 1
                sent.append(planned.dueAt)
                if planned.dueAt.timeIntervalSince1970 > timestamp { summary.dueLater += 1 }
            case .skip:
                summary.skipped += 1
            }
        }
        return (summary, sent)
    }

    // MARK: - Helpers

    /// Runs one statement that returns no rows, outside a transaction.
    func perform(_ query: PostgresQuery) async throws {
        try await fetch(query) { rows in for try await _ in rows {} }
    }

    static func encodeParams(_ params: [String: String]) -> String {
        guard !params.isEmpty,
              let data = try? JSONSerialization.data(withJSONObject: params, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeParams(_ text: String) -> [String: String] {
        guard text != "{}", let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else { return [:] }
        return object
    }

    /// An occurrence's fire instant as whole milliseconds, its exact key (as on SQLite).
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension PostgresConnection {
    /// Runs a statement and reads its rows to the end (a lock taken, a write done).
    func perform(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
