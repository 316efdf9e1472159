import Foundation
import HeraldCore
import HeraldRules
import PostgresNIO

extension PostgresStore {
    /// Inserts or updates a batch of users with three statements in one transaction (users,
    /// devices, preferences), each taking the whole batch as one JSON parameter
    /// (`jsonb_to_recordset`): a round trip per table, not per row. A row is written only when it
    /// differs, and `RETURNING` tells new users from changed ones, as SQLite's changes count does.
    ///
    /// Within one batch the last entry of a user id wins (SQLite applies them one after another,
    /// to the same end).
    public func upsertUsers(_ users: [User], at now: Date) async throws -> UpsertSummary {
        var latest: [String: Int] = [:]
        for (position, user) in users.enumerated() { latest[user.id] = position }
        let batch = users.indices.filter { latest[users[$0].id] == $0 }.map { users[$0] }
        guard !batch.isEmpty else { return UpsertSummary() }
        let (userRows, deviceRows, preferenceRows) = try Self.jsonRows(batch)
        let timestamp = now.timeIntervalSince1970
        return try await client.withTransaction(logger: logger) { connection in
            var inserted = Set<String>()
            var changed = Set<String>()
            let written = try await connection.query("""
                INSERT INTO users (id, email, phone, locale, timezone, first_name, last_name, created_at, attributes, updated_at)
                SELECT id, email, phone, locale, timezone, first_name, last_name, created_at, COALESCE(CAST(attributes AS jsonb), '{}'::jsonb), \(timestamp)
                FROM jsonb_to_recordset(\(userRows)::jsonb) AS t(
                    id text, email text, phone text, locale text, timezone text, first_name text, last_name text,
                    created_at double precision, attributes text)
                ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, phone = EXCLUDED.phone, locale = EXCLUDED.locale,
                    timezone = EXCLUDED.timezone, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
                    created_at = EXCLUDED.created_at, attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at
                WHERE (users.email, users.phone, users.locale, users.timezone, users.first_name, users.last_name, users.created_at, users.attributes)
                    IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.phone, EXCLUDED.locale, EXCLUDED.timezone, EXCLUDED.first_name,
                        EXCLUDED.last_name, EXCLUDED.created_at, EXCLUDED.attributes)
                RETURNING id, (xmax = 0)
                """, logger: logger)
            for try await (id, isNew) in written.decode((String, Bool).self) {
                if isNew { inserted.insert(id) } else { changed.insert(id) }
            }
            // A device a provider reported dead stays off when the same token is imported again.
            let devices = try await connection.query("""
                INSERT INTO devices (user_id, platform, address, subscription, active, service)
                SELECT user_id, platform, address, subscription, active, service
                FROM jsonb_to_recordset(\(deviceRows)::jsonb) AS t(
                    user_id text, platform text, address text, subscription text, active boolean, service text)
                ON CONFLICT (user_id, platform, address) DO UPDATE SET subscription = EXCLUDED.subscription,
                    active = devices.active AND EXCLUDED.active, service = EXCLUDED.service
                WHERE devices.subscription IS DISTINCT FROM EXCLUDED.subscription OR (devices.active AND NOT EXCLUDED.active)
                    OR devices.service IS DISTINCT FROM EXCLUDED.service
                RETURNING user_id
                """, logger: logger)
            for try await id in devices.decode(String.self) { changed.insert(id) }
            let preferences = try await connection.query("""
                INSERT INTO preferences (user_id, key, opted_in, updated_at)
                SELECT user_id, key, opted_in, \(timestamp) FROM jsonb_to_recordset(\(preferenceRows)::jsonb) AS t(user_id text, key text, opted_in boolean)
                ON CONFLICT (user_id, key) DO UPDATE SET opted_in = EXCLUDED.opted_in, updated_at = EXCLUDED.updated_at
                WHERE preferences.opted_in IS DISTINCT FROM EXCLUDED.opted_in
                RETURNING user_id
                """, logger: logger)
            for try await id in preferences.decode(String.self) { changed.insert(id) }
            var summary = UpsertSummary()
            summary.inserted = inserted.count
            summary.updated = changed.subtracting(inserted).count
            summary.unchanged = batch.count - summary.inserted - summary.updated
            return summary
        }
    }

    public func users(matching filter: UserFilter, after lastID: String?, limit: Int) async throws -> [User] {
        var (condition, bindings) = try condition(for: filter)
        var sql = """
            SELECT id, email, phone, locale, timezone, first_name, last_name, created_at, attributes::text FROM users WHERE (\(condition))
            """
        if let lastID {
            bindings.append(lastID)
            sql += " AND id > $\(bindings.count)"
        }
        bindings.append(limit)
        sql += " ORDER BY id LIMIT $\(bindings.count)"
        return try await Self.users(PostgresQuery(unsafeSQL: sql, binds: bindings), schema: schema) { try await client.query($0, logger: logger) }
    }

    /// The users a query of `id, email, phone, locale, timezone, first_name, last_name,
    /// created_at, attributes::text` selects, with their devices and preferences, each query run
    /// by `run` (on the pool, or on a transaction's connection).
    static func users(
        _ query: PostgresQuery, schema: AttributeSchema, run: (PostgresQuery) async throws -> PostgresRowSequence
    ) async throws -> [User] {
        var users: [User] = []
        var index: [String: Int] = [:]
        let rows = try await run(query)
        for try await (id, email, phone, locale, timezone, firstName, lastName, createdAt, attributes) in rows.decode(
            (String, String?, String?, String?, String?, String?, String?, Double?, String).self
        ) {
            index[id] = users.count
            users.append(User(
                id: id, email: email, phone: phone, locale: locale, timezone: timezone, firstName: firstName, lastName: lastName,
                createdAt: createdAt.map(Date.init(timeIntervalSince1970:)), attributes: AttributeJSON.decode(attributes, schema: schema)
            ))
        }
        guard !users.isEmpty else { return [] }
        let ids = users.map(\.id)
        let devices = try await run("""
            SELECT user_id, platform, address, subscription, active, service FROM devices
            WHERE user_id = ANY(\(ids)) ORDER BY user_id, platform, address
            """)
        for try await (userID, platformName, address, subscription, active, service) in devices.decode(
            (String, String, String, String?, Bool, String?).self
        ) {
            guard let position = index[userID], let platform = DevicePlatform(rawValue: platformName) else { continue }
            users[position].devices.append(Device(
                platform: platform, service: service.flatMap(PushService.init(rawValue:)), token: platform == .web ? nil : address,
                subscription: subscription.flatMap(WebPushSubscription.init(jsonText:)), isActive: active
            ))
        }
        let preferences = try await run("SELECT user_id, key, opted_in FROM preferences WHERE user_id = ANY(\(ids))")
        for try await (userID, key, optedIn) in preferences.decode((String, String, Bool).self) {
            guard let position = index[userID] else { continue }
            users[position].preferences[key] = optedIn
        }
        return users
    }

    public func checkAudience(_ filter: UserFilter) async throws {
        let (condition, bindings) = try condition(for: filter)
        do {
            // Planned and run on no row: PostgreSQL checks the query without reading the table.
            let rows = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT id FROM users WHERE (\(condition)) LIMIT 0", binds: bindings), logger: logger
            )
            for try await _ in rows {}
        } catch let error as PSQLError {
            var place = ""
            switch filter {
            case .rule(let source, _, _), .ruleAmong(_, let source, _, _): place = "\(source.location): "
            case .everyone, .ids: break
            }
            let message = error.serverInfo?[.message] ?? "\(error.code)"
            throw StoreError(.invalidAudience, "\(place)the audience rule cannot run in PostgreSQL (\(message)); simplify it")
        }
    }

    public func countUsers(matching filter: UserFilter) async throws -> Int {
        let (condition, bindings) = try condition(for: filter)
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM users WHERE (\(condition))", binds: bindings), logger: logger
        )
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    public func activeDevicesByService() async throws -> [PushService: Int] {
        let rows = try await client.query(
            "SELECT platform, service, COUNT(*) FROM devices WHERE active GROUP BY platform, service", logger: logger
        )
        var counts: [PushService: Int] = [:]
        for try await (platform, service, count) in rows.decode((String, String?, Int).self) {
            let resolved = service.flatMap(PushService.init(rawValue:)) ?? DevicePlatform(rawValue: platform)?.defaultService
            if let resolved { counts[resolved, default: 0] += count }
        }
        return counts
    }

    /// The WHERE condition of a filter and its parameters, `$1`… Guests are in no audience: only
    /// sends that name them by id reach them.
    func condition(for filter: UserFilter) throws -> (sql: String, bindings: PostgresBindings) {
        var bindings = PostgresBindings()
        switch filter {
        case .everyone:
            return ("NOT guest", bindings)
        case .ids(let ids):
            bindings.append(ids)
            return ("id = ANY($1)", bindings)
        case .rule(let source, let now, let campaignID):
            let rule = try ruleCondition(source, now: now, campaignID: campaignID)
            for argument in rule.arguments { bindings.append(argument) }
            return ("NOT guest AND (\(rule.sql))", bindings)
        case .ruleAmong(let ids, let source, let now, let campaignID):
            // The rule's parameters come first; the ids follow them. PostgreSQL looks the users
            // up by primary key and tests the rule on them alone.
            let rule = try ruleCondition(source, now: now, campaignID: campaignID)
            for argument in rule.arguments { bindings.append(argument) }
            bindings.append(ids)
            return ("id = ANY($\(bindings.count)) AND NOT guest AND (\(rule.sql))", bindings)
        }
    }

    /// The batch as the JSON arrays `jsonb_to_recordset` reads: users, devices, preferences.
    static func jsonRows(_ users: [User]) throws -> (users: String, devices: String, preferences: String) {
        var userRows: [[String: Any]] = []
        var deviceRows: [[String: Any]] = []
        var preferenceRows: [[String: Any]] = []
        for user in users {
            // The attributes' own JSON text, which PostgreSQL parses: Foundation's JSON parser drops
            // a leading U+FEFF from strings, so a round trip through it would change "\u{FEFF}bom".
            let attributes = AttributeJSON.encode(user.attributes)
            userRows.append([
                "id": user.id, "email": user.email ?? NSNull(), "phone": user.phone ?? NSNull(), "locale": user.locale ?? NSNull(),
                "timezone": user.timezone ?? NSNull(), "first_name": user.firstName ?? NSNull(), "last_name": user.lastName ?? NSNull(),
                "created_at": user.createdAt.map { $0.timeIntervalSince1970 as Any } ?? NSNull(), "attributes": attributes,
            ])
            var seen = Set<String>()
            for device in user.devices.reversed() where seen.insert("\(device.platform.rawValue) \(device.address)").inserted {
                deviceRows.append([
                    "user_id": user.id, "platform": device.platform.rawValue, "address": device.address,
                    "subscription": device.subscription?.jsonText ?? NSNull(), "active": device.isActive, "service": device.service.rawValue,
                ])
            }
            for (key, optedIn) in user.preferences.values {
                preferenceRows.append(["user_id": user.id, "key": key, "opted_in": optedIn])
            }
        }
        func text(_ rows: [[String: Any]]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: rows), as: UTF8.self)
        }
        return (try text(userRows), try text(deviceRows), try text(preferenceRows))
    }
}
