import Foundation
import HeraldCore
import Logging
import PostgresNIO

/// The outbox role on PostgreSQL, for dispatchers in several processes on one database.
///
/// A claim picks its rows with `FOR UPDATE SKIP LOCKED`: a row another claim is taking is
/// passed over rather than waited for, and a row another claim has just taken is seen with its
/// new lease and left alone, so no row is ever handed to two owners. Outcomes and releases lock
/// the rows they name (`FOR UPDATE`) and change only a claim still held, as on SQLite.
extension PostgresStore {
    public func claim(
        channel: HeraldCore.Channel, providers: ProviderSelection, limit: Int, leaseOwner: String, lease: Duration, throttles: [String: RateLiteral],
        at now: Date
    ) async throws -> [ClaimedNotification] {
        let timestamp = now.timeIntervalSince1970
        let leaseUntil = now.addingTimeInterval(lease.timeInterval).timeIntervalSince1970
        var bindings = PostgresBindings()
        bindings.append(leaseOwner)
        bindings.append(leaseUntil)
        bindings.append(channel.rawValue)
        bindings.append(timestamp)
        bindings.append(limit)
        let providerClause = Self.providerFilter(providers, bindings: &bindings)
        // A row with a lease that ran out (`lease_until` set, no outcome: a crash) repeats the
        // same attempt; any other row starts the next one. SET reads the row as it was.
        let take = """
            UPDATE outbox o SET lease_owner = $1, lease_until = $2,
                attempts = o.attempts + CASE WHEN o.lease_until IS NULL THEN 1 ELSE 0 END, claims = o.claims + 1
            """
        /// The due rows in due order, but for those of `excluded` campaigns.
        func claimDue(excluding excluded: [String]) -> PostgresQuery {
            var bindings = bindings
            var exclusion = ""
            if !excluded.isEmpty {
                bindings.append(excluded)
                exclusion = """
                     AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = outbox.notification_id AND n.campaign_id = ANY($\(bindings.count)))
                    """
            }
            return PostgresQuery(unsafeSQL: """
                \(take)
                FROM (
                    SELECT notification_id FROM outbox
                    WHERE channel = $3\(providerClause) AND due_at <= $4 AND (lease_until IS NULL OR lease_until <= $4)\(exclusion)
                    ORDER BY due_at, notification_id LIMIT $5
                    FOR UPDATE SKIP LOCKED
                ) picked
                WHERE o.notification_id = picked.notification_id
                RETURNING o.notification_id, o.attempts, o.claims
                """, binds: bindings)
        }
        return try await transaction { connection in
            var claimRows = claimDue(excluding: [])
            if !throttles.isEmpty {
                // Only the throttles of campaigns with rows waiting on this channel need the
                // throttled claim, which reads, locks and writes their send ledgers. A throttled
                // campaign seen idle here may have rows planned before the claim below runs (each
                // statement sees what has committed by its start): its rows are left out of this
                // claim, and the next one sees the campaign in play.
                let inPlay = try await Self.throttlesInPlay(connection, throttles, channel: channel, logger: logger)
                let idle = throttles.keys.filter { inPlay[$0] == nil }.sorted()
                if inPlay.isEmpty {
                    claimRows = claimDue(excluding: idle)
                } else {
                    let picked = try await pickThrottled(
                        connection, channel: channel, providers: providers, limit: limit, throttles: inPlay, excluding: idle, at: now
                    )
                    guard !picked.isEmpty else { return [] }
                    var bindings = PostgresBindings()
                    bindings.append(leaseOwner)
                    bindings.append(leaseUntil)
                    bindings.append(picked)
                    claimRows = PostgresQuery(unsafeSQL: "\(take) WHERE o.notification_id = ANY($3) RETURNING o.notification_id, o.attempts, o.claims", binds: bindings)
                }
            }
            var ids: [Int64] = []
            var attempts: [Int64] = []
            var claimNumbers: [Int64: Int] = [:]
            for try await (id, attempt, claims) in try await connection.query(claimRows, logger: logger).decode((Int64, Int64, Int).self) {
                ids.append(id)
                attempts.append(attempt)
                claimNumbers[id] = claims
            }
            guard !ids.isEmpty else { return [] }
            // The notifications as they were (a `sending` one was in flight at a crash), marked
            // `sending` with their attempt, and an event each, in one statement: every part of it
            // reads the rows as they were before it.
            let details = try await connection.query("""
                WITH claimed AS (SELECT * FROM unnest(\(ids)::bigint[], \(attempts)::bigint[]) AS c(id, attempt)),
                old AS (
                    SELECT n.id, n.device, n.campaign_id, n.user_id, n.provider, n.address, n.content, n.category, n.due_at, n.state,
                        d.subscription, d.active, n.occurrence_id, n.expires_at, n.requeues, c.attempt
                    FROM notifications n JOIN claimed c ON c.id = n.id
                    LEFT JOIN LATERAL (
                        SELECT subscription, active FROM devices
                        WHERE n.channel = 'push' AND devices.user_id = n.user_id AND devices.address = n.address
                        ORDER BY active DESC LIMIT 1
                    ) d ON TRUE
                ),
                marked AS (
                    UPDATE notifications n SET state = 'sending', attempts = c.attempt, updated_at = \(timestamp) FROM claimed c WHERE n.id = c.id
                ),
                trail AS (
                    INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                    SELECT id, campaign_id, \(channel.rawValue),
                        CASE WHEN state = \(NotificationState.sending.rawValue) THEN \(DeliveryEventType.reclaimed.rawValue) ELSE \(DeliveryEventType.sending.rawValue) END,
                        NULL, \(timestamp), 'attempt ' || attempt
                    FROM old ORDER BY due_at, id
                )
                SELECT id, device, campaign_id, user_id, provider, address, content, category, due_at, state,
                    subscription, active, occurrence_id, expires_at, requeues, attempt
                FROM old ORDER BY due_at, id
                """, logger: logger)
            var rows: [ClaimRow] = []
            for try await row in details.decode(
                (Int64, String, String, String, String?, String?, String?, String, Double, String, String?, Bool?, Int64, Double?, Int, Int64).self
            ) {
                rows.append(ClaimRow(row))
            }
            let userIDs = Array(Set(rows.map(\.userID)))
            var preferences: [String: Preferences] = [:]
            for try await (userID, key, optedIn) in try await connection.query(
                "SELECT user_id, key, opted_in FROM preferences WHERE user_id = ANY(\(userIDs))", logger: logger
            ).decode((String, String, Bool).self) {
                preferences[userID, default: Preferences()][key] = optedIn
            }
            return try rows.map { row in
                guard let content = row.content.flatMap(NotificationContent.init(jsonText:)) else {
                    throw StoreError(.corrupt, "notification \(row.id) has content that cannot be read")
                }
                let attempt = Int(row.attempt)
                // A push device switched off after planning (dead token) has no address any more.
                let deviceActive = row.deviceActive ?? true
                let message = OutboundMessage(
                    notificationID: row.id, occurrenceID: row.occurrenceID, campaignID: row.campaignID, userID: row.userID,
                    channel: channel, category: row.category, provider: row.provider ?? "", address: deviceActive ? (row.address ?? "") : "",
                    subscription: row.subscription.flatMap(WebPushSubscription.init(jsonText:)), content: content, attempt: attempt,
                    expiresAt: row.expiresAt.map(Date.init(timeIntervalSince1970:)),
                    idempotencyID: OutboundMessage.idempotencyID(
                        notificationID: row.id, attempt: attempt, campaignID: row.campaignID, userID: row.userID, round: row.requeues
                    )
                )
                return ClaimedNotification(
                    message: message, category: row.category, dueAt: Date(timeIntervalSince1970: row.dueAt),
                    preferences: preferences[row.userID] ?? Preferences(), wasInFlight: row.state == NotificationState.sending.rawValue,
                    leaseOwner: leaseOwner, claimNumber: claimNumbers[row.id] ?? 0
                )
            }
        }
    }

    public func resolve(_ results: [(ClaimedNotification, DeliveryResolution)], at now: Date) async throws {
        guard !results.isEmpty else { return }
        let timestamp = now.timeIntervalSince1970
        try await transaction { connection in
            var held = try await lockHeldClaims(results.map(\.0), connection)
            var events: [EventRow] = []
            var finished: [FinishRow] = []
            var removed: [Int64] = []
            var rescheduled: (ids: [Int64], due: [Double]) = ([], [])
            var postponed: (ids: [Int64], due: [Double]) = ([], [])
            var deactivated: (users: [String], addresses: [String]) = ([], [])
            var optedOut: [String: Set<String>] = [:]
            for (claimed, resolution) in results {
                let message = claimed.message
                let id = message.notificationID
                func event(_ type: DeliveryEventType, reason: String? = nil, _ detail: String?) {
                    events.append(EventRow(
                        ord: events.count, notificationID: id, campaignID: message.campaignID, channel: message.channel.rawValue,
                        type: type.rawValue, reason: reason, detail: detail
                    ))
                }
                // Another dispatcher took the row over after this claim's lease ran out (or it was
                // resolved already, also earlier in this batch): the outcome is kept in the trail
                // but changes nothing, so the current holder's outcome stands.
                // The providers passed over come first in the trail, whatever the outcome's fate.
                for failover in claimed.failovers { event(.failedOver, failover) }
                guard held.remove(Claim(claimed)) != nil else {
                    event(.lateOutcome, "attempt \(message.attempt) by \(claimed.leaseOwner): \(resolution)")
                    continue
                }
                let state: NotificationState
                let type: DeliveryEventType
                var reason: String?
                var detail: String?
                var provider: String?
                var providerMessageID: String?
                switch resolution {
                case .sent(let messageID, let carrier):
                    (state, type, provider, providerMessageID) = (.sent, .sent, carrier, messageID)
                case .retry(let at, let why):
                    (state, type, detail) = (.planned, .retryScheduled, why)
                    rescheduled.ids.append(id)
                    rescheduled.due.append(at.timeIntervalSince1970)
                case .failed(let why, let deactivateAddress):
                    (state, type, reason) = (.failed, .failed, why)
                    if deactivateAddress, message.channel == .push {
                        deactivated.users.append(message.userID)
                        deactivated.addresses.append(message.address)
                    }
                case .dead(let why):
                    (state, type, reason) = (.dead, .dead, why)
                case .skipped(let skipReason, let why):
                    (state, type, reason, detail) = (.skipped, .skipped, skipReason.rawValue, why)
                case .postponed(let at, let why):
                    (state, type, detail) = (.planned, .postponed, why)
                    postponed.ids.append(id)
                    postponed.due.append(at.timeIntervalSince1970)
                case .optedOutAtProvider(let why):
                    (state, type, reason, detail) = (.skipped, .skipped, SkipReason.optedOut.rawValue, why)
                    optedOut[message.userID, default: []].insert(message.channel.rawValue)
                    event(.unsubscribed, "\(message.channel.rawValue) opt-out reported by \(message.provider): \(why)")
                }
                if state != .planned { removed.append(id) }
                finished.append(FinishRow(id: id, state: state.rawValue, reason: reason, provider: provider, messageID: providerMessageID))
                event(type, reason: reason, detail ?? provider)
            }
            if !rescheduled.ids.isEmpty {
                try await connection.perform("""
                    UPDATE outbox o SET due_at = r.due, lease_owner = NULL, lease_until = NULL
                    FROM unnest(\(rescheduled.ids)::bigint[], \(rescheduled.due)::double precision[]) AS r(id, due) WHERE o.notification_id = r.id
                    """, logger: logger)
            }
            if !postponed.ids.isEmpty {
                // The attempt does not count: the message was not at fault.
                try await connection.perform("""
                    UPDATE outbox o SET due_at = r.due, lease_owner = NULL, lease_until = NULL, attempts = GREATEST(o.attempts - 1, 0)
                    FROM unnest(\(postponed.ids)::bigint[], \(postponed.due)::double precision[]) AS r(id, due) WHERE o.notification_id = r.id
                    """, logger: logger)
                // The claim counted it on the notification too (as a release never handed over).
                try await connection.perform(
                    "UPDATE notifications SET attempts = GREATEST(attempts - 1, 0) WHERE id = ANY(\(postponed.ids))", logger: logger
                )
            }
            if !deactivated.users.isEmpty {
                // In one order, as the opt-outs below: fewer chances to deadlock with an import.
                let pairs = zip(deactivated.users, deactivated.addresses).sorted { ($0.0, $0.1) < ($1.0, $1.1) }
                deactivated = (pairs.map(\.0), pairs.map(\.1))
                try await connection.perform("""
                    UPDATE devices d SET active = FALSE FROM unnest(\(deactivated.users)::text[], \(deactivated.addresses)::text[]) AS x(user_id, address)
                    WHERE d.user_id = x.user_id AND d.address = x.address
                    """, logger: logger)
            }
            if !optedOut.isEmpty {
                let pairs = optedOut.sorted { $0.key < $1.key }.flatMap { user, keys in keys.sorted().map { (user, $0) } }
                try await connection.perform("""
                    INSERT INTO preferences (user_id, key, opted_in, updated_at)
                    SELECT x.user_id, x.key, FALSE, \(timestamp) FROM unnest(\(pairs.map(\.0))::text[], \(pairs.map(\.1))::text[]) AS x(user_id, key)
                    ON CONFLICT (user_id, key) DO UPDATE SET opted_in = FALSE, updated_at = EXCLUDED.updated_at WHERE preferences.opted_in
                    """, logger: logger)
            }
            if !removed.isEmpty {
                try await connection.perform("DELETE FROM outbox WHERE notification_id = ANY(\(removed))", logger: logger)
            }
            if !finished.isEmpty {
                // A provider's webhook can overtake the outcome (SendGrid names the notification in
                // its events): what it said (delivered, or bounced) is further along than `sent`
                // and is kept.
                let json = String(decoding: try JSONEncoder().encode(finished), as: UTF8.self)
                try await connection.perform("""
                    UPDATE notifications n SET
                        state = CASE WHEN f.state = 'sent' AND n.state IN ('delivered', 'failed') THEN n.state ELSE f.state END,
                        reason = CASE WHEN f.state = 'sent' AND n.state IN ('delivered', 'failed') THEN n.reason ELSE f.reason END,
                        provider = COALESCE(f.provider, n.provider), provider_message_id = COALESCE(f.message_id, n.provider_message_id),
                        updated_at = \(timestamp)
                    FROM jsonb_to_recordset(\(json)::jsonb) AS f(id bigint, state text, reason text, provider text, message_id text)
                    WHERE n.id = f.id
                    """, logger: logger)
            }
            try await insertEvents(events, at: timestamp, connection)
        }
    }

    public func leases(channel: HeraldCore.Channel, at now: Date) async throws -> (count: Int, until: Date?) {
        let timestamp = now.timeIntervalSince1970
        return try await fetch("""
            SELECT COUNT(*), MAX(lease_until) FROM outbox WHERE channel = \(channel.rawValue) AND due_at <= \(timestamp) AND lease_until > \(timestamp)
            """) { rows in
            for try await (count, until) in rows.decode((Int, Double?).self) {
                return (count, until.map(Date.init(timeIntervalSince1970:)))
            }
            return (0, nil)
        }
    }

    public func releaseLeases(at now: Date) async throws -> Int {
        let timestamp = now.timeIntervalSince1970
        // The rows locked in id order, as outcomes lock theirs, so that the two wait rather than
        // deadlock.
        return try await fetch("""
            WITH leased AS (SELECT notification_id FROM outbox WHERE lease_until > \(timestamp) ORDER BY notification_id FOR UPDATE),
            ended AS (UPDATE outbox o SET lease_until = \(timestamp) FROM leased WHERE o.notification_id = leased.notification_id RETURNING 1)
            SELECT COUNT(*) FROM ended
            """) { rows in
            for try await count in rows.decode(Int.self) { return count }
            return 0
        }
    }

    public func nextDue(channel: HeraldCore.Channel, providers: ProviderSelection) async throws -> Date? {
        var bindings = PostgresBindings()
        bindings.append(channel.rawValue)
        let providerClause = Self.providerFilter(providers, bindings: &bindings)
        return try await fetch(PostgresQuery(unsafeSQL: "SELECT MIN(due_at) FROM outbox WHERE channel = $1\(providerClause)", binds: bindings)) { rows in
            for try await due in rows.decode(Double?.self) { return due.map(Date.init(timeIntervalSince1970:)) }
            return nil
        }
    }

    public func nextClaimable(
        channel: HeraldCore.Channel, providers: ProviderSelection, throttles: [String: RateLiteral], at now: Date
    ) async throws -> NextClaimable {
        let timestamp = now.timeIntervalSince1970
        let campaigns = throttles.keys.sorted()
        var entries: [String: SendLedger.Entry] = [:]
        if !campaigns.isEmpty {
            entries = try await fetch(Self.sendLedgerQuery(campaigns, lock: "")) { rows in try await Self.sendLedgerEntries(rows) }
        }
        let ledger = SendLedger(throttles: throttles, entries: entries, at: now)
        let full = ledger.full
        var bindings = PostgresBindings()
        bindings.append(channel.rawValue)
        bindings.append(timestamp)
        let providerClause = Self.providerFilter(providers, bindings: &bindings, table: "o")
        // Rows leased to a dispatcher are its to finish (a lease that runs out is seen at the
        // next idle poll): counting them would wake this lane for nothing, again and again.
        let lane = "o.channel = $1\(providerClause) AND (o.lease_until IS NULL OR o.lease_until <= $2)"
        let first = { (query: PostgresQuery) in
            try await self.fetch(query) { rows in
                for try await due in rows.decode(Double.self) { return Optional(due) }
                return nil
            }
        }
        guard !full.isEmpty else {
            let due = try await first(PostgresQuery(unsafeSQL: "SELECT o.due_at FROM outbox o WHERE \(lane) ORDER BY o.due_at LIMIT 1", binds: bindings))
            return NextClaimable(at: due.map(Date.init(timeIntervalSince1970:)), isHeldBack: false)
        }
        bindings.append(full)
        let fullCampaigns = "$\(bindings.count)"
        let open = try await first(PostgresQuery(unsafeSQL: """
            SELECT o.due_at FROM outbox o JOIN notifications n ON n.id = o.notification_id
            WHERE \(lane) AND n.campaign_id <> ALL(\(fullCampaigns)) ORDER BY o.due_at LIMIT 1
            """, binds: bindings))
        let isHeldBack = try await fetch(PostgresQuery(unsafeSQL: """
            SELECT EXISTS (SELECT 1 FROM outbox o JOIN notifications n ON n.id = o.notification_id
                WHERE \(lane) AND o.due_at <= $2 AND n.campaign_id = ANY(\(fullCampaigns)))
            """, binds: bindings)) { rows in
            for try await exists in rows.decode(Bool.self) { return exists }
            return false
        }
        let at = [open.map(Date.init(timeIntervalSince1970:)), ledger.nextRoom].compactMap { $0 }.min()
        return NextClaimable(at: at, isHeldBack: isHeldBack)
    }

    /// The due, unleased rows of a lane that a throttled claim takes, in due order, at most
    /// `limit`, locked for the caller to claim in the same transaction: every row of a campaign
    /// without a throttle, and a campaign's rows while its send ledger has room; none of the
    /// `excluded` campaigns' (throttled ones seen idle). The ledger rows of the campaigns taken
    /// from are locked, counted and written here.
    ///
    /// Locks: the rows are picked `FOR UPDATE SKIP LOCKED` (never waited for); the ledger rows
    /// of the throttled campaigns among them are then locked in campaign order, waited for in
    /// the first pass (so that two claims wait for each other in one order only), passed over
    /// in a later one (the claim then leaves that campaign to the claim counting it).
    func pickThrottled(
        _ connection: PostgresConnection, channel: HeraldCore.Channel, providers: ProviderSelection, limit: Int, throttles: [String: RateLiteral],
        excluding excluded: [String] = [], at now: Date
    ) async throws -> [Int64] {
        let timestamp = now.timeIntervalSince1970
        let campaigns = throttles.keys.sorted()
        // Every throttled campaign has its ledger row before any is locked, inserted in campaign
        // order (an insert waits only for another claim inserting the same row).
        try await connection.perform("""
            INSERT INTO send_ledger (campaign_id, slot_seconds, slot, used)
            SELECT c, 0, 0, 0 FROM unnest(\(campaigns)::text[]) AS c ORDER BY c
            ON CONFLICT (campaign_id) DO NOTHING
            """, logger: logger)
        let snapshot = try await Self.sendLedgerEntries(try await connection.query(Self.sendLedgerQuery(campaigns, lock: ""), logger: logger))
        var ledger = SendLedger(throttles: throttles, entries: snapshot, at: now)
        var locked = Set<String>()
        var picked: [Int64] = []
        var pass = 0
        while picked.count < limit {
            pass += 1
            var bindings = PostgresBindings()
            bindings.append(channel.rawValue)
            bindings.append(timestamp)
            bindings.append(ledger.full + excluded)
            bindings.append(picked)
            bindings.append(limit - picked.count)
            let providerClause = Self.providerFilter(providers, bindings: &bindings, table: "o")
            var rows: [(id: Int64, campaign: String, expiresAt: Double?)] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT o.notification_id, n.campaign_id, n.expires_at FROM outbox o JOIN notifications n ON n.id = o.notification_id
                WHERE o.channel = $1\(providerClause) AND o.due_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2)
                    AND n.campaign_id <> ALL($3) AND o.notification_id <> ALL($4)
                ORDER BY o.due_at, o.notification_id LIMIT $5
                FOR UPDATE OF o SKIP LOCKED
                """, binds: bindings), logger: logger).decode((Int64, String, Double?).self) {
                rows.append(row)
            }
            let fresh = Set(rows.map(\.campaign)).filter { throttles[$0] != nil && !locked.contains($0) }.sorted()
            if !fresh.isEmpty {
                let lock = pass == 1 ? "FOR UPDATE" : "FOR UPDATE SKIP LOCKED"
                let entries = try await Self.sendLedgerEntries(try await connection.query(Self.sendLedgerQuery(fresh, lock: lock), logger: logger))
                ledger.update(entries)
                for campaign in fresh {
                    if entries[campaign] != nil { locked.insert(campaign) } else { ledger.withhold(campaign) }
                }
            }
            var heldBack = false
            for row in rows where picked.count < limit {
                let isExpired = row.expiresAt.map { $0 <= timestamp } ?? false
                if ledger.take(row.campaign, isExpired: isExpired) { picked.append(row.id) } else { heldBack = true }
            }
            guard heldBack else { break }
        }
        let changes = ledger.changes.sorted { $0.key < $1.key }
        if !changes.isEmpty {
            try await connection.perform("""
                UPDATE send_ledger l SET slot_seconds = x.s, slot = x.k, used = x.u
                FROM unnest(\(changes.map(\.key))::text[], \(changes.map(\.value.slotSeconds))::double precision[],
                    \(changes.map(\.value.slot))::bigint[], \(changes.map { Int64($0.value.used) })::bigint[]) AS x(c, s, k, u)
                WHERE l.campaign_id = x.c
                """, logger: logger)
        }
        return picked
    }

    /// The throttles of campaigns with notifications waiting or in flight on `channel` (as
    /// SQLite's `throttlesInPlay`): only their rows need the throttled claim.
    static func throttlesInPlay(
        _ connection: PostgresConnection, _ throttles: [String: RateLiteral], channel: HeraldCore.Channel, logger: Logger
    ) async throws -> [String: RateLiteral] {
        let campaigns = throttles.keys.sorted()
        var waiting = Set<String>()
        for try await campaign in try await connection.query("""
            SELECT c FROM unnest(\(campaigns)::text[]) AS c
            WHERE EXISTS (SELECT 1 FROM notifications WHERE campaign_id = c AND channel = \(channel.rawValue) AND state IN ('planned', 'sending'))
            """, logger: logger).decode(String.self) {
            waiting.insert(campaign)
        }
        return throttles.filter { waiting.contains($0.key) }
    }

    /// The send ledger rows of `campaigns` in campaign order, with `lock` (`FOR UPDATE`…) or none.
    static func sendLedgerQuery(_ campaigns: [String], lock: String) -> PostgresQuery {
        var bindings = PostgresBindings()
        bindings.append(campaigns)
        return PostgresQuery(unsafeSQL: """
            SELECT campaign_id, slot_seconds, slot, used FROM send_ledger WHERE campaign_id = ANY($1) ORDER BY campaign_id \(lock)
            """, binds: bindings)
    }

    /// The entries a ``sendLedgerQuery(_:lock:)`` returned, by campaign.
    static func sendLedgerEntries(_ rows: PostgresRowSequence) async throws -> [String: SendLedger.Entry] {
        var entries: [String: SendLedger.Entry] = [:]
        for try await (campaign, seconds, slot, used) in rows.decode((String, Double, Int64, Int64).self) {
            entries[campaign] = SendLedger.Entry(slotSeconds: seconds, slot: slot, used: Int(used))
        }
        return entries
    }

    /// Rows another transaction holds at this moment (a resolve or release of the same claims)
    /// are passed over, not waited for: the dispatcher renews while its outcomes are recorded, and
    /// waiting there could deadlock with them; such a row is resolved, or renewed next time.
    public func renewLeases(of notificationIDs: [Int64], owner: String, lease: Duration, at now: Date) async throws -> Set<Int64> {
        guard !notificationIDs.isEmpty else { return [] }
        let until = now.addingTimeInterval(lease.timeInterval).timeIntervalSince1970
        return try await fetch("""
            WITH held AS (
                SELECT notification_id FROM outbox
                WHERE notification_id = ANY(\(notificationIDs)) AND lease_owner = \(owner) AND lease_until > \(now.timeIntervalSince1970)
                ORDER BY notification_id FOR UPDATE SKIP LOCKED),
            renewed AS (
                UPDATE outbox o SET lease_until = GREATEST(o.lease_until, \(until)) FROM held WHERE o.notification_id = held.notification_id RETURNING o.notification_id)
            SELECT notification_id FROM renewed
            """) { rows in
            var renewed = Set<Int64>()
            for try await id in rows.decode(Int64.self) { renewed.insert(id) }
            return renewed
        }
    }

    public func release(_ claimed: [ClaimedNotification], wasHandedOver: Bool, at now: Date) async throws {
        guard !claimed.isEmpty else { return }
        let timestamp = now.timeIntervalSince1970
        try await transaction { connection in
            let held = try await lockHeldClaims(claimed, connection)
            var done = Set<Claim>()
            let released = claimed.filter { held.contains(Claim($0)) && done.insert(Claim($0)).inserted }
            guard !released.isEmpty else { return }
            let ids = released.map(\.message.notificationID)
            let detail: (OutboundMessage) -> String
            if wasHandedOver {
                // Perhaps at the provider: the lease ends now, so that the next claim repeats the
                // attempt (same idempotency id) as a reclaimed send.
                try await connection.perform("UPDATE outbox SET lease_until = \(timestamp) WHERE notification_id = ANY(\(ids))", logger: logger)
                detail = { "attempt \($0.attempt) stopped without an outcome at shutdown; it is repeated with the same idempotency id" }
            } else {
                // Never handed to a provider: free at once, and the attempt is given back.
                try await connection.perform("""
                    UPDATE outbox SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 WHERE notification_id = ANY(\(ids))
                    """, logger: logger)
                try await connection.perform("""
                    UPDATE notifications SET state = 'planned', attempts = attempts - 1, updated_at = \(timestamp) WHERE id = ANY(\(ids))
                    """, logger: logger)
                detail = { "claimed but not sent before shutdown; attempt \($0.attempt) not counted" }
            }
            let events = released.enumerated().map { ord, item in
                EventRow(
                    ord: ord, notificationID: item.message.notificationID, campaignID: item.message.campaignID,
                    channel: item.message.channel.rawValue, type: DeliveryEventType.released.rawValue, reason: nil, detail: detail(item.message)
                )
            }
            try await insertEvents(events, at: timestamp, connection)
        }
    }

    // MARK: - Helpers

    /// One claim: the row, its owner, and how many times the row had been claimed.
    struct Claim: Hashable {
        var notificationID: Int64
        var owner: String
        var claimNumber: Int

        init(_ claimed: ClaimedNotification) {
            self.init(notificationID: claimed.message.notificationID, owner: claimed.leaseOwner, claimNumber: claimed.claimNumber)
        }

        init(notificationID: Int64, owner: String, claimNumber: Int) {
            self.notificationID = notificationID
            self.owner = owner
            self.claimNumber = claimNumber
        }
    }

    /// Which of the claims still hold their rows, the rows locked until the transaction ends (a
    /// claim taking one over at this moment waits, or passes it by).
    func lockHeldClaims(_ claimed: [ClaimedNotification], _ connection: PostgresConnection) async throws -> Set<Claim> {
        let ids = claimed.map(\.message.notificationID)
        let owners = claimed.map(\.leaseOwner)
        let numbers = claimed.map { Int64($0.claimNumber) }
        var held = Set<Claim>()
        for try await (id, owner, number) in try await connection.query("""
            SELECT o.notification_id, o.lease_owner, o.claims FROM outbox o
            JOIN unnest(\(ids)::bigint[], \(owners)::text[], \(numbers)::bigint[]) AS c(id, owner, claims)
                ON o.notification_id = c.id AND o.lease_owner = c.owner AND o.claims = c.claims
            ORDER BY o.notification_id
            FOR UPDATE OF o
            """, logger: logger).decode((Int64, String, Int).self) {
            held.insert(Claim(notificationID: id, owner: owner, claimNumber: number))
        }
        return held
    }

    /// One event as `jsonb_to_recordset` reads it; `ord` keeps the trail in the order written.
    struct EventRow: Encodable {
        var ord: Int
        var notificationID: Int64
        var campaignID: String
        var channel: String
        var type: String
        var reason: String?
        var detail: String?

        enum CodingKeys: String, CodingKey {
            case ord, channel, type, reason, detail
            case notificationID = "notification_id", campaignID = "campaign_id"
        }
    }

    /// A notification's outcome as `jsonb_to_recordset` reads it.
    struct FinishRow: Encodable {
        var id: Int64
        var state: String
        var reason: String?
        var provider: String?
        var messageID: String?

        enum CodingKeys: String, CodingKey {
            case id, state, reason, provider
            case messageID = "message_id"
        }
    }

    /// Appends events in one statement, in their `ord` order.
    func insertEvents(_ events: [EventRow], at timestamp: Double, _ connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        let json = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
        try await connection.perform("""
            INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
            SELECT notification_id, campaign_id, channel, type, reason, \(timestamp), detail
            FROM jsonb_to_recordset(\(json)::jsonb) AS e(ord integer, notification_id bigint, campaign_id text, channel text, type text, reason text, detail text)
            ORDER BY ord
            """, logger: logger)
    }

    /// A claimed row as the claim reads it.
    struct ClaimRow {
        var id: Int64
        var device: String
        var campaignID: String
        var userID: String
        var provider: String?
        var address: String?
        var content: String?
        var category: String
        var dueAt: Double
        var state: String
        var subscription: String?
        var deviceActive: Bool?
        var occurrenceID: Int64
        var expiresAt: Double?
        var requeues: Int
        var attempt: Int64

        init(_ row: (Int64, String, String, String, String?, String?, String?, String, Double, String, String?, Bool?, Int64, Double?, Int, Int64)) {
            (id, device, campaignID, userID, provider, address, content, category, dueAt, state, subscription, deviceActive, occurrenceID, expiresAt, requeues, attempt) = row
        }
    }

    /// The SQL condition (after `channel = $1`) for a provider selection, on the outbox as
    /// `table` when it is named; its parameter, if any, is appended to `bindings`.
    static func providerFilter(_ providers: ProviderSelection, bindings: inout PostgresBindings, table: String? = nil) -> String {
        let column = table.map { "\($0).provider" } ?? "provider"
        switch providers {
        case .any:
            return ""
        case .only(let provider):
            bindings.append(provider)
            return " AND \(column) = $\(bindings.count)"
        case .except(let excluded):
            bindings.append(excluded)
            return " AND \(column) <> ALL($\(bindings.count))"
        }
    }
}
