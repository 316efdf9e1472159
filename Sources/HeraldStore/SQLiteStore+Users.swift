import Foundation
import GRDB
import HeraldCore

extension SQLiteStore {
    public func upsertUsers(_ users: [User], at now: Date) async throws -> UpsertSummary {
        let codec = self.codec
        let rows = users.map { user in (user, codec.encodeAttributes(user.attributes)) }
        return try await write { db in
            // Insert, or else update only what differs: the changes count then tells a new user
            // from an updated or an unchanged one without counting the table.
            let insertUser = try db.cachedStatement(sql: """
                INSERT INTO users (id, email, phone, locale, timezone, first_name, last_name, created_at, attributes, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING
                """)
            let updateUser = try db.cachedStatement(sql: """
                UPDATE users SET email = ?1, phone = ?2, locale = ?3, timezone = ?4, first_name = ?5, last_name = ?6,
                    created_at = ?7, attributes = ?8, updated_at = ?9
                WHERE id = ?10 AND (email, phone, locale, timezone, first_name, last_name, created_at, attributes)
                    IS NOT (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            let upsertDevice = try db.cachedStatement(sql: """
                INSERT INTO devices (user_id, platform, address, subscription, active, service) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (user_id, platform, address) DO UPDATE SET
                    subscription = excluded.subscription, active = MIN(devices.active, excluded.active), service = excluded.service
                WHERE devices.subscription IS NOT excluded.subscription OR devices.active > excluded.active
                    OR COALESCE(devices.service, '') IS NOT excluded.service
                """)
            let upsertPreference = try db.cachedStatement(sql: """
                INSERT INTO preferences (user_id, key, opted_in, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = excluded.opted_in, updated_at = excluded.updated_at
                WHERE opted_in IS NOT excluded.opted_in
                """)
            var summary = UpsertSummary()
            let timestamp = now.timeIntervalSince1970
            for (user, attributes) in rows {
                let created = user.createdAt?.timeIntervalSince1970
                try insertUser.execute(arguments: [
                    user.id, user.email, user.phone, user.locale, user.timezone, user.firstName, user.lastName,
                    created, attributes, timestamp,
                ])
                let inserted = db.changesCount > 0
                var changed = inserted
                if !inserted {
                    try updateUser.execute(arguments: [
                        user.email, user.phone, user.locale, user.timezone, user.firstName, user.lastName,
                        created, attributes, timestamp, user.id,
                    ])
                    changed = db.changesCount > 0
                }
                for device in user.devices {
                    try upsertDevice.execute(arguments: [
                        user.id, device.platform.rawValue, device.address,
                        device.subscription?.jsonText, device.isActive, device.service.rawValue,
                    ])
                    changed = changed || db.changesCount > 0
                }
                for (key, optedIn) in user.preferences.values.sorted(by: { $0.key < $1.key }) {
                    try upsertPreference.execute(arguments: [user.id, key, optedIn, timestamp])
                    changed = changed || db.changesCount > 0
                }
                if inserted {
                    summary.inserted += 1
                } else if changed {
                    summary.updated += 1
                } else {
                    summary.unchanged += 1
                }
            }
            return summary
        }
    }

    public func users(matching filter: UserFilter, after lastID: String?, limit: Int) async throws -> [User] {
        let condition = try condition(for: filter)
        let schema = self.schema
        let codec = self.codec
        return try await read { db in
            var arguments = condition.arguments
            if let lastID { arguments += [lastID] }
            arguments += [limit]
            let sql = Self.pageQuery(condition: condition.sql, afterAnID: lastID != nil)
            // Cached: a page's SQL is the same for every page of an audience and every API send.
            var users = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
                User(
                    id: row[0], email: row[1], phone: row[2], locale: row[3], timezone: row[4],
                    firstName: row[5], lastName: row[6],
                    createdAt: (row[7] as Double?).map(Date.init(timeIntervalSince1970:)),
                    attributes: codec.decodeAttributes(row[8], schema: schema)
                )
            }
            try Self.attachDevicesAndPreferences(to: &users, db: db, codec: codec)
            return users
        }
    }

    public func checkAudience(_ filter: UserFilter) async throws {
        let condition = try condition(for: filter)
        do {
            _ = try await readers.withPermit {
                try await pool.read { db in
                    try db.makeStatement(sql: "SELECT id FROM users WHERE (\(condition.sql)) ORDER BY id LIMIT 1")
                }
            }
        } catch let error as DatabaseError {
            var place = ""
            switch filter {
            case .rule(let source, _, _), .ruleAmong(_, let source, _, _): place = "\(source.location): "
            case .everyone, .ids: break
            }
            throw StoreError(.invalidAudience, "\(place)the audience rule cannot run in SQLite (\(error.message ?? "\(error.resultCode)")); simplify it")
        }
    }

    public func countUsers(matching filter: UserFilter) async throws -> Int {
        let condition = try condition(for: filter)
        return try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE (\(condition.sql))", arguments: condition.arguments) ?? 0
        }
    }

    public func activeDevicesByService() async throws -> [PushService: Int] {
        try await read { db in
            var counts: [PushService: Int] = [:]
            let rows = try Row.fetchAll(db, sql: "SELECT platform, service, COUNT(*) FROM devices WHERE active = 1 GROUP BY platform, service")
            for row in rows {
                let service = (row[1] as String?).flatMap(PushService.init(rawValue:))
                    ?? (row[0] as String?).flatMap(DevicePlatform.init(rawValue:))?.defaultService
                if let service { counts[service, default: 0] += row[2] as Int }
            }
            return counts
        }
    }

    /// The index SQLite makes for `users.id`, the table's TEXT primary key.
    static let userIDIndex = "sqlite_autoindex_users_1"

    /// One page of an audience: up to `?` users matching `condition`, in id order, after the
    /// id bound last when `afterAnID`.
    ///
    /// The page walks the id index, named so that SQLite cannot re-plan the query: with
    /// statistics that favour an attribute index it would otherwise sort the whole audience in a
    /// temporary B-tree for every page, and planning would grow with the square of the audience.
    /// Walking the ids reads each user once per planning, whatever the rule.
    static func pageQuery(condition: String, afterAnID: Bool) -> String {
        """
        SELECT id, email, phone, locale, timezone, first_name, last_name, created_at, attributes
        FROM users INDEXED BY \(userIDIndex) WHERE (\(condition))\(afterAnID ? " AND id > ?" : "") ORDER BY id LIMIT ?
        """
    }

    /// Loads the devices and preferences of a page of users with two set-based queries.
    static func attachDevicesAndPreferences(to users: inout [User], db: Database, codec: StoreCodec) throws {
        guard !users.isEmpty else { return }
        var index: [String: Int] = [:]
        for (position, user) in users.enumerated() { index[user.id] = position }
        // One user (an API send's) is looked up directly: json_each costs more than the lookup.
        let ids: StatementArguments = users.count == 1 ? [users[0].id] : [codec.encode(users.map(\.id))]
        let among = users.count == 1 ? "user_id = ?" : "user_id IN (SELECT value FROM json_each(?))"
        let devices = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT user_id, platform, address, subscription, active, service FROM devices
            WHERE \(among) ORDER BY user_id, platform, address
            """), arguments: ids)
        while let row = try devices.next() {
            guard let position = index[row[0]], let platform = DevicePlatform(rawValue: row[1]) else { continue }
            let subscription = (row[3] as String?).flatMap(WebPushSubscription.init(jsonText:))
            let address: String = row[2]
            users[position].devices.append(Device(
                platform: platform,
                service: (row[5] as String?).flatMap(PushService.init(rawValue:)),
                token: platform == .web ? nil : address,
                subscription: subscription,
                isActive: row[4]
            ))
        }
        let preferences = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT user_id, key, opted_in FROM preferences WHERE \(among)
            """), arguments: ids)
        while let row = try preferences.next() {
            guard let position = index[row[0]] else { continue }
            users[position].preferences[row[1]] = row[2]
        }
    }

    /// The WHERE condition for a filter.
    func condition(for filter: UserFilter) throws -> (sql: String, arguments: StatementArguments) {
        // Guests (people an API send named by address) are in no audience: only sends that name
        // them by id reach them.
        switch filter {
        case .everyone:
            return ("guest = 0", [])
        case .ids(let ids):
            return ("id IN (SELECT value FROM json_each(?))", [codec.encode(ids)])
        case .rule(let source, let now, let campaignID):
            let rule = try ruleCondition(source, now: now, campaignID: campaignID)
            return ("guest = 0 AND (\(rule.sql))", rule.arguments)
        case .ruleAmong(let ids, let source, let now, let campaignID):
            let rule = try ruleCondition(source, among: ids, now: now, campaignID: campaignID)
            return ("guest = 0 AND (\(rule.sql))", rule.arguments)
        }
    }
}

extension SQLiteStore {
    /// The ids of every user matching `filter`, in id order: an audience export.
    public func userIDs(matching filter: UserFilter) async throws -> [String] {
        let condition = try condition(for: filter)
        return try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM users WHERE (\(condition.sql)) ORDER BY id", arguments: condition.arguments)
        }
    }
}
