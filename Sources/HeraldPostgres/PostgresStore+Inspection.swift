import Foundation
import HeraldCore
import Logging
import PostgresNIO

/// What an operator looks at and does on PostgreSQL (`herald queue`, `herald dead-letter`), and
/// the providers' health the delivery workers write for it: the same figures and changes as on
/// SQLite, from the same tables.
///
/// A snapshot reads in one `REPEATABLE READ` transaction, so that its figures are of one instant
/// as SQLite's one read transaction gives them. A retry or discard locks the notifications it
/// changes (`FOR UPDATE`, in id order) before it looks at their state: of two operators acting
/// at once, the second sees them no longer dead, as with SQLite's single writer.
extension PostgresStore: OutboxInspection {
    public func queueSnapshot(at now: Date) async throws -> QueueSnapshot {
        let timestamp = now.timeIntervalSince1970
        return try await readSnapshot { connection in
            var builder = QueueSnapshot.Builder()
            // The whole outbox is read once (it holds only what is still to send); the figures of
            // each row as SQLite's `queuedSQL` counts them.
            let outbox = try await connection.query("""
                SELECT o.channel, n.provider, COUNT(*),
                    COUNT(*) FILTER (WHERE o.due_at <= \(timestamp) AND (o.lease_until IS NULL OR o.lease_until <= \(timestamp))),
                    COUNT(*) FILTER (WHERE o.lease_until > \(timestamp)),
                    COUNT(*) FILTER (WHERE o.attempts >= 1 AND (o.lease_until IS NULL OR o.lease_until <= \(timestamp))),
                    MIN(o.due_at) FILTER (WHERE o.due_at <= \(timestamp) AND (o.lease_until IS NULL OR o.lease_until <= \(timestamp)))
                FROM outbox o JOIN notifications n ON n.id = o.notification_id
                GROUP BY o.channel, n.provider
                """, logger: logger)
            for try await (channel, provider, queued, due, inFlight, retrying, oldest) in outbox.decode((String, String?, Int, Int, Int, Int, Double?).self) {
                builder.update(channel: channel, provider: provider) { row in
                    row.queued = queued
                    row.dueNow = due
                    row.inFlight = inFlight
                    row.retrying = retrying
                    row.oldestDueAt = oldest.map(Date.init(timeIntervalSince1970:))
                }
            }
            // From the partial index of dead notifications.
            let dead = try await connection.query(
                "SELECT channel, provider, COUNT(*) FROM notifications WHERE state = 'dead' GROUP BY channel, provider", logger: logger
            )
            for try await (channel, provider, count) in dead.decode((String, String?, Int).self) {
                builder.update(channel: channel, provider: provider) { $0.dead = count }
            }
            // Through events_by_type_time: only the last minute is read.
            let sent = try await connection.query("""
                SELECT e.channel, n.provider, COUNT(*) FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type = 'sent' AND e.at > \(timestamp - 60) AND e.at <= \(timestamp)
                GROUP BY e.channel, n.provider
                """, logger: logger)
            for try await (channel, provider, count) in sent.decode((String?, String?, Int).self) {
                guard let channel else { continue }
                builder.update(channel: channel, provider: provider) { $0.sentLastMinute = count }
            }
            builder.apply(try await Self.providerHealth(connection, logger: logger))
            return builder.snapshot(at: now)
        }
    }

    public func deadLetters(matching filter: DeadLetterFilter, limit: Int) async throws -> DeadLetterPage {
        let (condition, bindings) = Self.deadCondition(filter)
        var page = bindings
        page.append(limit)
        return try await readSnapshot { connection in
            var total = 0
            let counted = try await connection.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM notifications WHERE \(condition)", binds: bindings), logger: logger)
            for try await count in counted.decode(Int.self) { total = count }
            var letters: [DeadLetter] = []
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT id, campaign_id, user_id, channel, provider, attempts, reason, updated_at FROM notifications
                WHERE \(condition) ORDER BY id LIMIT $\(page.count)
                """, binds: page), logger: logger)
            for try await (id, campaignID, userID, channelName, provider, attempts, reason, updatedAt) in rows.decode(
                (Int64, String, String, String, String?, Int, String?, Double).self
            ) {
                guard let channel = HeraldCore.Channel(rawValue: channelName) else { continue }
                letters.append(DeadLetter(
                    notificationID: id, campaignID: campaignID, userID: userID, channel: channel, provider: provider, attempts: attempts,
                    reason: reason, deadAt: Date(timeIntervalSince1970: updatedAt)
                ))
            }
            return DeadLetterPage(letters: letters, total: total)
        }
    }

    public func requeueDeadLetters(_ selection: DeadLetterSelection, at now: Date) async throws -> DeadLetterChange {
        try await changeDeadLetters(selection, at: now) { connection, ids, timestamp in
            // The attempt counter starts again, so that the retry policy gives a full set of
            // attempts; the earlier ones stay in the trail.
            try await connection.perform("""
                UPDATE notifications SET state = 'planned', reason = NULL, attempts = 0, requeues = requeues + 1, updated_at = \(timestamp)
                WHERE id = ANY(\(ids))
                """, logger: self.logger)
            try await connection.perform("""
                INSERT INTO outbox (notification_id, channel, provider, due_at, attempts, lease_owner, lease_until)
                SELECT id, channel, COALESCE(provider, ''), \(timestamp), 0, NULL, NULL FROM notifications WHERE id = ANY(\(ids))
                ON CONFLICT (notification_id) DO UPDATE SET due_at = EXCLUDED.due_at, attempts = 0, lease_owner = NULL, lease_until = NULL
                """, logger: self.logger)
            return (DeliveryEventType.requeued, nil, "dead-letter retry by operator")
        }
    }

    public func discardDeadLetters(_ selection: DeadLetterSelection, at now: Date) async throws -> DeadLetterChange {
        try await changeDeadLetters(selection, at: now) { connection, ids, timestamp in
            try await connection.perform("""
                UPDATE notifications SET state = 'failed', reason = 'discarded', updated_at = \(timestamp) WHERE id = ANY(\(ids))
                """, logger: self.logger)
            // A dead notification has no outbox row; one left by an older version goes too.
            try await connection.perform("DELETE FROM outbox WHERE notification_id = ANY(\(ids))", logger: self.logger)
            return (DeliveryEventType.discarded, "discarded", "dead-letter discard by operator")
        }
    }

    /// Locks the selected notifications that are dead now, applies `change` to them (given their
    /// ids and `now`), and appends the event it names for each, in one transaction.
    private func changeDeadLetters(
        _ selection: DeadLetterSelection, at now: Date,
        _ change: @escaping @Sendable (PostgresConnection, [Int64], Double) async throws -> (event: DeliveryEventType, reason: String?, detail: String)
    ) async throws -> DeadLetterChange {
        let timestamp = now.timeIntervalSince1970
        return try await transaction { connection in
            var dead: [Int64] = []
            var notDead: [DeadLetterChange.Unchanged] = []
            switch selection {
            case .ids(let named):
                // Locked first, then read: a notification claimed or requeued meanwhile is seen as
                // it is after that.
                var states: [Int64: String] = [:]
                let rows = try await connection.query(
                    "SELECT id, state FROM notifications WHERE id = ANY(\(named)) ORDER BY id FOR UPDATE", logger: logger
                )
                for try await (id, state) in rows.decode((Int64, String).self) { states[id] = state }
                (dead, notDead) = try DeadLetterChange.sort(named: named, states: states)
            case .all(let filter):
                // FOR UPDATE checks the condition again on a row another transaction changed.
                let (condition, bindings) = Self.deadCondition(filter)
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT id FROM notifications WHERE \(condition) ORDER BY id FOR UPDATE", binds: bindings), logger: logger
                )
                for try await id in rows.decode(Int64.self) { dead.append(id) }
            }
            guard !dead.isEmpty else { return DeadLetterChange(notDead: notDead) }
            let (event, reason, detail) = try await change(connection, dead, timestamp)
            try await connection.perform("""
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                SELECT id, campaign_id, channel, \(event.rawValue), \(reason), \(timestamp), \(detail) FROM notifications WHERE id = ANY(\(dead)) ORDER BY id
                """, logger: logger)
            return DeadLetterChange(changed: dead, notDead: notDead)
        }
    }

    /// The WHERE clause for dead notifications matching `filter`, and its parameters; it uses the
    /// partial index of dead notifications.
    static func deadCondition(_ filter: DeadLetterFilter) -> (String, PostgresBindings) {
        var conditions = ["state = 'dead'"]
        var bindings = PostgresBindings()
        if let channel = filter.channel {
            bindings.append(channel.rawValue)
            conditions.append("channel = $\(bindings.count)")
        }
        if let campaign = filter.campaignID {
            bindings.append(campaign)
            conditions.append("campaign_id = $\(bindings.count)")
        }
        return (conditions.joined(separator: " AND "), bindings)
    }

    public func recordProviderHealth(_ health: ProviderHealth, at now: Date) async throws {
        let timestamp = now.timeIntervalSince1970
        let given = health.openedAt?.timeIntervalSince1970
        let openedAt: Double? = health.breaker == .closed ? nil : given ?? timestamp
        // One statement: two workers recording the same provider at once are applied one after
        // the other, each on the row as the other left it.
        try await perform("""
            INSERT INTO provider_health (provider, channel, breaker, paused_reason, opened_at, updated_at)
            VALUES (\(health.provider), \(health.channel?.rawValue), \(health.breaker.rawValue), \(health.pausedReason), \(openedAt), \(timestamp))
            ON CONFLICT (provider) DO UPDATE SET
                channel = COALESCE(EXCLUDED.channel, provider_health.channel),
                breaker = EXCLUDED.breaker,
                paused_reason = EXCLUDED.paused_reason,
                opened_at = CASE
                    WHEN EXCLUDED.breaker = 'closed' THEN NULL
                    WHEN \(given)::double precision IS NULL AND provider_health.breaker <> 'closed' THEN COALESCE(provider_health.opened_at, EXCLUDED.opened_at)
                    ELSE EXCLUDED.opened_at END,
                updated_at = EXCLUDED.updated_at
            """)
    }

    public func providerHealth() async throws -> [ProviderHealth] {
        try await transaction { connection in try await Self.providerHealth(connection, logger: logger) }
    }

    static func providerHealth(_ connection: PostgresConnection, logger: Logger) async throws -> [ProviderHealth] {
        let rows = try await connection.query("""
            SELECT provider, channel, breaker, paused_reason, opened_at, updated_at FROM provider_health ORDER BY provider
            """, logger: logger)
        var health: [ProviderHealth] = []
        for try await (provider, channel, breaker, pausedReason, openedAt, updatedAt) in rows.decode((String, String?, String, String?, Double?, Double).self) {
            health.append(ProviderHealth(
                provider: provider, channel: channel.flatMap(HeraldCore.Channel.init(rawValue:)), breaker: ProviderHealth.Breaker(stored: breaker),
                pausedReason: pausedReason, openedAt: openedAt.map(Date.init(timeIntervalSince1970:)), updatedAt: Date(timeIntervalSince1970: updatedAt)
            ))
        }
        return health
    }

    public func channelHealth(window: TimeInterval, at now: Date) async throws -> [ChannelHealthSnapshot] {
        let timestamp = now.timeIntervalSince1970
        return try await readSnapshot { connection in
            var snapshots: [HeraldCore.Channel: ChannelHealthSnapshot] = [:]
            func snapshot(_ channel: HeraldCore.Channel) -> ChannelHealthSnapshot {
                snapshots[channel] ?? ChannelHealthSnapshot(channel: channel)
            }
            // Attempts and failures as SQLite's `channelHealth` counts them: a provider's later
            // report about a sent message (a bounce with its name in the detail, a deferral with
            // reason `deferred`) is not an attempt.
            let events = try await connection.query("""
                SELECT channel, COUNT(*), COUNT(*) FILTER (WHERE type <> 'sent'), COUNT(*) FILTER (WHERE type = 'dead') FROM events
                WHERE at > \(timestamp - window)
                    AND (type IN ('sent', 'dead') OR (type = 'retry_scheduled' AND reason IS NULL) OR (type = 'failed' AND detail IS NULL))
                GROUP BY channel
                """, logger: logger)
            for try await (name, attempts, failures, dead) in events.decode((String?, Int, Int, Int).self) {
                guard let channel = HeraldCore.Channel(rawValue: name ?? "") else { continue }
                var health = snapshot(channel)
                health.attempts = attempts
                health.failures = failures
                health.deadLetters = dead
                snapshots[channel] = health
            }
            let oldest = try await connection.query("""
                SELECT channel, MIN(due_at) FROM outbox WHERE due_at <= \(timestamp) AND (lease_until IS NULL OR lease_until <= \(timestamp))
                GROUP BY channel
                """, logger: logger)
            for try await (name, due) in oldest.decode((String, Double?).self) {
                guard let channel = HeraldCore.Channel(rawValue: name), let due else { continue }
                var health = snapshot(channel)
                health.oldestDueAge = timestamp - due
                snapshots[channel] = health
            }
            return HeraldCore.Channel.allCases.map(snapshot)
        }
    }

    /// Runs `body` in one read-only `REPEATABLE READ` transaction: every query in it sees the
    /// database as it was at its first, as a SQLite read transaction does.
    func readSnapshot<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction { connection in
            try await connection.perform("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(connection)
        }
    }
}

/// The alert incidents open across every process on the database, as on SQLite: each call is
/// one statement, atomic on its own, so that of two workers opening (or closing) the same
/// incident at once exactly one is told it did.
extension PostgresStore: AlertIncidentStore {
    public func openIncident(_ alert: Alert) async throws -> Bool {
        // One statement: of two workers seeing it at once, one inserts it; an open incident
        // records that its condition was seen again (`xmax = 0` tells an insert from an update).
        let seen = alert.at.timeIntervalSince1970
        return try await fetch("""
            INSERT INTO alert_incidents (kind, channel, provider, severity, message, started_at, confirmed_at)
            VALUES (\(alert.kind.rawValue), \(alert.channel.rawValue), \(alert.provider ?? ""), \(alert.severity.rawValue), \(alert.message),
                \(alert.startedAt.timeIntervalSince1970), \(seen))
            ON CONFLICT (kind, channel, provider) DO UPDATE
                SET confirmed_at = GREATEST(COALESCE(alert_incidents.confirmed_at, alert_incidents.started_at), excluded.confirmed_at)
            RETURNING xmax = 0
            """) { rows in
            for try await inserted in rows.decode(Bool.self) { return inserted }
            return false
        }
    }

    public func closeIncident(_ key: Alert.Key, unseenSince cutoff: Date, at now: Date) async throws -> Alert? {
        try await fetch("""
            DELETE FROM alert_incidents WHERE kind = \(key.kind.rawValue) AND channel = \(key.channel.rawValue) AND provider = \(key.provider ?? "")
                AND COALESCE(confirmed_at, started_at) <= \(cutoff.timeIntervalSince1970)
            RETURNING kind, channel, provider, severity, message, started_at
            """) { rows in
            var closed: Alert?
            for try await row in rows.decode((String, String, String, String, String, Double).self) { closed = Self.incident(row, at: now) }
            return closed
        }
    }

    public func openIncidents() async throws -> [Alert] {
        try await fetch("""
            SELECT kind, channel, provider, severity, message, started_at FROM alert_incidents
            ORDER BY channel COLLATE "C", kind COLLATE "C", provider COLLATE "C"
            """) { rows in
            var alerts: [Alert] = []
            for try await row in rows.decode((String, String, String, String, String, Double).self) {
                if let alert = Self.incident(row, at: nil) { alerts.append(alert) }
            }
            return alerts
        }
    }

    /// An incident row as the alert that opened it; nil for a kind or channel this version does
    /// not know.
    static func incident(_ row: (String, String, String, String, String, Double), at: Date?) -> Alert? {
        Alert(storedKind: row.0, channel: row.1, provider: row.2, severity: row.3, message: row.4, startedAt: row.5, at: at)
    }
}
