import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func saveCampaign(id: String, definitionHash: String, conversion: Conversion?, at now: Date) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO campaigns (id, definition_hash, updated_at, conversion_event, conversion_window) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET definition_hash = excluded.definition_hash, updated_at = excluded.updated_at,
                    conversion_event = excluded.conversion_event, conversion_window = excluded.conversion_window
                WHERE definition_hash IS NOT excluded.definition_hash
                """, arguments: [id, definitionHash, now.timeIntervalSince1970, conversion?.event, conversion.map { Double($0.within.seconds) }])
        }
    }

    public func beginOccurrence(campaignID: String, fireAt: Date, definitionHash: String, at now: Date) async throws -> Occurrence {
        try await write { db in
            let fire = Self.milliseconds(fireAt)
            if let existing = try Self.occurrence(db, where: "campaign_id = ? AND fire_at = ?", arguments: [campaignID, fire]) {
                // An occurrence keeps the definition it was first planned with.
                return existing
            }
            return try Self.insertOccurrence(db, campaignID: campaignID, fire: fire, definitionHash: definitionHash, kind: .audience, params: "{}", at: now)
        }
    }

    public func startOccurrence(_ request: OccurrenceRequest, at now: Date) async throws -> OccurrenceStart {
        let params = Self.encodeParams(request.params)
        // One IMMEDIATE transaction (GRDB's default for writes): a second process asking at the
        // same moment waits for this one and then finds the occurrence it created.
        return try await write { db in
            if request.kind == .audience {
                if request.resumesUnfinished, let unfinished = try Self.unfinishedAudienceOccurrence(db, campaignID: request.campaignID) {
                    return .resumed(unfinished)
                }
                if !request.repeatsFinished, let done = try Self.occurrence(
                    db, where: "campaign_id = ? AND kind = 'audience' AND state = 'planned'", arguments: [request.campaignID],
                    order: "fire_at DESC"
                ) {
                    return .alreadySent(try Self.record(of: done, db))
                }
            }
            // Two sends in the same millisecond (a named-user send right after another) get
            // distinct instants: an occurrence is unique by campaign and instant. The first free
            // one from the send's own instant, which the planner dates the send by.
            let fire = try Self.firstFreeFireInstant(db, campaignID: request.campaignID, from: Self.milliseconds(request.fireAt))
            return .started(try Self.insertOccurrence(
                db, campaignID: request.campaignID, fire: fire, definitionHash: request.definitionHash, kind: request.kind,
                params: params, at: now
            ))
        }
    }

    /// The latest audience occurrence of the campaign that is not done: its planning stopped part
    /// way (or is still running elsewhere), or some of its notifications are still in the outbox.
    static func unfinishedAudienceOccurrence(_ db: Database, campaignID: String) throws -> Occurrence? {
        if let planning = try occurrence(db, where: "campaign_id = ? AND kind = 'audience' AND state = 'planning'", arguments: [campaignID], order: "fire_at DESC") {
            return planning
        }
        // Walk the outbox (small once delivered) rather than every notification of the campaign.
        let waiting = try Int64.fetchOne(db, sql: """
            SELECT o.id FROM outbox x
            JOIN notifications n ON n.id = x.notification_id
            JOIN occurrences o ON o.id = n.occurrence_id
            WHERE n.campaign_id = ? AND o.kind = 'audience'
            ORDER BY o.fire_at DESC LIMIT 1
            """, arguments: [campaignID])
        return try waiting.flatMap { try occurrence(db, where: "id = ?", arguments: [$0]) }
    }

    static func occurrence(_ db: Database, where condition: String, arguments: StatementArguments, order: String = "id") throws -> Occurrence? {
        try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, campaign_id, fire_at, definition_hash, kind, params, state FROM occurrences WHERE \(condition) ORDER BY \(order) LIMIT 1
            """), arguments: arguments).map { row in
            Occurrence(
                id: row[0], campaignID: row[1], fireAt: date(milliseconds: row[2]), definitionHash: row[3],
                kind: Occurrence.Kind(rawValue: row[4]) ?? .audience, params: decodeParams(row[5]), isNew: false,
                isPlanned: (row[6] as String) == "planned"
            )
        }
    }

    /// The first fire instant (milliseconds) at or after `fire` that no occurrence of the
    /// campaign has, a millisecond at a time: for campaign sends and triggers, whose instants
    /// are sparse (a later occurrence, such as a trigger's due days ahead, must not push a send
    /// past it).
    static func firstFreeFireInstant(_ db: Database, campaignID: String, from fire: Int64) throws -> Int64 {
        let taken = try db.cachedStatement(sql: "SELECT 1 FROM occurrences WHERE campaign_id = ? AND fire_at = ?")
        var fire = fire
        while try Bool.fetchOne(taken, arguments: [campaignID, fire]) != nil { fire += 1 }
        return fire
    }

    /// The instant for an API send's occurrence: its own, or just past the latest occurrence of
    /// its `api:` campaign, with one indexed read. An `api:` campaign holds API sends only, each
    /// at or just after its request's instant, so nothing lies far ahead; probing a millisecond
    /// at a time instead made every send of a template wait for all the sends that ran ahead of
    /// the clock, and held the API at about a thousand sends a second. The send's notifications
    /// are due at the request's instant, whatever this one is (``apiSend(_:at:)``).
    static func apiFireInstant(_ db: Database, campaignID: String, from fire: Int64) throws -> Int64 {
        let latest = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(fire_at) FROM occurrences WHERE campaign_id = ? AND fire_at >= ?"), arguments: [campaignID, fire]
        )
        return latest.map { Swift.max(fire, $0 + 1) } ?? fire
    }

    static func insertOccurrence(
        _ db: Database, campaignID: String, fire: Int64, definitionHash: String, kind: Occurrence.Kind, params: String, at now: Date
    ) throws -> Occurrence {
        try db.cachedStatement(sql: """
            INSERT INTO occurrences (campaign_id, fire_at, definition_hash, state, created_at, kind, params) VALUES (?, ?, ?, 'planning', ?, ?, ?)
            """).execute(arguments: [campaignID, fire, definitionHash, now.timeIntervalSince1970, kind.rawValue, params])
        return Occurrence(
            id: db.lastInsertedRowID, campaignID: campaignID, fireAt: date(milliseconds: fire), definitionHash: definitionHash,
            kind: kind, params: decodeParams(params), isNew: true
        )
    }

    /// What an earlier send achieved, counted from its notifications.
    static func record(of occurrence: Occurrence, _ db: Database) throws -> SendRecord {
        let finished = try Double.fetchOne(db, sql: "SELECT finished_at FROM occurrences WHERE id = ?", arguments: [occurrence.id])
        let row = try Row.fetchOne(db, sql: """
            SELECT COUNT(DISTINCT user_id), COUNT(*) FROM notifications WHERE occurrence_id = ? AND state IN ('sent', 'delivered')
            """, arguments: [occurrence.id])
        return SendRecord(
            occurrence: occurrence, finishedAt: finished.map(Date.init(timeIntervalSince1970:)),
            recipients: row?[0] ?? 0, sent: row?[1] ?? 0
        )
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

    public func savePlanned(_ page: PlanningPage, at now: Date) async throws -> PlanSummary {
        let users = page.capHistorySince.map { _ in codec.encode(page.userIDs) }
        return try await write { db in
            let history = try page.capHistorySince.map { try Self.capHistory(db, users: users ?? "[]", since: $0) } ?? [:]
            var decisions = page.decisions(given: history)
            guard let throttle = page.throttle else { return try Self.insertPlanned(decisions, db, at: now) }
            let counts = throttle.usage(of: decisions)
            if throttle.overfills(counts, given: try Self.throttleUsage(db, throttle, intervals: Array(counts.keys))) {
                // Another send of the campaign filled an interval meanwhile: decide again, from
                // the whole ledger as it is now.
                let stored = try Self.throttleUsage(db, throttle, intervals: nil)
                let usage = Dictionary(uniqueKeysWithValues: stored.map { (Date(timeIntervalSince1970: Double($0.key) * throttle.rate.per.seconds), $0.value) })
                decisions = throttle.redecide(usage, history)
            }
            var added: [Int64: Int] = [:]
            let summary = try Self.insertPlanned(decisions, db, at: now) { added[throttle.interval(of: $0), default: 0] += 1 }
            let add = try db.cachedStatement(sql: """
                INSERT INTO throttle_ledger (campaign_id, seconds, interval, used) VALUES (?, ?, ?, ?)
                ON CONFLICT (campaign_id, seconds, interval) DO UPDATE SET used = used + excluded.used
                """)
            for (interval, count) in added {
                try add.execute(arguments: [throttle.campaignID, throttle.rate.per.seconds, interval, count])
            }
            return summary
        }
    }

    public func throttleUsage(campaignID: String, intervalSeconds: Double, since: Date) async throws -> [Date: Int] {
        try await read { db in
            var usage: [Date: Int] = [:]
            let from = Int64((since.timeIntervalSince1970 / intervalSeconds).rounded(.down))
            for row in try Row.fetchAll(db, sql: """
                SELECT interval, used FROM throttle_ledger WHERE campaign_id = ? AND seconds = ? AND interval >= ?
                """, arguments: [campaignID, intervalSeconds, from]) {
                usage[Date(timeIntervalSince1970: Double(row[0] as Int64) * intervalSeconds)] = row[1]
            }
            return usage
        }
    }

    /// The throttle ledger of the campaign: the given intervals, or every one from the
    /// interval of `throttle.since` on.
    static func throttleUsage(_ db: Database, _ throttle: PageThrottle, intervals: [Int64]?) throws -> [Int64: Int] {
        var usage: [Int64: Int] = [:]
        let rows: [Row]
        if let intervals {
            rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT interval, used FROM throttle_ledger
                WHERE campaign_id = ? AND seconds = ? AND interval IN (SELECT value FROM json_each(?))
                """), arguments: [throttle.campaignID, throttle.rate.per.seconds, "[" + intervals.map(String.init).joined(separator: ",") + "]"])
        } else {
            rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT interval, used FROM throttle_ledger WHERE campaign_id = ? AND seconds = ? AND interval >= ?
                """), arguments: [throttle.campaignID, throttle.rate.per.seconds, throttle.interval(of: throttle.since)])
        }
        for row in rows { usage[row[0]] = row[1] }
        return usage
    }

    public func capHistory(of userIDs: [String], since: Date) async throws -> [String: [CapEntry]] {
        let users = codec.encode(userIDs)
        return try await read { db in try Self.capHistory(db, users: users, since: since) }
    }

    public func plannedSendsByInterval(occurrenceID: Int64, intervalSeconds: Double) async throws -> [Date: Int] {
        try await read { db in
            var counts: [Date: Int] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT CAST(due_at / ? AS INTEGER) AS interval, COUNT(*) FROM notifications
                WHERE occurrence_id = ? AND state <> 'skipped' GROUP BY interval
                """, arguments: [intervalSeconds, occurrenceID])
            while let row = try rows.next() {
                counts[Date(timeIntervalSince1970: Double(row[0] as Int64) * intervalSeconds)] = row[1]
            }
            return counts
        }
    }

    /// The cap ledger slots of the users (a JSON array of ids) due at or after `since`.
    static func capHistory(_ db: Database, users: String, since: Date) throws -> [String: [CapEntry]] {
        var history: [String: [CapEntry]] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT l.user_id, l.at, l.channel, l.category, l.campaign_id FROM json_each(?) u
            JOIN cap_ledger l ON l.user_id = u.value AND l.at >= ?
            """, arguments: [users, since.timeIntervalSince1970])
        while let row = try rows.next() {
            guard let channel = Channel(rawValue: row[2]) else { continue }
            history[row[0], default: []].append(CapEntry(at: Date(timeIntervalSince1970: row[1]), channel: channel, category: row[3], campaignID: row[4]))
        }
        return history
    }

    /// Writes decisions: the notification (unless its key exists), its outbox row and cap slot
    /// when it is to be sent, and its event.
    /// - Parameters:
    ///   - planned: called with the due time of each send written (not of skips, nor of keys
    ///     already present).
    ///   - written: called with each notification written, as ``decisions(_:occurrenceID:)``
    ///     would read it back (not with keys already present).
    static func insertPlanned(
        _ batch: [PlannedNotification], _ db: Database, at now: Date, planned sent: (Date) -> Void = { _ in },
        written: (PlanDecision) -> Void = { _ in }
    ) throws -> PlanSummary {
        let notification = try RowWriter(db, sql: """
            INSERT INTO notifications (occurrence_id, campaign_id, category, user_id, channel, device, provider,
                address, content, state, reason, due_at, expires_at, created_at, updated_at, variant)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (occurrence_id, user_id, channel, device) DO NOTHING
            """)
        let outbox = try RowWriter(db, sql: "INSERT INTO outbox (notification_id, channel, provider, due_at) VALUES (?, ?, ?, ?)")
        let event = try RowWriter(db, sql: """
            INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        // Every device of a push decision shares one slot: a cap counts sends, not devices.
        let slot = try RowWriter(db, sql: """
            INSERT OR IGNORE INTO cap_ledger (user_id, at, occurrence_id, channel, category, campaign_id) VALUES (?, ?, ?, ?, ?, ?)
            """)
        let timestamp = now.timeIntervalSince1970
        var summary = PlanSummary()
        for planned in batch {
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
            let due = planned.dueAt.timeIntervalSince1970
            let channel = planned.channel.rawValue
            try notification.run(
                db, planned.occurrenceID, planned.campaignID, planned.category, planned.userID, channel, planned.device, planned.provider,
                planned.address, planned.contentJSON, state.rawValue, reason, due, planned.expiresAt?.timeIntervalSince1970, timestamp,
                timestamp, planned.variant
            )
            guard db.changesCount > 0 else {
                summary.duplicates += 1
                continue
            }
            let id = db.lastInsertedRowID
            if state == .planned {
                sent(planned.dueAt)
                try outbox.run(db, id, channel, planned.provider ?? "", due)
                if planned.category != Campaign.transactionalCategory {
                    try slot.run(db, planned.userID, due, planned.occurrenceID, channel, planned.category, planned.campaignID)
                }
                summary.planned += 1
                if due > timestamp { summary.dueLater += 1 }
            } else {
                summary.skipped += 1
            }
            let type: DeliveryEventType = state == .planned ? .planned : .skipped
            try event.run(db, id, planned.campaignID, channel, type.rawValue, reason, timestamp, detail)
            written(PlanDecision(
                notificationID: id, userID: planned.userID, channel: planned.channel, device: planned.device, state: state, reason: reason,
                detail: state == .skipped ? detail : nil, dueAt: Date(timeIntervalSince1970: due)
            ))
            if let warning = planned.warning {
                try event.run(db, id, planned.campaignID, channel, DeliveryEventType.renderWarning.rawValue, nil as String?, timestamp, warning)
            }
        }
        return summary
    }
}
