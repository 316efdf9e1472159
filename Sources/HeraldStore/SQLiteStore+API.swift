import Foundation
import GRDB
import HeraldCore
import Synchronization

extension SQLiteStore: APIStore {
    /// The key of the HMAC that gives a guest their id (`store_secrets.guest_ids`, random, made
    /// with the table): ids differ from one database to another and tell nothing of an address
    /// without it.
    public func guestIDKey() async throws -> [UInt8] {
        if let key = guestKey.withLock({ $0 }) { return key }
        let key = try await read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM store_secrets WHERE name = 'guest_ids'").map { [UInt8]($0) }
        }
        guard let key, key.count >= 16 else { throw StoreError(.corrupt, "the store has no guest id key (store_secrets.guest_ids)") }
        guestKey.withLock { $0 = key }
        return key
    }

    /// Stores people an API send names by address or token as guests: users marked so that no
    /// campaign audience selects them, each under the id the caller derived from the address. A
    /// new guest is stored with its address or device; a known one is left as it is (its
    /// preferences, an unsubscribe, hold; a device a provider found dead stays so) but for a
    /// device it lacked.
    ///
    /// - Returns: the ids of `guests` that belong to a user who is not a guest, left alone.
    static func insertGuests(_ guests: [User], db: Database, at now: Date) throws -> [String] {
        guard !guests.isEmpty else { return [] }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO users (id, email, phone, created_at, attributes, updated_at, guest) VALUES (?, ?, ?, ?, '{}', ?, 1)
            ON CONFLICT (id) DO NOTHING
            """)
        let device = try db.cachedStatement(sql: """
            INSERT INTO devices (user_id, platform, address, subscription, active, service) VALUES (?, ?, ?, ?, 1, ?)
            ON CONFLICT (user_id, platform, address) DO NOTHING
            """)
        var taken: [String] = []
        let timestamp = now.timeIntervalSince1970
        for guest in guests {
            try insert.execute(arguments: [guest.id, guest.email, guest.phone, timestamp, timestamp])
            if db.changesCount == 0, try Bool.fetchOne(db, sql: "SELECT guest = 0 FROM users WHERE id = ?", arguments: [guest.id]) == true {
                taken.append(guest.id)
                continue
            }
            for added in guest.devices {
                try device.execute(arguments: [guest.id, added.platform.rawValue, added.address, added.subscription?.jsonText, added.service.rawValue])
            }
        }
        return taken
    }

    /// The opt-outs (`preferences` keys turned off) of users who are not guests, by the email
    /// and phone they have, among `emails` and `phones`: what a send to a guest at the same
    /// address must honour too.
    static func optOuts(_ db: Database, emails: [String], phones: [String], codec: StoreCodec) throws -> [String: Set<String>] {
        guard !emails.isEmpty || !phones.isEmpty else { return [:] }
        var result: [String: Set<String>] = [:]
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT lower(u.email), u.phone, p.key FROM users u JOIN preferences p ON p.user_id = u.id AND p.opted_in = 0
            WHERE u.guest = 0 AND lower(u.email) IN (SELECT value FROM json_each(?1))
            UNION ALL
            SELECT lower(u.email), u.phone, p.key FROM users u JOIN preferences p ON p.user_id = u.id AND p.opted_in = 0
            WHERE u.guest = 0 AND u.phone IN (SELECT value FROM json_each(?2))
            """), arguments: [codec.encode(emails.map { $0.lowercased() }), codec.encode(phones)])
        let wanted = Set(emails.map { $0.lowercased() } + phones)
        while let row = try rows.next() {
            let key: String = row[2]
            for address in [row[0] as String?, row[1] as String?].compactMap({ $0 }) where wanted.contains(address) {
                result[address, default: []].insert(key)
            }
        }
        return result
    }

    /// Deletes a user's profile, devices, preferences and received events; cancels their
    /// notifications still waiting in the outbox; and clears the recipient, address and content
    /// of every notification and sent message they had, so that campaign counts still add up
    /// without anything that names them. Nil when no user has the id.
    ///
    /// A notification already handed to a provider (leased, `sending`) cannot be called back: its
    /// outcome is recorded against the anonymised row.
    public func eraseUser(id: String, at now: Date) async throws -> ErasureSummary? {
        // One pseudonym per erasure: the user's rows stay distinct from each other's recipients,
        // and unrelated to the id.
        let pseudonym = "erased-" + (0..<8).map { _ in UInt8.random(in: 0...255) }.lowercaseHex
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [id]) != nil else { return nil }
            let timestamp = now.timeIntervalSince1970
            var summary = ErasureSummary()
            // Everything still in the outbox is cancelled, with the reason in the trail. A send a
            // dispatcher holds right now loses its claim: its outcome is recorded as late, and
            // nothing is tried again (its content is about to be cleared).
            let waiting = try Row.fetchAll(db, sql: """
                SELECT n.id, n.campaign_id, n.channel FROM notifications n JOIN outbox o ON o.notification_id = n.id
                WHERE n.user_id = ?
                """, arguments: [id])
            for row in waiting {
                let notificationID: Int64 = row[0]
                try db.execute(sql: "DELETE FROM outbox WHERE notification_id = ?", arguments: [notificationID])
                try db.execute(sql: """
                    UPDATE notifications SET state = 'skipped', reason = ?, updated_at = ? WHERE id = ?
                    """, arguments: [SkipReason.userDeleted.rawValue, timestamp, notificationID])
                try db.execute(sql: """
                    INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, 'skipped', ?, ?, NULL)
                    """, arguments: [notificationID, row[1], row[2], SkipReason.userDeleted.rawValue, timestamp])
            }
            summary.cancelled = waiting.count
            // Addresses and rendered content can hold personal data (names, order details), and
            // so can provider answers kept in the trail.
            try db.execute(sql: """
                UPDATE events SET detail = NULL WHERE notification_id IN (SELECT id FROM notifications WHERE user_id = ?)
                """, arguments: [id])
            try db.execute(sql: """
                UPDATE notifications SET user_id = ?, address = NULL, content = NULL,
                    device = CASE WHEN device = '' THEN '' ELSE 'erased-' || id END, updated_at = ?
                WHERE user_id = ?
                """, arguments: [pseudonym, timestamp, id])
            summary.anonymised = db.changesCount
            // Idempotent API answers name their recipients.
            try db.execute(sql: """
                DELETE FROM api_requests WHERE occurrence_id IN (SELECT DISTINCT occurrence_id FROM notifications WHERE user_id = ?)
                """, arguments: [pseudonym])
            try db.execute(sql: "DELETE FROM cap_ledger WHERE user_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM triggered_occurrences WHERE event_id IN (SELECT id FROM received_events WHERE user_id = ?)", arguments: [id])
            try db.execute(sql: "DELETE FROM received_events WHERE user_id = ?", arguments: [id])
            // Devices and preferences go with the user (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [id])
            return summary
        }
    }

    /// Adds or updates a user's devices (matched by platform and token). Nil when no user has the id.
    public func registerDevices(_ devices: [Device], userID: String) async throws -> Bool? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [userID]) != nil else { return nil }
            var changed = false
            for device in devices {
                try db.execute(sql: """
                    INSERT INTO devices (user_id, platform, address, subscription, active, service) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (user_id, platform, address) DO UPDATE SET
                        subscription = excluded.subscription, active = excluded.active, service = excluded.service
                    WHERE devices.subscription IS NOT excluded.subscription OR devices.active IS NOT excluded.active
                        OR COALESCE(devices.service, '') IS NOT excluded.service
                    """, arguments: [userID, device.platform.rawValue, device.address, device.subscription?.jsonText, device.isActive, device.service.rawValue])
                changed = changed || db.changesCount > 0
            }
            return changed
        }
    }

    /// Removes the device with `address` (a token, or a web-push endpoint) from a user: how many
    /// went (0 when the user had none such), or nil when no user has the id.
    public func unregisterDevice(address: String, userID: String) async throws -> Int? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [userID]) != nil else { return nil }
            try db.execute(sql: "DELETE FROM devices WHERE user_id = ? AND address = ?", arguments: [userID, address])
            return db.changesCount
        }
    }

    /// Sets some of a user's preferences (others stay) and returns all of them, or nil when no
    /// user has the id.
    public func setPreferences(_ preferences: Preferences, userID: String, at now: Date) async throws -> Preferences? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [userID]) != nil else { return nil }
            for (key, optedIn) in preferences.values.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: """
                    INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (user_id, key) DO UPDATE SET opted_in = excluded.opted_in, updated_at = excluded.updated_at
                    WHERE opted_in IS NOT excluded.opted_in
                    """, arguments: [userID, key, optedIn, now.timeIntervalSince1970])
            }
            var all = Preferences()
            for row in try Row.fetchAll(db, sql: "SELECT key, opted_in FROM preferences WHERE user_id = ?", arguments: [userID]) {
                all[row[0]] = row[1]
            }
            return all
        }
    }

    /// Honours an unsubscribe link: the notification's recipient opts out of what the link was
    /// for (`preferenceKey(channel, category)`), and the notification's trail gets an
    /// `unsubscribed` event the first time. Repeating it changes nothing.
    public func unsubscribe(
        _ key: NotificationKey, at now: Date, preferenceKey: @escaping @Sendable (Channel, String) -> String
    ) async throws -> UnsubscribeResult {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT n.id, n.campaign_id, n.category FROM notifications n JOIN users u ON u.id = n.user_id
                WHERE n.occurrence_id = ? AND n.user_id = ? AND n.channel = ? AND n.device = ?
                """, arguments: [key.occurrenceID, key.userID, key.channel.rawValue, key.device])
            else { return .nobody }
            let preference = preferenceKey(key.channel, row[2])
            try db.execute(sql: """
                INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (?, ?, 0, ?)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = 0, updated_at = excluded.updated_at WHERE opted_in != 0
                """, arguments: [key.userID, preference, now.timeIntervalSince1970])
            let changed = db.changesCount > 0
            try Self.optOutAddressPeers(of: key.userID, key: preference, db: db, at: now.timeIntervalSince1970)
            let notificationID: Int64 = row[0]
            let recorded = try Bool.fetchOne(db, sql: """
                SELECT 1 FROM events WHERE notification_id = ? AND type = 'unsubscribed'
                """, arguments: [notificationID]) != nil
            if !recorded {
                try db.execute(sql: """
                    INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail) VALUES (?, ?, ?, 'unsubscribed', NULL, ?, ?)
                    """, arguments: [notificationID, row[1], key.channel.rawValue, now.timeIntervalSince1970, "one-click: \(preference)"])
            }
            return .optedOut(userID: key.userID, key: preference, changed: changed)
        }
    }

    /// When `userID` is a guest, turns `key` off for the users who have the guest's email or
    /// phone too: a person who unsubscribes from a message sent to their address is not sent to
    /// again under their user id. (The other way round, a send to a guest honours the opt-outs
    /// of users at the same address: ``apiSend(_:at:)``.)
    static func optOutAddressPeers(of userID: String, key: String, db: Database, at timestamp: Double) throws {
        guard let guest = try Row.fetchOne(db.cachedStatement(sql: "SELECT email, phone FROM users WHERE id = ? AND guest = 1"), arguments: [userID]) else {
            return
        }
        let email: String? = guest[0]
        let phone: String? = guest[1]
        guard email != nil || phone != nil else { return }
        try db.cachedStatement(sql: """
            INSERT INTO preferences (user_id, key, opted_in, updated_at)
            SELECT id, ?, 0, ? FROM users WHERE guest = 0 AND lower(email) = lower(?)
            UNION SELECT id, ?, 0, ? FROM users WHERE guest = 0 AND phone = ?
            ON CONFLICT (user_id, key) DO UPDATE SET opted_in = 0, updated_at = excluded.updated_at WHERE opted_in != 0
            """).execute(arguments: [key, timestamp, email, key, timestamp, phone])
    }

    /// Whether the store answers and its migrations are applied (`/readyz`).
    public func isReady() async -> Bool {
        (try? await read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM api_keys LIMIT 0") ?? true }) != nil
    }
}

/// How an API send starts.
public enum APISendStart: Sendable {
    /// A new send: plan `occurrence`.
    case started(Occurrence)
    /// The same key and body were received before and not answered (a crash, or the same
    /// request at the same moment): plan `occurrence` again, which plans nobody twice.
    case resumed(Occurrence)
    /// The same key and body were answered before: give the same answer.
    case replay(status: Int, body: String)
    /// The key was used with another body.
    case keyReused(firstAt: Date)
}

extension SQLiteStore {
    /// How long an Idempotency-Key is remembered.
    public static let idempotencyLifetime = APISendPlan.idempotencyLifetime

    /// Starts an API send: a new occurrence of `request`, or, for an idempotency key seen in the
    /// last 24 hours, what that request started (see ``APISendStart``), with its guests stored.
    ///
    /// What refuses a send (a guest id a user took, a user who does not exist) is checked before
    /// anything is written, so that a refused send leaves the group commit's transaction as it
    /// was (see ``GroupCommit``).
    ///
    /// - Parameter known: set to the users of `userIDs` who are not among `guests`, read before
    ///   anything is written, when the send is to be planned; else left empty.
    /// - Throws: ``GuestIDTaken``, then ``UnknownUsers`` (when the send is to be planned).
    static func beginAPISend(
        _ db: Database, _ request: OccurrenceRequest, appKey: String, idempotencyKey: String?, requestHash: String, guests: [User],
        userIDs: [String], known: inout [User], schema: AttributeSchema, codec: StoreCodec, at now: Date
    ) throws -> APISendStart {
        let timestamp = now.timeIntervalSince1970
        let expired = timestamp - Self.idempotencyLifetime
        var resumed: Occurrence?
        if let idempotencyKey {
            // A key older than its lifetime counts as unknown; it is deleted below, before a
            // new send takes it.
            if let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT request_hash, occurrence_id, status, response, created_at FROM api_requests
                WHERE app_key = ? AND idempotency_key = ? AND created_at >= ?
                """), arguments: [appKey, idempotencyKey, expired]) {
                guard (row[0] as String) == requestHash else { return .keyReused(firstAt: Date(timeIntervalSince1970: row[4])) }
                if let status: Int = row[2], let body: String = row[3] { return .replay(status: status, body: body) }
                guard let occurrence = try Self.occurrence(db, where: "id = ?", arguments: [row[1] as Int64]) else {
                    throw StoreError(.conflict, "the send of this Idempotency-Key has no occurrence any more")
                }
                resumed = occurrence
            }
        }
        if let taken = try Self.takenGuestID(guests, db: db, codec: codec) { throw GuestIDTaken(id: taken) }
        if resumed?.isPlanned != true {
            let guestIDs = Set(guests.map(\.id))
            let ids = userIDs.filter { !guestIDs.contains($0) }
            known = try Self.users(db, ids: ids, schema: schema, codec: codec)
            let found = Set(known.map(\.id))
            // Every user the request names must exist: else nothing of the send is written.
            let unknown = ids.filter { !found.contains($0) }
            guard unknown.isEmpty else { throw UnknownUsers(ids: unknown) }
        }
        let start: APISendStart
        if let resumed {
            start = .resumed(resumed)
        } else {
            if idempotencyKey != nil {
                try db.cachedStatement(sql: "DELETE FROM api_requests WHERE created_at < ?").execute(arguments: [expired])
            }
            // Under a thousand sends a second of one template, the instant is the request's; past
            // that the occurrences' instants run ahead of the clock (each needs its own), and the
            // notifications are still due at the request's time (`apiSend`).
            let fire = try Self.apiFireInstant(db, campaignID: request.campaignID, from: Self.milliseconds(request.fireAt))
            let occurrence = try Self.insertOccurrence(
                db, campaignID: request.campaignID, fire: fire, definitionHash: request.definitionHash, kind: request.kind,
                params: Self.encodeParams(request.params), at: now
            )
            if let idempotencyKey {
                try db.cachedStatement(sql: """
                    INSERT INTO api_requests (app_key, idempotency_key, request_hash, occurrence_id, created_at) VALUES (?, ?, ?, ?, ?)
                    """).execute(arguments: [appKey, idempotencyKey, requestHash, occurrence.id, timestamp])
            }
            start = .started(occurrence)
        }
        // Checked above: no guest's id belongs to a user in this transaction.
        if let taken = try Self.insertGuests(guests, db: db, at: now).first { throw GuestIDTaken(id: taken) }
        return start
    }

    /// The first of `guests` whose id belongs to a user who is not a guest (``insertGuests(_:db:at:)``
    /// would leave that user alone and refuse the send).
    static func takenGuestID(_ guests: [User], db: Database, codec: StoreCodec) throws -> String? {
        guard !guests.isEmpty else { return nil }
        let taken = Set(try String.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM users WHERE guest = 0 AND id IN (SELECT value FROM json_each(?))"),
            arguments: [codec.encode(guests.map(\.id))]
        ))
        return guests.first { taken.contains($0.id) }?.id
    }

    /// An API send, whole, in one transaction shared with the sends that arrive at the same
    /// moment (group commit): its occurrence (or the one its Idempotency-Key started), its
    /// guests, its users as they are in the transaction (a guest with the opt-outs of users at
    /// the same address), their cap ledger, the decisions `plan.decide` makes, the
    /// notifications, the occurrence finished, and the answer kept for the key. A send that
    /// fails writes nothing; the others are not affected.
    public func apiSend(_ plan: APISendPlan, at now: Date) async throws -> APISendResult {
        let schema = self.schema
        let codec = self.codec
        return try await groupCommit.submit(weight: plan.userIDs.count) { db in
            var known: [User] = []
            let start = try Self.beginAPISend(
                db, plan.request, appKey: plan.appKey, idempotencyKey: plan.idempotencyKey, requestHash: plan.requestHash, guests: plan.guests,
                userIDs: plan.userIDs, known: &known, schema: schema, codec: codec, at: now
            )
            let occurrence: Occurrence
            switch start {
            case .replay(let status, let body): return .replay(status: status, body: body)
            case .keyReused(let firstAt): return .keyReused(firstAt: firstAt)
            case .started(let started), .resumed(let started): occurrence = started
            }
            /// A new occurrence's decisions are the rows written for it (in id order, as read).
            var written: [PlanDecision]?
            if !occurrence.isPlanned {
                var byID: [String: User] = [:]
                for user in known { byID[user.id] = user }
                let guestIDs = Set(plan.guests.map(\.id))
                // Guests as they are stored now (a known guest keeps its preferences and devices).
                let guestUsers = try Self.users(db, ids: plan.userIDs.filter { guestIDs.contains($0) }, schema: schema, codec: codec)
                let optOuts = try Self.optOuts(db, emails: guestUsers.compactMap(\.email), phones: guestUsers.compactMap(\.phone), codec: codec)
                for var guest in guestUsers {
                    guest.takeOptOuts(atItsAddresses: optOuts)
                    byID[guest.id] = guest
                }
                var users = plan.userIDs.compactMap { byID[$0] }
                if !occurrence.isNew {
                    let done = Set(try String.fetchAll(db.cachedStatement(sql: """
                        SELECT DISTINCT user_id FROM notifications WHERE occurrence_id = ? AND user_id IN (SELECT value FROM json_each(?))
                        """), arguments: [occurrence.id, codec.encode(plan.userIDs)]))
                    users.removeAll { done.contains($0.id) }
                }
                // Due when the request came, whatever instant the occurrence's key took.
                var deciding = occurrence
                deciding.fireAt = Self.date(milliseconds: Self.milliseconds(plan.request.fireAt))
                let since = plan.capReach.map { deciding.fireAt.addingTimeInterval(-$0) }
                let history = try since.map { try Self.capHistory(db, users: codec.encode(users.map(\.id)), since: $0) } ?? [:]
                try db.cachedStatement(sql: """
                    INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET definition_hash = excluded.definition_hash, updated_at = excluded.updated_at
                    WHERE definition_hash IS NOT excluded.definition_hash
                    """).execute(arguments: [occurrence.campaignID, plan.request.definitionHash, now.timeIntervalSince1970])
                var decisions: [PlanDecision] = []
                _ = try Self.insertPlanned(plan.decide(deciding, users, history), db, at: now, written: { decisions.append($0) })
                if occurrence.isNew { written = decisions }
                try db.cachedStatement(sql: "UPDATE occurrences SET state = 'planned', finished_at = ? WHERE id = ?")
                    .execute(arguments: [now.timeIntervalSince1970, occurrence.id])
            }
            let decisions = try written ?? Self.decisions(db, occurrenceID: occurrence.id)
            let answer = plan.answer(occurrence, decisions)
            if let key = plan.idempotencyKey {
                try db.cachedStatement(sql: """
                    UPDATE api_requests SET status = 202, response = ? WHERE app_key = ? AND idempotency_key = ? AND status IS NULL
                    """).execute(arguments: [answer, plan.appKey, key])
            }
            return .planned(occurrence, decisions, answer: answer)
        }
    }

    /// Users by id, with their devices and preferences, in id order.
    static func users(_ db: Database, ids: [String], schema: AttributeSchema, codec: StoreCodec) throws -> [User] {
        guard !ids.isEmpty else { return [] }
        // One id (most API sends) is looked up directly: json_each costs more than the lookup.
        let rows = ids.count == 1
            ? try Row.fetchCursor(db.cachedStatement(sql: oneUserQuery), arguments: [ids[0], 1])
            : try Row.fetchCursor(db.cachedStatement(sql: usersQuery), arguments: [codec.encode(ids), ids.count])
        var users = try Array(rows.map { row in
            User(
                id: row[0], email: row[1], phone: row[2], locale: row[3], timezone: row[4], firstName: row[5], lastName: row[6],
                createdAt: (row[7] as Double?).map(Date.init(timeIntervalSince1970:)), attributes: codec.decodeAttributes(row[8], schema: schema)
            )
        })
        try attachDevicesAndPreferences(to: &users, db: db, codec: codec)
        return users
    }

    private static let usersQuery = pageQuery(condition: "id IN (SELECT value FROM json_each(?))", afterAnID: false)
    private static let oneUserQuery = pageQuery(condition: "id = ?", afterAnID: false)

}
