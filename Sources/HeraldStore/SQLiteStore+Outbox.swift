import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func claim(
        channel: Channel, providers: ProviderSelection, limit: Int, leaseOwner: String, lease: Duration, throttles: [String: RateLiteral],
        at now: Date
    ) async throws -> [ClaimedNotification] {
        let codec = self.codec
        let leaseUntil = now.addingTimeInterval(lease.timeInterval)
        let (providerClause, providerArguments) = Self.providerFilter(providers, codec: codec)
        return try await write { db in
            let timestamp = now.timeIntervalSince1970
            // A row with a lease that ran out (`lease_until` set, no outcome: a crash) repeats the
            // same attempt; any other row starts the next one.
            let take = "UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + (lease_until IS NULL), claims = claims + 1"
            var arguments: StatementArguments = [leaseOwner, leaseUntil.timeIntervalSince1970]
            let claimed: [Row]
            let throttles = try Self.throttlesInPlay(db, throttles, channel: channel)
            if throttles.isEmpty {
                arguments += [channel.rawValue]
                arguments += providerArguments
                arguments += [timestamp, timestamp, limit]
                // Cached statements: a lane claims many times a second, and preparing these took a
                // tenth of the writer's time.
                claimed = try Row.fetchAll(db.cachedStatement(sql: """
                    \(take)
                    WHERE notification_id IN (
                        SELECT notification_id FROM outbox
                        WHERE channel = ?\(providerClause) AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
                        ORDER BY due_at, notification_id LIMIT ?)
                    RETURNING notification_id, attempts, claims
                    """), arguments: arguments)
            } else {
                let picked = try Self.pickThrottled(db, channel: channel, providers: providers, limit: limit, throttles: throttles, at: now, codec: codec)
                guard !picked.isEmpty else { return [] }
                arguments += [codec.encode(picked)]
                claimed = try Row.fetchAll(db.cachedStatement(sql: """
                    \(take) WHERE notification_id IN (SELECT value FROM json_each(?)) RETURNING notification_id, attempts, claims
                    """), arguments: arguments)
            }
            guard !claimed.isEmpty else { return [] }
            var attempts: [Int64: Int] = [:]
            var claimNumbers: [Int64: Int] = [:]
            for row in claimed {
                attempts[row[0]] = row[1]
                claimNumbers[row[0]] = row[2]
            }
            let ids = codec.encode(Array(attempts.keys))
            let select = try RowReader(db, sql: """
                SELECT n.id, n.campaign_id, n.user_id, n.provider, n.address, n.content,
                       n.category, n.due_at, n.state, d.subscription, d.active, n.occurrence_id, n.expires_at, n.requeues
                FROM notifications n
                LEFT JOIN devices d ON d.rowid = (
                    SELECT rowid FROM devices WHERE n.channel = 'push' AND user_id = n.user_id AND address = n.address
                    ORDER BY active DESC LIMIT 1)
                WHERE n.id IN (SELECT value FROM json_each(?))
                ORDER BY n.due_at, n.id
                """)
            /// A claimed row as read, before its preferences are known.
            struct Read {
                var message: OutboundMessage
                var category: String
                var dueAt: Double
                var wasInFlight: Bool
            }
            var read: [Read] = []
            read.reserveCapacity(attempts.count)
            // A campaign's announcement is the same text for everyone: read once per claim.
            var contents: [String: NotificationContent] = [:]
            var lastContent: (String, NotificationContent)?
            try select.forEach(db, ids) { row in
                let id = row.int64(0)
                let attempt = attempts[id] ?? 1
                let text = row.string(5)
                let content: NotificationContent
                if let (lastText, last) = lastContent, lastText == text {
                    // Compared before hashed: a claim's rows mostly share one text.
                    content = last
                } else if let known = contents[text] {
                    content = known
                } else {
                    guard let parsed = NotificationContent(jsonText: text) else {
                        throw StoreError(.corrupt, "notification \(id) has content that cannot be read")
                    }
                    contents[text] = parsed
                    content = parsed
                }
                lastContent = (text, content)
                let subscription = row.optionalString(9).flatMap(WebPushSubscription.init(jsonText:))
                // A push device switched off after planning (dead token) has no address any more.
                let deviceActive = row.optionalBool(10) ?? true
                let campaignID = row.string(1)
                let userID = row.string(2)
                let category = row.string(6)
                let expiresAt = row.optionalDouble(12)
                let message = OutboundMessage(
                    notificationID: id, occurrenceID: row.int64(11), campaignID: campaignID, userID: userID,
                    channel: channel, category: category, provider: row.string(3), address: deviceActive ? row.string(4) : "",
                    subscription: subscription, content: content, attempt: attempt,
                    expiresAt: expiresAt.map(Date.init(timeIntervalSince1970:)),
                    idempotencyID: OutboundMessage.idempotencyID(notificationID: id, attempt: attempt, campaignID: campaignID, userID: userID, round: row.int(13))
                )
                read.append(Read(message: message, category: category, dueAt: row.double(7), wasInFlight: row.string(8) == NotificationState.sending.rawValue))
            }
            let userIDs = codec.encode(Array(Set(read.map(\.message.userID))))
            var preferences: [String: Preferences] = [:]
            let preferenceRows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT user_id, key, opted_in FROM preferences WHERE user_id IN (SELECT value FROM json_each(?))
                """), arguments: [userIDs])
            while let row = try preferenceRows.next() {
                preferences[row[0], default: Preferences()][row[1]] = row[2]
            }
            let markSending = try RowWriter(db, sql: "UPDATE notifications SET state = 'sending', attempts = ?, updated_at = ? WHERE id = ?")
            let insertEvent = try RowWriter(db, sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, ?, NULL, ?, ?)
                """)
            var result: [ClaimedNotification] = []
            result.reserveCapacity(read.count)
            for row in read {
                let message = row.message
                let id = message.notificationID
                try markSending.run(db, Int64(message.attempt), timestamp, id)
                let event: DeliveryEventType = row.wasInFlight ? .reclaimed : .sending
                try insertEvent.run(db, id, message.campaignID, channel.rawValue, event.rawValue, timestamp, "attempt \(message.attempt)")
                result.append(ClaimedNotification(
                    message: message, category: row.category, dueAt: Date(timeIntervalSince1970: row.dueAt),
                    preferences: preferences[message.userID] ?? Preferences(), wasInFlight: row.wasInFlight,
                    leaseOwner: leaseOwner, claimNumber: claimNumbers[id] ?? 0
                ))
            }
            return result
        }
    }

    public func resolve(_ results: [(ClaimedNotification, DeliveryResolution)], at now: Date) async throws {
        guard !results.isEmpty else { return }
        try await write { db in
            let timestamp = now.timeIntervalSince1970
            // Each outcome changes its outbox row only while this claim holds it: the claim is the
            // lease owner and the claim count.
            let holds = "notification_id = ? AND lease_owner = ? AND claims = ?"
            // A provider's webhook can overtake the outcome (SendGrid names the notification in
            // its events): what it said (delivered, or bounced) is further along than `sent`
            // and is kept.
            let finish = try RowWriter(db, sql: """
                UPDATE notifications SET state = CASE WHEN ?1 = 'sent' AND state IN ('delivered', 'failed') THEN state ELSE ?1 END,
                    reason = CASE WHEN ?1 = 'sent' AND state IN ('delivered', 'failed') THEN reason ELSE ?2 END,
                    provider = COALESCE(?3, provider), provider_message_id = COALESCE(?4, provider_message_id), updated_at = ?5 WHERE id = ?6
                """)
            let removeFromOutbox = try RowWriter(db, sql: "DELETE FROM outbox WHERE \(holds)")
            let reschedule = try RowWriter(db, sql: "UPDATE outbox SET due_at = ?, lease_owner = NULL, lease_until = NULL WHERE \(holds)")
            // The attempt does not count: the message was not at fault.
            let postpone = try RowWriter(db, sql: """
                UPDATE outbox SET due_at = ?, lease_owner = NULL, lease_until = NULL, attempts = MAX(attempts - 1, 0) WHERE \(holds)
                """)
            // The claim counted it on the notification too (as a release that was never handed over).
            let uncount = try RowWriter(db, sql: "UPDATE notifications SET attempts = MAX(attempts - 1, 0) WHERE id = ?")
            let deactivate = try RowWriter(db, sql: "UPDATE devices SET active = 0 WHERE user_id = ? AND address = ?")
            let optOut = try RowWriter(db, sql: """
                INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (?, ?, 0, ?)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = 0, updated_at = excluded.updated_at WHERE opted_in IS NOT 0
                """)
            let insertEvent = try RowWriter(db, sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for (claimed, resolution) in results {
                let message = claimed.message
                let id = message.notificationID
                let owner = claimed.leaseOwner
                let claim = Int64(claimed.claimNumber)
                let state: NotificationState
                let event: DeliveryEventType
                var reason: String?
                var detail: String?
                var provider: String?
                var providerMessageID: String?
                switch resolution {
                case .sent(let messageID, let carrier):
                    (state, event, provider, providerMessageID) = (.sent, .sent, carrier, messageID)
                case .retry(_, let why):
                    (state, event, detail) = (.planned, .retryScheduled, why)
                case .failed(let why, _):
                    (state, event, reason) = (.failed, .failed, why)
                case .dead(let why):
                    (state, event, reason) = (.dead, .dead, why)
                case .skipped(let skipReason, let why):
                    (state, event, reason, detail) = (.skipped, .skipped, skipReason.rawValue, why)
                case .postponed(_, let why):
                    (state, event, detail) = (.planned, .postponed, why)
                case .optedOutAtProvider(let why):
                    (state, event, reason, detail) = (.skipped, .skipped, SkipReason.optedOut.rawValue, why)
                }
                // The outbox row first: kept for later or removed, only while this claim holds
                // it; the rest follows only then.
                let held: Bool
                switch resolution {
                case .retry(let at, _): held = try reschedule.run(db, at.timeIntervalSince1970, id, owner, claim) > 0
                case .postponed(let at, _): held = try postpone.run(db, at.timeIntervalSince1970, id, owner, claim) > 0
                default: held = try removeFromOutbox.run(db, id, owner, claim) > 0
                }
                // Another dispatcher took the row over after this claim's lease ran out (or it was
                // resolved already): the outcome is kept in the trail but changes nothing, so the
                // current holder's outcome stands and the row is neither lost nor freed twice.
                // The providers passed over come first in the trail, whatever the outcome's fate.
                for failover in claimed.failovers {
                    try insertEvent.run(db, id, message.campaignID, message.channel.rawValue, DeliveryEventType.failedOver.rawValue, String?.none, timestamp, failover)
                }
                guard held else {
                    try insertEvent.run(
                        db, id, message.campaignID, message.channel.rawValue, DeliveryEventType.lateOutcome.rawValue, String?.none, timestamp,
                        "attempt \(message.attempt) by \(owner): \(resolution)"
                    )
                    continue
                }
                switch resolution {
                case .failed(_, let deactivateAddress) where deactivateAddress && message.channel == .push:
                    try deactivate.run(db, message.userID, message.address)
                case .postponed:
                    try uncount.run(db, id)
                case .optedOutAtProvider(let why):
                    try optOut.run(db, message.userID, message.channel.rawValue, timestamp)
                    try insertEvent.run(
                        db, id, message.campaignID, message.channel.rawValue, DeliveryEventType.unsubscribed.rawValue, String?.none, timestamp,
                        "\(message.channel.rawValue) opt-out reported by \(message.provider): \(why)"
                    )
                default:
                    break
                }
                try finish.run(db, state.rawValue, reason, provider, providerMessageID, timestamp, id)
                try insertEvent.run(db, id, message.campaignID, message.channel.rawValue, event.rawValue, reason, timestamp, detail ?? provider)
            }
        }
    }

    public func leases(channel: Channel, at now: Date) async throws -> (count: Int, until: Date?) {
        try await read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), MAX(lease_until) FROM outbox WHERE channel = ? AND due_at <= ? AND lease_until > ?
                """, arguments: [channel.rawValue, now.timeIntervalSince1970, now.timeIntervalSince1970])
            return (row?[0] ?? 0, (row?[1] as Double?).map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// Ends every lease now, so that rows held by a process known to be dead can be claimed at
    /// once (`herald deliver --take-over-leases`). Returns how many leases it ended.
    public func releaseLeases(at now: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "UPDATE outbox SET lease_until = ? WHERE lease_until > ?", arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func nextDue(channel: Channel, providers: ProviderSelection) async throws -> Date? {
        let (providerClause, providerArguments) = Self.providerFilter(providers, codec: codec)
        return try await read { db in
            var arguments: StatementArguments = [channel.rawValue]
            arguments += providerArguments
            return try Double.fetchOne(db, sql: "SELECT MIN(due_at) FROM outbox WHERE channel = ?\(providerClause)", arguments: arguments)
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func nextClaimable(channel: Channel, providers: ProviderSelection, throttles: [String: RateLiteral], at now: Date) async throws -> NextClaimable {
        let codec = self.codec
        let (providerClause, providerArguments) = Self.providerFilter(providers, codec: codec, table: "o")
        return try await read { db in
            let timestamp = now.timeIntervalSince1970
            let ledger = SendLedger(throttles: throttles, entries: try Self.sendLedgerEntries(db, of: Array(throttles.keys), codec: codec), at: now)
            let full = codec.encode(ledger.full)
            var arguments: StatementArguments = [channel.rawValue]
            arguments += providerArguments
            arguments += [timestamp]
            // Rows leased to a dispatcher are its to finish (a lease that runs out is seen at
            // the next idle poll): counting them would wake this lane for nothing, again and again.
            let lane = "o.channel = ?\(providerClause) AND (o.lease_until IS NULL OR o.lease_until <= ?)"
            guard !ledger.full.isEmpty else {
                let due = try Double.fetchOne(db.cachedStatement(sql: "SELECT o.due_at FROM outbox o WHERE \(lane) ORDER BY o.due_at LIMIT 1"), arguments: arguments)
                return NextClaimable(at: due.map(Date.init(timeIntervalSince1970:)), isHeldBack: false)
            }
            let open = try Double.fetchOne(db.cachedStatement(sql: """
                SELECT o.due_at FROM outbox o CROSS JOIN notifications n ON n.id = o.notification_id
                WHERE \(lane) AND n.campaign_id NOT IN (SELECT value FROM json_each(?))
                ORDER BY o.due_at LIMIT 1
                """), arguments: arguments + [full])
            let isHeldBack = try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM outbox o CROSS JOIN notifications n ON n.id = o.notification_id
                    WHERE \(lane) AND o.due_at <= ? AND n.campaign_id IN (SELECT value FROM json_each(?)))
                """), arguments: arguments + [timestamp, full]) ?? false
            let at = [open.map(Date.init(timeIntervalSince1970:)), ledger.nextRoom].compactMap { $0 }.min()
            return NextClaimable(at: at, isHeldBack: isHeldBack)
        }
    }

    /// The throttles of campaigns with notifications waiting or in flight on `channel`: only
    /// their rows can be claimed, so only they need the throttled claim (each row's campaign
    /// read and checked against its send ledger). A workspace's throttled campaigns that have
    /// nothing in the outbox, which is most of them most of the time, made every claim of every
    /// lane take that way, a tenth of a push's claim.
    static func throttlesInPlay(_ db: Database, _ throttles: [String: RateLiteral], channel: Channel) throws -> [String: RateLiteral] {
        guard !throttles.isEmpty else { return [:] }
        let waiting = try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM notifications WHERE campaign_id = ? AND channel = ? AND state IN ('planned', 'sending'))
            """)
        return try throttles.filter { campaign, _ in try Bool.fetchOne(waiting, arguments: [campaign, channel.rawValue]) ?? true }
    }

    /// The due, unleased rows of a lane that a throttled claim takes, in due order, at most
    /// `limit`: every row of a campaign without a throttle, and a campaign's rows while its send
    /// ledger has room; the ledger entries are written back at once (the caller claims the rows
    /// in the same transaction).
    static func pickThrottled(
        _ db: Database, channel: Channel, providers: ProviderSelection, limit: Int, throttles: [String: RateLiteral], at now: Date, codec: StoreCodec
    ) throws -> [Int64] {
        let timestamp = now.timeIntervalSince1970
        let (providerClause, providerArguments) = providerFilter(providers, codec: codec, table: "o")
        var ledger = SendLedger(throttles: throttles, entries: try sendLedgerEntries(db, of: Array(throttles.keys), codec: codec), at: now)
        // The outbox first (CROSS JOIN keeps that order), in due order through its lane index,
        // each row's campaign read by key; a campaign without room is left out in SQL, so that
        // its backlog is stepped over rather than returned.
        let candidates = try db.cachedStatement(sql: """
            SELECT o.notification_id, n.campaign_id, n.expires_at FROM outbox o CROSS JOIN notifications n ON n.id = o.notification_id
            WHERE o.channel = ?\(providerClause) AND o.due_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
                AND n.campaign_id NOT IN (SELECT value FROM json_each(?)) AND o.notification_id NOT IN (SELECT value FROM json_each(?))
            ORDER BY o.due_at, o.notification_id LIMIT ?
            """)
        var picked: [Int64] = []
        // A pass ends early when a campaign runs out of room; the next one looks past its rows.
        while picked.count < limit {
            var arguments: StatementArguments = [channel.rawValue]
            arguments += providerArguments
            arguments += [timestamp, timestamp, codec.encode(ledger.full), codec.encode(picked), limit - picked.count]
            let rows = try Row.fetchAll(candidates, arguments: arguments)
            var heldBack = false
            for row in rows where picked.count < limit {
                let isExpired = (row[2] as Double?).map { $0 <= timestamp } ?? false
                if ledger.take(row[1], isExpired: isExpired) { picked.append(row[0]) } else { heldBack = true }
            }
            guard heldBack else { break }
        }
        let save = try db.cachedStatement(sql: """
            INSERT INTO send_ledger (campaign_id, slot_seconds, slot, used) VALUES (?, ?, ?, ?)
            ON CONFLICT (campaign_id) DO UPDATE SET slot_seconds = excluded.slot_seconds, slot = excluded.slot, used = excluded.used
            """)
        for (campaign, entry) in ledger.changes.sorted(by: { $0.key < $1.key }) {
            try save.execute(arguments: [campaign, entry.slotSeconds, entry.slot, entry.used])
        }
        return picked
    }

    /// The send ledger entries of `campaigns` that have one.
    static func sendLedgerEntries(_ db: Database, of campaigns: [String], codec: StoreCodec) throws -> [String: SendLedger.Entry] {
        guard !campaigns.isEmpty else { return [:] }
        var entries: [String: SendLedger.Entry] = [:]
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT campaign_id, slot_seconds, slot, used FROM send_ledger WHERE campaign_id IN (SELECT value FROM json_each(?))
            """), arguments: [codec.encode(campaigns)])
        while let row = try rows.next() {
            entries[row[0]] = SendLedger.Entry(slotSeconds: row[1], slot: row[2], used: row[3])
        }
        return entries
    }

    public func renewLeases(of notificationIDs: [Int64], owner: String, lease: Duration, at now: Date) async throws -> Set<Int64> {
        guard !notificationIDs.isEmpty else { return [] }
        let ids = codec.encode(notificationIDs)
        return try await write { db in
            Set(try Int64.fetchAll(db, sql: """
                UPDATE outbox SET lease_until = MAX(lease_until, ?)
                WHERE notification_id IN (SELECT value FROM json_each(?)) AND lease_owner = ? AND lease_until > ?
                RETURNING notification_id
                """, arguments: [now.addingTimeInterval(lease.timeInterval).timeIntervalSince1970, ids, owner, now.timeIntervalSince1970]))
        }
    }

    public func release(_ claimed: [ClaimedNotification], wasHandedOver: Bool, at now: Date) async throws {
        guard !claimed.isEmpty else { return }
        try await write { db in
            let timestamp = now.timeIntervalSince1970
            let holds = "notification_id = ? AND lease_owner = ? AND claims = ?"
            // Never handed to a provider: free at once, and the attempt is given back.
            let free = try db.cachedStatement(sql: """
                UPDATE outbox SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 WHERE \(holds)
                """)
            // Perhaps at the provider: the lease ends now, so that the next claim repeats the
            // attempt (same idempotency id) as a reclaimed send.
            let end = try db.cachedStatement(sql: "UPDATE outbox SET lease_until = ? WHERE \(holds)")
            let backToPlanned = try db.cachedStatement(sql: "UPDATE notifications SET state = 'planned', attempts = attempts - 1, updated_at = ? WHERE id = ?")
            let insertEvent = try db.cachedStatement(sql: """
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, ?, NULL, ?, ?)
                """)
            for item in claimed {
                let message = item.message
                let claim: StatementArguments = [message.notificationID, item.leaseOwner, item.claimNumber]
                if wasHandedOver {
                    try end.execute(arguments: [timestamp] + claim)
                    guard db.changesCount > 0 else { continue }
                    try insertEvent.execute(arguments: [
                        message.notificationID, message.campaignID, message.channel.rawValue, DeliveryEventType.released.rawValue, timestamp,
                        "attempt \(message.attempt) stopped without an outcome at shutdown; it is repeated with the same idempotency id",
                    ])
                } else {
                    try free.execute(arguments: claim)
                    guard db.changesCount > 0 else { continue }
                    try backToPlanned.execute(arguments: [timestamp, message.notificationID])
                    try insertEvent.execute(arguments: [
                        message.notificationID, message.campaignID, message.channel.rawValue, DeliveryEventType.released.rawValue, timestamp,
                        "claimed but not sent before shutdown; attempt \(message.attempt) not counted",
                    ])
                }
            }
        }
    }

    /// The SQL condition (after `channel = ?`) and its arguments for a provider selection, on
    /// the outbox as `table` when it is named.
    static func providerFilter(_ providers: ProviderSelection, codec: StoreCodec, table: String? = nil) -> (String, StatementArguments) {
        let column = table.map { "\($0).provider" } ?? "provider"
        switch providers {
        case .any: return ("", [])
        case .only(let provider): return (" AND \(column) = ?", [provider])
        case .except(let excluded): return (" AND \(column) NOT IN (SELECT value FROM json_each(?))", [codec.encode(excluded)])
        }
    }
}
