import Foundation
import HeraldCore
import PostgresNIO

/// The HTTP API's role on PostgreSQL, for API servers on several machines sharing one database.
///
/// An API send is one transaction, as on SQLite. What SQLite gets from having one writer, the
/// transaction takes as locks: the Idempotency-Key's advisory lock before the key is looked up,
/// so that two servers taking the same key at the same moment plan one occurrence (the second
/// waits, then finds the first's answer); the campaign's occurrence lock before a fire instant is
/// chosen; and the recipients' cap locks before their cap ledger is read. The key's primary key
/// backs the lock: a send that still meets the key inserted by another is run again, and then
/// finds it.
extension PostgresStore: APIStore {
    /// The first key of the advisory lock on an Idempotency-Key (the second is a hash of the app
    /// key and the Idempotency-Key).
    static let idempotencyLockSpace: Int32 = 83_170_003

    /// Made at first use (migration v5 makes none, so that `herald store copy` can bring the
    /// SQLite store's): by one server only, the others read it.
    public func guestIDKey() async throws -> [UInt8] {
        let made = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let key = try await transaction { connection in
            try await connection.perform(
                "INSERT INTO store_secrets (name, value) VALUES ('guest_ids', \(Data(made))) ON CONFLICT (name) DO NOTHING", logger: logger
            )
            for try await value in try await connection.query(
                "SELECT value FROM store_secrets WHERE name = 'guest_ids'", logger: logger
            ).decode(Data.self) {
                return [UInt8](value)
            }
            return []
        }
        guard key.count >= 16 else { throw StoreError(.corrupt, "the store has no guest id key (store_secrets.guest_ids)") }
        return key
    }

    public func apiSend(_ plan: APISendPlan, at now: Date) async throws -> APISendResult {
        // 23505: another server inserted the same Idempotency-Key (or guest) between this
        // transaction's look and its write; the next attempt finds it.
        try await transaction(retrying: ["23505"]) { connection in try await apiSend(plan, connection, at: now) }
    }

    func apiSend(_ plan: APISendPlan, _ connection: PostgresConnection, at now: Date) async throws -> APISendResult {
        let timestamp = now.timeIntervalSince1970
        var start: Occurrence?
        if let key = plan.idempotencyKey {
            try await connection.perform(
                "SELECT pg_advisory_xact_lock(\(Self.idempotencyLockSpace), hashtext(\(plan.appKey + "\n" + key)))", logger: logger
            )
            try await connection.perform(
                "DELETE FROM api_requests WHERE created_at < \(timestamp - APISendPlan.idempotencyLifetime)", logger: logger
            )
            let rows = try await connection.query("""
                SELECT request_hash, occurrence_id, status, response, created_at FROM api_requests
                WHERE app_key = \(plan.appKey) AND idempotency_key = \(key)
                """, logger: logger)
            for try await (hash, occurrenceID, status, response, createdAt) in rows.decode((String, Int64, Int?, String?, Double).self) {
                guard hash == plan.requestHash else { return .keyReused(firstAt: Date(timeIntervalSince1970: createdAt)) }
                if let status, let response { return .replay(status: status, body: response) }
                guard let occurrence = try await occurrence(connection, """
                    SELECT \(unescaped: Self.occurrenceColumns) FROM occurrences WHERE id = \(occurrenceID)
                    """) else {
                    throw StoreError(.conflict, "the send of this Idempotency-Key has no occurrence any more")
                }
                start = occurrence
            }
        }
        let occurrence: Occurrence
        if let start {
            occurrence = start
        } else {
            try await lockOccurrences(of: plan.request.campaignID, connection)
            let fire = try await firstFreeFireInstant(connection, campaignID: plan.request.campaignID, from: Self.milliseconds(plan.request.fireAt))
            occurrence = try await insertOccurrence(
                connection, campaignID: plan.request.campaignID, fire: fire, definitionHash: plan.request.definitionHash, kind: plan.request.kind,
                params: Self.encodeParams(plan.request.params), at: now
            )
            if let key = plan.idempotencyKey {
                try await connection.perform("""
                    INSERT INTO api_requests (app_key, idempotency_key, request_hash, occurrence_id, created_at)
                    VALUES (\(plan.appKey), \(key), \(plan.requestHash), \(occurrence.id), \(timestamp))
                    """, logger: logger)
            }
        }
        if let taken = try await insertGuests(plan.guests, connection, at: now).first { throw GuestIDTaken(id: taken) }
        if !occurrence.isPlanned {
            try await planAPISend(plan, occurrence: occurrence, connection, at: now)
        }
        let decisions = try await Self.decisions(try await connection.query(Self.decisionsQuery(occurrenceID: occurrence.id), logger: logger))
        let answer = plan.answer(occurrence, decisions)
        if let key = plan.idempotencyKey {
            try await connection.perform("""
                UPDATE api_requests SET status = 202, response = \(answer)
                WHERE app_key = \(plan.appKey) AND idempotency_key = \(key) AND status IS NULL
                """, logger: logger)
        }
        return .planned(occurrence, decisions, answer: answer)
    }

    /// Plans the send's users (those an interrupted attempt did not plan) in the transaction, as
    /// SQLite's `apiSend` does.
    func planAPISend(_ plan: APISendPlan, occurrence: Occurrence, _ connection: PostgresConnection, at now: Date) async throws {
        let loaded = try await Self.users("""
            SELECT id, email, phone, locale, timezone, first_name, last_name, created_at, attributes::text FROM users
            WHERE id = ANY(\(plan.userIDs)) ORDER BY id
            """, schema: schema) { try await connection.query($0, logger: logger) }
        var byID: [String: User] = [:]
        for user in loaded { byID[user.id] = user }
        let guestIDs = Set(plan.guests.map(\.id))
        let unknown = plan.userIDs.filter { byID[$0] == nil && !guestIDs.contains($0) }
        guard unknown.isEmpty else { throw UnknownUsers(ids: unknown) }
        let guests = plan.userIDs.filter { guestIDs.contains($0) }.compactMap { byID[$0] }
        let optOuts = try await optOuts(connection, emails: guests.compactMap(\.email), phones: guests.compactMap(\.phone))
        for var guest in guests {
            guest.takeOptOuts(atItsAddresses: optOuts)
            byID[guest.id] = guest
        }
        var users = plan.userIDs.compactMap { byID[$0] }
        if !occurrence.isNew {
            var done = Set<String>()
            for try await id in try await connection.query("""
                SELECT DISTINCT user_id FROM notifications WHERE occurrence_id = \(occurrence.id) AND user_id = ANY(\(plan.userIDs))
                """, logger: logger).decode(String.self) {
                done.insert(id)
            }
            users.removeAll { done.contains($0.id) }
        }
        var deciding = occurrence
        deciding.fireAt = Self.date(milliseconds: Self.milliseconds(plan.request.fireAt))
        var history: [String: [CapEntry]] = [:]
        if let reach = plan.capReach {
            // Caps hold across servers: the users' cap rows are locked before their ledger is read.
            let ids = users.map(\.id)
            try await lockCaps(of: ids, connection)
            history = try await Self.capHistory(connection, of: ids, since: deciding.fireAt.addingTimeInterval(-reach), logger: logger)
        }
        try await connection.perform("""
            INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (\(occurrence.campaignID), \(plan.request.definitionHash), \(now.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET definition_hash = EXCLUDED.definition_hash, updated_at = EXCLUDED.updated_at
            WHERE campaigns.definition_hash IS DISTINCT FROM EXCLUDED.definition_hash
            """, logger: logger)
        _ = try await insertPlanned(plan.decide(deciding, users, history), connection, at: now)
        try await connection.perform(
            "UPDATE occurrences SET state = 'planned', finished_at = \(now.timeIntervalSince1970) WHERE id = \(occurrence.id)", logger: logger
        )
    }

    /// Stores the people a send names by address as guests (see SQLite's `insertGuests`): a new
    /// guest with its address or device, a known one left as it is but for a device it lacked.
    ///
    /// - Returns: the ids of `guests` that belong to a user who is not a guest, left alone.
    func insertGuests(_ guests: [User], _ connection: PostgresConnection, at now: Date) async throws -> [String] {
        guard !guests.isEmpty else { return [] }
        let timestamp = now.timeIntervalSince1970
        var taken: [String] = []
        for guest in guests {
            try await connection.perform("""
                INSERT INTO users (id, email, phone, created_at, attributes, updated_at, guest)
                VALUES (\(guest.id), \(guest.email), \(guest.phone), \(timestamp), '{}'::jsonb, \(timestamp), TRUE)
                ON CONFLICT (id) DO NOTHING
                """, logger: logger)
            var isGuest = true
            for try await flag in try await connection.query("SELECT guest FROM users WHERE id = \(guest.id)", logger: logger).decode(Bool.self) {
                isGuest = flag
            }
            guard isGuest else {
                taken.append(guest.id)
                continue
            }
            for device in guest.devices {
                try await connection.perform("""
                    INSERT INTO devices (user_id, platform, address, subscription, active, service)
                    VALUES (\(guest.id), \(device.platform.rawValue), \(device.address), \(device.subscription?.jsonText), TRUE, \(device.service.rawValue))
                    ON CONFLICT (user_id, platform, address) DO NOTHING
                    """, logger: logger)
            }
        }
        return taken
    }

    /// The opt-outs of users who are not guests, by their email (lower-cased) and phone, among
    /// `emails` and `phones`.
    func optOuts(_ connection: PostgresConnection, emails: [String], phones: [String]) async throws -> [String: Set<String>] {
        guard !emails.isEmpty || !phones.isEmpty else { return [:] }
        let lowered = emails.map { $0.lowercased() }
        let rows = try await connection.query("""
            SELECT lower(u.email), u.phone, p.key FROM users u JOIN preferences p ON p.user_id = u.id AND NOT p.opted_in
            WHERE NOT u.guest AND (lower(u.email) = ANY(\(lowered)) OR u.phone = ANY(\(phones)))
            """, logger: logger)
        let wanted = Set(lowered + phones)
        var result: [String: Set<String>] = [:]
        for try await (email, phone, key) in rows.decode((String?, String?, String).self) {
            for address in [email, phone].compactMap({ $0 }) where wanted.contains(address) {
                result[address, default: []].insert(key)
            }
        }
        return result
    }

    public func eraseUser(id: String, at now: Date) async throws -> ErasureSummary? {
        let pseudonym = "erased-" + (0..<8).map { _ in UInt8.random(in: 0...255) }.lowercaseHex
        let timestamp = now.timeIntervalSince1970
        return try await transaction { connection in
            // The user's row locked: a send planning for them waits, or is waited for.
            guard try await exists(connection, "SELECT 1 FROM users WHERE id = \(id) FOR UPDATE") else { return nil }
            var summary = ErasureSummary()
            let cancelled = try await connection.query("""
                WITH waiting AS (
                    DELETE FROM outbox o USING notifications n WHERE o.notification_id = n.id AND n.user_id = \(id)
                    RETURNING n.id, n.campaign_id, n.channel
                ),
                skipped AS (
                    UPDATE notifications SET state = 'skipped', reason = \(SkipReason.userDeleted.rawValue), updated_at = \(timestamp)
                    WHERE id IN (SELECT id FROM waiting)
                ),
                trail AS (
                    INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                    SELECT id, campaign_id, channel, 'skipped', \(SkipReason.userDeleted.rawValue), \(timestamp), NULL FROM waiting ORDER BY id
                )
                SELECT COUNT(*) FROM waiting
                """, logger: logger)
            for try await count in cancelled.decode(Int.self) { summary.cancelled = count }
            try await connection.perform(
                "UPDATE events SET detail = NULL WHERE notification_id IN (SELECT id FROM notifications WHERE user_id = \(id))", logger: logger
            )
            let anonymised = try await connection.query("""
                WITH changed AS (
                    UPDATE notifications SET user_id = \(pseudonym), address = NULL, content = NULL,
                        device = CASE WHEN device = '' THEN '' ELSE 'erased-' || id END, updated_at = \(timestamp)
                    WHERE user_id = \(id) RETURNING occurrence_id
                ),
                answers AS (
                    DELETE FROM api_requests WHERE occurrence_id IN (SELECT occurrence_id FROM changed)
                )
                SELECT COUNT(*) FROM changed
                """, logger: logger)
            for try await count in anonymised.decode(Int.self) { summary.anonymised = count }
            try await connection.perform("DELETE FROM cap_ledger WHERE user_id = \(id)", logger: logger)
            try await connection.perform("DELETE FROM received_events WHERE user_id = \(id)", logger: logger)
            try await connection.perform("DELETE FROM users WHERE id = \(id)", logger: logger)
            return summary
        }
    }

    public func registerDevices(_ devices: [Device], userID: String) async throws -> Bool? {
        try await transaction { connection in
            guard try await exists(connection, "SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE") else { return nil }
            var changed = false
            for device in devices {
                changed = try await exists(connection, """
                    INSERT INTO devices (user_id, platform, address, subscription, active, service)
                    VALUES (\(userID), \(device.platform.rawValue), \(device.address), \(device.subscription?.jsonText), \(device.isActive), \(device.service.rawValue))
                    ON CONFLICT (user_id, platform, address) DO UPDATE SET
                        subscription = EXCLUDED.subscription, active = EXCLUDED.active, service = EXCLUDED.service
                    WHERE devices.subscription IS DISTINCT FROM EXCLUDED.subscription OR devices.active IS DISTINCT FROM EXCLUDED.active
                        OR COALESCE(devices.service, '') IS DISTINCT FROM EXCLUDED.service
                    RETURNING 1
                    """) || changed
            }
            return changed
        }
    }

    public func unregisterDevice(address: String, userID: String) async throws -> Int? {
        try await transaction { connection in
            guard try await exists(connection, "SELECT 1 FROM users WHERE id = \(userID)") else { return nil }
            var removed = 0
            for try await _ in try await connection.query(
                "DELETE FROM devices WHERE user_id = \(userID) AND address = \(address) RETURNING 1", logger: logger
            ) {
                removed += 1
            }
            return removed
        }
    }

    public func setPreferences(_ preferences: Preferences, userID: String, at now: Date) async throws -> Preferences? {
        try await transaction { connection in
            guard try await exists(connection, "SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE") else { return nil }
            for (key, optedIn) in preferences.values.sorted(by: { $0.key < $1.key }) {
                try await connection.perform("""
                    INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (\(userID), \(key), \(optedIn), \(now.timeIntervalSince1970))
                    ON CONFLICT (user_id, key) DO UPDATE SET opted_in = EXCLUDED.opted_in, updated_at = EXCLUDED.updated_at
                    WHERE preferences.opted_in IS DISTINCT FROM EXCLUDED.opted_in
                    """, logger: logger)
            }
            var all = Preferences()
            for try await (key, optedIn) in try await connection.query(
                "SELECT key, opted_in FROM preferences WHERE user_id = \(userID)", logger: logger
            ).decode((String, Bool).self) {
                all[key] = optedIn
            }
            return all
        }
    }

    public func unsubscribe(
        _ key: NotificationKey, at now: Date, preferenceKey: @escaping @Sendable (HeraldCore.Channel, String) -> String
    ) async throws -> UnsubscribeResult {
        let timestamp = now.timeIntervalSince1970
        return try await transaction { connection in
            // The notification's row locked: two clicks at once record one `unsubscribed` event.
            var found: (id: Int64, campaignID: String, category: String)?
            for try await row in try await connection.query("""
                SELECT n.id, n.campaign_id, n.category FROM notifications n JOIN users u ON u.id = n.user_id
                WHERE n.occurrence_id = \(key.occurrenceID) AND n.user_id = \(key.userID) AND n.channel = \(key.channel.rawValue) AND n.device = \(key.device)
                FOR UPDATE OF n
                """, logger: logger).decode((Int64, String, String).self) {
                found = row
            }
            guard let found else { return .nobody }
            let preference = preferenceKey(key.channel, found.category)
            let changed = try await exists(connection, """
                INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (\(key.userID), \(preference), FALSE, \(timestamp))
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = FALSE, updated_at = EXCLUDED.updated_at WHERE preferences.opted_in
                RETURNING 1
                """)
            try await optOutAddressPeers(of: key.userID, key: preference, connection, at: timestamp)
            try await connection.perform("""
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                SELECT \(found.id), \(found.campaignID), \(key.channel.rawValue), 'unsubscribed', NULL, \(timestamp), \("one-click: \(preference)")
                WHERE NOT EXISTS (SELECT 1 FROM events WHERE notification_id = \(found.id) AND type = 'unsubscribed')
                """, logger: logger)
            return .optedOut(userID: key.userID, key: preference, changed: changed)
        }
    }

    /// When `userID` is a guest, turns `key` off for the users who have the guest's email or phone too.
    func optOutAddressPeers(of userID: String, key: String, _ connection: PostgresConnection, at timestamp: Double) async throws {
        try await connection.perform("""
            INSERT INTO preferences (user_id, key, opted_in, updated_at)
            SELECT u.id, \(key), FALSE, \(timestamp) FROM users u JOIN users g ON g.id = \(userID) AND g.guest
            WHERE NOT u.guest AND (lower(u.email) = lower(g.email) OR u.phone = g.phone)
            ON CONFLICT (user_id, key) DO UPDATE SET opted_in = FALSE, updated_at = EXCLUDED.updated_at WHERE preferences.opted_in
            """, logger: logger)
    }

    public func isReady() async -> Bool {
        (try? await perform("SELECT 1 FROM api_keys LIMIT 0")) != nil
    }

    /// Whether a query returns a row (and reads them all).
    func exists(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Bool {
        var found = false
        for try await _ in try await connection.query(query, logger: logger) { found = true }
        return found
    }
}
