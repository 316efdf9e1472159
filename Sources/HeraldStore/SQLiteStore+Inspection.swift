import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: OutboxInspection {
    public func queueSnapshot(at now: Date) async throws -> QueueSnapshot {
        try await read { db in
            let timestamp = now.timeIntervalSince1970
            var builder = QueueSnapshot.Builder()
            let outbox = try Row.fetchCursor(db, sql: Self.queuedSQL, arguments: ["now": timestamp])
            while let record = try outbox.next() {
                builder.update(channel: record[0], provider: record[1]) { row in
                    row.queued = record[2]
                    row.dueNow = record[3]
                    row.inFlight = record[4]
                    row.retrying = record[5]
                    row.oldestDueAt = (record[6] as Double?).map(Date.init(timeIntervalSince1970:))
                }
            }
            let dead = try Row.fetchCursor(db, sql: Self.deadSQL)
            while let record = try dead.next() {
                builder.update(channel: record[0], provider: record[1]) { $0.dead = record[2] }
            }
            let sent = try Row.fetchCursor(db, sql: Self.sentSQL, arguments: ["since": timestamp - 60, "now": timestamp])
            while let record = try sent.next() {
                builder.update(channel: record[0], provider: record[1]) { $0.sentLastMinute = record[2] }
            }
            builder.apply(try Self.fetchProviderHealth(db))
            return builder.snapshot(at: now)
        }
    }

    /// The outbox figures, by channel and the notifications' provider: every row is counted, so
    /// the whole outbox is read once (it holds only what is still to send).
    static let queuedSQL = """
        SELECT o.channel, n.provider, COUNT(*),
            SUM(o.due_at <= :now AND (o.lease_until IS NULL OR o.lease_until <= :now)),
            SUM(o.lease_until IS NOT NULL AND o.lease_until > :now), -- a NULL lease would make the sum NULL
            SUM(o.attempts >= 1 AND (o.lease_until IS NULL OR o.lease_until <= :now)),
            MIN(CASE WHEN o.due_at <= :now AND (o.lease_until IS NULL OR o.lease_until <= :now) THEN o.due_at END)
        FROM outbox o JOIN notifications n ON n.id = o.notification_id
        GROUP BY o.channel, n.provider
        """

    /// Dead notifications by channel and provider, from the partial index that holds only them.
    static let deadSQL = """
        SELECT channel, provider, COUNT(*) FROM notifications WHERE state = 'dead' GROUP BY channel, provider
        """

    /// Sends in the minute up to `:now`, through the (type, at) index: only that minute is read.
    static let sentSQL = """
        SELECT e.channel, n.provider, COUNT(*) FROM events e JOIN notifications n ON n.id = e.notification_id
        WHERE e.type = 'sent' AND e.at > :since AND e.at <= :now
        GROUP BY e.channel, n.provider
        """

    public func trace(notificationID: Int64) async throws -> NotificationTrace? {
        try await traces(where: "n.id = ?", arguments: [notificationID]).first
    }

    public func traces(userID: String, campaignID: String) async throws -> [NotificationTrace] {
        try await traces(where: "n.user_id = ? AND n.campaign_id = ?", arguments: [userID, campaignID])
    }

    /// The notifications matching `condition` with their trails: one query for the headers and
    /// one for every event of them.
    private func traces(where condition: String, arguments: StatementArguments) async throws -> [NotificationTrace] {
        let codec = self.codec
        return try await read { db in
            var traces = try Row.fetchAll(db, sql: """
                SELECT n.id, n.campaign_id, \(Self.sendInstant), n.user_id, n.channel, n.provider, n.address, n.state, n.reason,
                       n.attempts, n.due_at, ob.due_at, ob.lease_until, n.expires_at, n.provider_message_id
                FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id
                LEFT JOIN outbox ob ON ob.notification_id = n.id
                WHERE \(condition)
                ORDER BY o.fire_at, n.channel, n.id
                """, arguments: arguments).map { row -> NotificationTrace in
                let id: Int64 = row[0]
                guard let channel = Channel(rawValue: row[4]), let state = NotificationState(rawValue: row[7]) else {
                    throw StoreError(.corrupt, "notification \(id) has a channel or state this version does not know")
                }
                func date(_ index: Int) -> Date? { (row[index] as Double?).map(Date.init(timeIntervalSince1970:)) }
                return NotificationTrace(
                    notificationID: id, campaignID: row[1], fireAt: Self.date(milliseconds: row[2]), userID: row[3], channel: channel,
                    provider: row[5], address: row[6], state: state, reason: row[8], attempts: row[9],
                    dueAt: Date(timeIntervalSince1970: row[10]), queuedDueAt: date(11), leaseUntil: date(12), expiresAt: date(13),
                    providerMessageID: row[14], events: []
                )
            }
            guard !traces.isEmpty else { return [] }
            var index: [Int64: Int] = [:]
            for (position, trace) in traces.enumerated() { index[trace.notificationID] = position }
            let events = try Row.fetchCursor(db, sql: """
                SELECT notification_id, type, reason, at, detail FROM events
                WHERE notification_id IN (SELECT value FROM json_each(?))
                ORDER BY notification_id, id
                """, arguments: [codec.encode(traces.map(\.notificationID))])
            while let row = try events.next() {
                guard let position = index[row[0]] else { continue }
                traces[position].events.append(TraceEvent(type: row[1], reason: row[2], at: Date(timeIntervalSince1970: row[3]), detail: row[4]))
            }
            return traces
        }
    }

    public func deadLetters(matching filter: DeadLetterFilter, limit: Int) async throws -> DeadLetterPage {
        try await read { db in
            let (condition, arguments) = Self.deadCondition(filter)
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications WHERE \(condition)", arguments: arguments) ?? 0
            let letters = try Row.fetchAll(db, sql: """
                SELECT id, campaign_id, user_id, channel, provider, attempts, reason, updated_at FROM notifications
                WHERE \(condition) ORDER BY id LIMIT ?
                """, arguments: arguments + [limit]).compactMap { row -> DeadLetter? in
                guard let channel = Channel(rawValue: row[3]) else { return nil }
                return DeadLetter(
                    notificationID: row[0], campaignID: row[1], userID: row[2], channel: channel, provider: row[4],
                    attempts: row[5], reason: row[6], deadAt: Date(timeIntervalSince1970: row[7])
                )
            }
            return DeadLetterPage(letters: letters, total: total)
        }
    }

    public func requeueDeadLetters(_ selection: DeadLetterSelection, at now: Date) async throws -> DeadLetterChange {
        try await changeDeadLetters(selection, at: now) { db, ids, timestamp in
            // The attempt counter starts again, so that the retry policy gives a full set of
            // attempts; the earlier ones stay in the trail.
            try db.execute(sql: """
                UPDATE notifications SET state = 'planned', reason = NULL, attempts = 0, requeues = requeues + 1, updated_at = ?
                WHERE id IN (SELECT value FROM json_each(?))
                """, arguments: [timestamp, ids])
            try db.execute(sql: """
                INSERT INTO outbox (notification_id, channel, provider, due_at, attempts, lease_owner, lease_until)
                SELECT id, channel, COALESCE(provider, ''), ?, 0, NULL, NULL FROM notifications WHERE id IN (SELECT value FROM json_each(?))
                ON CONFLICT (notification_id) DO UPDATE SET due_at = excluded.due_at, attempts = 0, lease_owner = NULL, lease_until = NULL
                """, arguments: [timestamp, ids])
            return (DeliveryEventType.requeued, nil, "dead-letter retry by operator")
        }
    }

    public func discardDeadLetters(_ selection: DeadLetterSelection, at now: Date) async throws -> DeadLetterChange {
        try await changeDeadLetters(selection, at: now) { db, ids, timestamp in
            try db.execute(sql: """
                UPDATE notifications SET state = 'failed', reason = 'discarded', updated_at = ?
                WHERE id IN (SELECT value FROM json_each(?))
                """, arguments: [timestamp, ids])
            // A dead notification has no outbox row; one left by an older version goes too.
            try db.execute(sql: "DELETE FROM outbox WHERE notification_id IN (SELECT value FROM json_each(?))", arguments: [ids])
            return (DeliveryEventType.discarded, "discarded", "dead-letter discard by operator")
        }
    }

    /// Selects the notifications that are dead now, applies `change` to them (given their ids as
    /// a JSON array and `now`), and appends the event it names for each, in one transaction.
    private func changeDeadLetters(
        _ selection: DeadLetterSelection, at now: Date,
        _ change: @escaping @Sendable (Database, String, Double) throws -> (event: DeliveryEventType, reason: String?, detail: String)
    ) async throws -> DeadLetterChange {
        let codec = self.codec
        return try await write { db in
            let timestamp = now.timeIntervalSince1970
            var dead: [Int64]
            var notDead: [DeadLetterChange.Unchanged] = []
            switch selection {
            case .ids(let named):
                var states: [Int64: String] = [:]
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT id, state FROM notifications WHERE id IN (SELECT value FROM json_each(?))
                    """, arguments: [codec.encode(named)])
                while let row = try rows.next() { states[row[0]] = row[1] }
                (dead, notDead) = try DeadLetterChange.sort(named: named, states: states)
            case .all(let filter):
                let (condition, arguments) = Self.deadCondition(filter)
                dead = try Int64.fetchAll(db, sql: "SELECT id FROM notifications WHERE \(condition)", arguments: arguments)
            }
            dead.sort()
            guard !dead.isEmpty else { return DeadLetterChange(notDead: notDead) }
            let ids = codec.encode(dead)
            let (event, reason, detail) = try change(db, ids, timestamp)
            try db.execute(sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                SELECT id, campaign_id, channel, ?, ?, ?, ? FROM notifications WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id
                """, arguments: [event.rawValue, reason, timestamp, detail, ids])
            return DeadLetterChange(changed: dead, notDead: notDead)
        }
    }

    /// The WHERE clause for dead notifications matching `filter`; it uses the partial index of
    /// dead notifications.
    static func deadCondition(_ filter: DeadLetterFilter) -> (String, StatementArguments) {
        var conditions = ["state = 'dead'"]
        var arguments: StatementArguments = []
        if let channel = filter.channel {
            conditions.append("channel = ?")
            arguments += [channel.rawValue]
        }
        if let campaign = filter.campaignID {
            conditions.append("campaign_id = ?")
            arguments += [campaign]
        }
        return (conditions.joined(separator: " AND "), arguments)
    }

    public func recordProviderHealth(_ health: ProviderHealth, at now: Date) async throws {
        try await write { db in
            let timestamp = now.timeIntervalSince1970
            let given = health.openedAt?.timeIntervalSince1970
            let openedAt: Double? = health.breaker == .closed ? nil : given ?? timestamp
            try db.execute(sql: """
                INSERT INTO provider_health (provider, channel, breaker, paused_reason, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (provider) DO UPDATE SET
                    channel = COALESCE(excluded.channel, provider_health.channel),
                    breaker = excluded.breaker,
                    paused_reason = excluded.paused_reason,
                    opened_at = CASE
                        WHEN excluded.breaker = 'closed' THEN NULL
                        WHEN ? IS NULL AND provider_health.breaker <> 'closed' THEN COALESCE(provider_health.opened_at, excluded.opened_at)
                        ELSE excluded.opened_at END,
                    updated_at = excluded.updated_at
                """, arguments: [health.provider, health.channel?.rawValue, health.breaker.rawValue, health.pausedReason, openedAt, timestamp, given])
        }
    }

    public func providerHealth() async throws -> [ProviderHealth] {
        try await read { db in try Self.fetchProviderHealth(db) }
    }

    static func fetchProviderHealth(_ db: Database) throws -> [ProviderHealth] {
        try Row.fetchAll(db, sql: """
            SELECT provider, channel, breaker, paused_reason, opened_at, updated_at FROM provider_health ORDER BY provider
            """).map { row in
            ProviderHealth(
                provider: row[0], channel: (row[1] as String?).flatMap(Channel.init(rawValue:)),
                breaker: ProviderHealth.Breaker(stored: row[2]), pausedReason: row[3],
                openedAt: (row[4] as Double?).map(Date.init(timeIntervalSince1970:)), updatedAt: Date(timeIntervalSince1970: row[5])
            )
        }
    }

    public func channelHealth(window: TimeInterval, at now: Date) async throws -> [ChannelHealthSnapshot] {
        try await read { db in
            let timestamp = now.timeIntervalSince1970
            var snapshots: [Channel: ChannelHealthSnapshot] = [:]
            func snapshot(_ channel: Channel) -> ChannelHealthSnapshot {
                snapshots[channel] ?? ChannelHealthSnapshot(channel: channel, attempts: 0, failures: 0, deadLetters: 0, oldestDueAge: nil, providers: [])
            }
            // An attempt is a send's outcome as the dispatcher recorded it; a failure is one to
            // retry, the last attempt, or a send the provider answered with a permanent failure
            // (a refused message, a dead address): the channel did not carry it. A provider's
            // later report about a sent message (a bounce or drop: `failed` naming the provider
            // in its detail; a deferral: `retry_scheduled` with reason `deferred`) is not an
            // attempt; the dispatcher's `failed` has no detail, its `retry_scheduled` no reason.
            let events = try Row.fetchAll(db, sql: """
                SELECT channel, COUNT(*), SUM(type <> 'sent'), SUM(type = 'dead') FROM events
                WHERE at > ? AND (type IN ('sent', 'dead') OR (type = 'retry_scheduled' AND reason IS NULL) OR (type = 'failed' AND detail IS NULL))
                GROUP BY channel
                """, arguments: [timestamp - window])
            for row in events {
                guard let channel = Channel(rawValue: row[0] ?? "") else { continue }
                var health = snapshot(channel)
                health.attempts = row[1]
                health.failures = row[2] ?? 0
                health.deadLetters = row[3] ?? 0
                snapshots[channel] = health
            }
            let oldest = try Row.fetchAll(db, sql: """
                SELECT channel, MIN(due_at) FROM outbox WHERE due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) GROUP BY channel
                """, arguments: [timestamp, timestamp])
            for row in oldest {
                guard let channel = Channel(rawValue: row[0] ?? ""), let due: Double = row[1] else { continue }
                var health = snapshot(channel)
                health.oldestDueAge = timestamp - due
                snapshots[channel] = health
            }
            return Channel.allCases.map(snapshot)
        }
    }
}

extension SQLiteStore {
    /// Outbox rows whose notification was due when it was planned: neither quiet hours nor a
    /// schedule hold it back, so it is waiting only for a retry, a provider's cool-down or a
    /// claim given back (`herald demo` delivers those before it reports).
    public func waitingSincePlanning() async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM outbox o JOIN notifications n ON n.id = o.notification_id WHERE n.due_at <= n.created_at
                """) ?? 0
        }
    }
}
