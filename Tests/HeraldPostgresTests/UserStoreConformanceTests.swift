import Foundation
import HeraldCore
import HeraldPostgres
import PostgresNIO
import HeraldStore
import HeraldTesting
import Logging
import Testing

/// The users role, run the same way against both stores: a SQLite file and a PostgreSQL
/// server (`HERALD_TEST_POSTGRES_URL`, which `.ci/run` and `make test` set by starting a
/// throwaway cluster with scripts/postgres-cluster). Each PostgreSQL test works in a schema of
/// its own.
@Suite struct UserStoreConformanceTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    static let postgresURL = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"]
    static let schema = AttributeSchema([AttributeDefinition(name: "plan", type: .string), AttributeDefinition(name: "score", type: .number)])

    /// Runs `body` with a fresh store of `kind`; PostgreSQL is skipped, and says why, when no
    /// server was given.
    func withStore(_ kind: Kind, _ body: (any UserStore) async throws -> Void) async throws {
        switch kind {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                try await body(try SQLiteStore(path: directory.file("herald.db"), schema: Self.schema))
            }
        case .postgres:
            guard let url = Self.postgresURL else {
                print("skipped: PostgreSQL store tests need HERALD_TEST_POSTGRES_URL (scripts/postgres-cluster start DIR prints one; make test sets it)")
                return
            }
            let schemaName = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            let store = try await PostgresStore(url: url, attributes: Self.schema, searchPath: String(schemaName), maximumConnections: 4)
            do {
                try await body(store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }

    static let ana = User(
        id: "u-ana", email: "ana@example.com", phone: "+14155550100", locale: "ko-KR", timezone: "Asia/Seoul", firstName: "Ana",
        createdAt: Date(timeIntervalSince1970: 1_700_000_000.5), attributes: ["plan": .string("pro"), "score": .number(4.5)],
        devices: [Device(platform: .ios, token: "aa11"), Device(platform: .android, service: .jpush, token: "1a0018970a")],
        preferences: Preferences(["email:marketing": false, "sms": true])
    )
    static let bo = User(id: "u-bo", email: "bo@example.com", devices: [Device(platform: .android, token: "fcm:bo")])
    static let cy = User(id: "U-Cy", phone: "+4915123456789")

    @Test(arguments: Kind.allCases)
    func usersAreInsertedUpdatedOrLeftAloneAndReadBackWhole(_ kind: Kind) async throws {
        try await withStore(kind) { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let first = try await store.upsertUsers([Self.ana, Self.bo, Self.cy], at: now)
            #expect(first == UpsertSummary(inserted: 3, updated: 0, unchanged: 0))
            #expect(try await store.upsertUsers([Self.ana, Self.bo, Self.cy], at: now) == UpsertSummary(inserted: 0, updated: 0, unchanged: 3))
            var changed = Self.bo
            changed.preferences["push"] = false
            var renamed = Self.cy
            renamed.firstName = "Cy"
            let second = try await store.upsertUsers([changed, renamed, User(id: "u-dee")], at: now)
            #expect(second == UpsertSummary(inserted: 1, updated: 2, unchanged: 0))

            let everyone = try await store.users(matching: .everyone, after: nil, limit: 10)
            // Ordered by the id's bytes: upper case before lower case.
            #expect(everyone.map(\.id) == ["U-Cy", "u-ana", "u-bo", "u-dee"])
            let ana = try #require(everyone.first { $0.id == "u-ana" })
            #expect(ana.email == "ana@example.com" && ana.phone == "+14155550100" && ana.locale == "ko-KR" && ana.timezone == "Asia/Seoul")
            #expect(ana.firstName == "Ana" && ana.lastName == nil && ana.createdAt == Self.ana.createdAt)
            #expect(ana.attributes == ["plan": .string("pro"), "score": .number(4.5)])
            #expect(Set(ana.devices) == Set(Self.ana.devices))
            #expect(ana.preferences == Self.ana.preferences)
            #expect(everyone.first { $0.id == "u-bo" }?.preferences["push"] == false)
            #expect(everyone.first { $0.id == "U-Cy" }?.firstName == "Cy")
        }
    }

    @Test(arguments: Kind.allCases)
    func pagesFollowTheIDsAndFiltersPickUsersByID(_ kind: Kind) async throws {
        try await withStore(kind) { store in
            let users = (1...25).map { User(id: String(format: "user-%03d", $0), email: "u\($0)@example.com") }
            _ = try await store.upsertUsers(users.shuffled(), at: Date())
            var seen: [String] = []
            var last: String?
            while true {
                let page = try await store.users(matching: .everyone, after: last, limit: 10)
                guard let end = page.last else { break }
                seen += page.map(\.id)
                last = end.id
            }
            #expect(seen == users.map(\.id))
            #expect(try await store.countUsers(matching: .everyone) == 25)
            let picked = try await store.users(matching: .ids(["user-007", "user-003", "nobody"]), after: nil, limit: 10)
            #expect(picked.map(\.id) == ["user-003", "user-007"])
            #expect(try await store.countUsers(matching: .ids(["user-007", "user-003", "nobody"])) == 2)
        }
    }

    /// Attributes come back byte for byte: Foundation's JSON parser, which the PostgreSQL store
    /// once sent them through, dropped a leading U+FEFF.
    @Test(arguments: Kind.allCases)
    func attributesComeBackByteForByte(_ kind: Kind) async throws {
        try await withStore(kind) { store in
            let texts = ["\u{FEFF}bom", "e\u{301}", "\u{E9}", "😀", "a\\\"b\n", "İ", "\u{2028}", " x "]
            let users = texts.enumerated().map { index, text in User(id: "u\(index)", attributes: ["plan": .string(text), "score": .number(0.1)]) }
            _ = try await store.upsertUsers(users, at: Date())
            let read = try await store.users(matching: .everyone, after: nil, limit: 20)
            // By their bytes: Swift's == would take "e\u{301}" for "\u{E9}".
            let bytes = read.map { user -> [UInt8] in
                if case .string(let text)? = user.attributes["plan"] { return Array(text.utf8) }
                return []
            }
            #expect(bytes == texts.map { Array($0.utf8) })
            #expect(try await store.upsertUsers(users, at: Date()) == UpsertSummary(inserted: 0, updated: 0, unchanged: texts.count))
        }
    }

    /// A token a provider declared dead stays off when an import brings it again; the devices
    /// per service count only live ones.
    @Test(arguments: Kind.allCases)
    func aDeadDeviceStaysDeadThroughAReimportAndIsNotCounted(_ kind: Kind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsertUsers([Self.ana, Self.bo], at: Date())
            #expect(try await store.activeDevicesByService() == [.apns: 1, .jpush: 1, .fcm: 1])
            var dead = Self.ana
            dead.devices = [Device(platform: .ios, token: "aa11", isActive: false)]
            #expect(try await store.upsertUsers([dead], at: Date()) == UpsertSummary(inserted: 0, updated: 1, unchanged: 0))
            #expect(try await store.upsertUsers([Self.ana], at: Date()) == UpsertSummary(inserted: 0, updated: 0, unchanged: 1))
            let ana = try #require(try await store.users(matching: .ids(["u-ana"]), after: nil, limit: 1).first)
            #expect(ana.devices.first { $0.platform == .ios }?.isActive == false)
            #expect(try await store.activeDevicesByService() == [.jpush: 1, .fcm: 1])
        }
    }
}

/// Processes that open the same new PostgreSQL database at the same moment apply each migration
/// once: the advisory lock makes the others wait and then find it applied.
@Suite struct PostgresMigrationTests {
    @Test func storesOpeningTogetherApplyEachMigrationOnce() async throws {
        guard let url = UserStoreConformanceTests.postgresURL else {
            print("skipped: PostgreSQL store tests need HERALD_TEST_POSTGRES_URL (scripts/postgres-cluster start DIR prints one; make test sets it)")
            return
        }
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await PostgresStore(url: url, attributes: UserStoreConformanceTests.schema, searchPath: String(schema), maximumConnections: 2)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 6)
        // Every store sees the same tables: a user written through one is read through another.
        _ = try await stores[0].upsertUsers([User(id: "u-1", email: "a@example.com")], at: Date())
        #expect(try await stores[5].countUsers(matching: .everyone) == 1)
        #expect(try await stores[3].migrationsApplied() == ["v1-users", "v2-rules", "v3-planning-and-outbox", "v4-events-and-schedules", "v5-api-health-and-secrets", "v6-send-ledger", "v7-alert-confirmations", "v8-workers", "v9-provider-message-index-without-push"])
        for store in stores { await store.close() }
    }

    /// A database from before v9 (its old provider-message index, a user), with what a build of
    /// the new index stopped part way leaves (an index under the name it is built with), and an
    /// attribute index's: stores opening together build the new index once, valid, in the old
    /// one's place, and drop the leftovers.
    @Test func theProviderMessageIndexOfAnOlderDatabaseIsBuiltAgainAndLeftoversDropped() async throws {
        guard let url = UserStoreConformanceTests.postgresURL else { return TestPostgres.skip() }
        let schema = TestPostgres.schemaName()
        let old = try await PostgresStore(url: url, attributes: UserStoreConformanceTests.schema, searchPath: schema, maximumConnections: 2)
        _ = try await old.upsertUsers([User(id: "u-1", email: "a@example.com")], at: Date())
        try await old.execute("DELETE FROM herald_migrations WHERE identifier = 'v9-provider-message-index-without-push'")
        try await old.execute("DROP INDEX notifications_by_provider_message")
        try await old.execute("CREATE INDEX notifications_by_provider_message ON notifications (provider_message_id) WHERE provider_message_id IS NOT NULL")
        try await old.execute("CREATE INDEX notifications_by_provider_message_building ON notifications (user_id)")
        try await old.execute("CREATE INDEX users_building_plan ON users (id)")
        await old.close()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await PostgresStore(url: url, attributes: UserStoreConformanceTests.schema, searchPath: schema, maximumConnections: 2)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let indexes = try await stores[0].rows("""
            SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = \(schema)::regnamespace AND (c.relname LIKE 'notifications_by_provider%' OR c.relname LIKE '%building%')
            """, as: (String, String, Bool).self)
        #expect(indexes.count == 1, "\(indexes)")
        #expect(indexes.first?.0 == "notifications_by_provider_message" && indexes.first?.2 == true)
        #expect(indexes.first?.1.contains("WHERE ((provider_message_id IS NOT NULL) AND (channel <> 'push'::text))") == true, "\(indexes)")
        #expect(try await stores[1].migrationsApplied().last == "v9-provider-message-index-without-push")
        for store in stores { await store.close() }
    }

    /// While the new index is built, other processes go on writing: with a transaction open on
    /// `notifications` (the build waits for it to end), another writer still takes its lock at
    /// once. A plain `CREATE INDEX` would queue for its lock first and hold every writer after it.
    @Test func writersAreNotHeldWhileTheProviderMessageIndexIsBuilt() async throws {
        guard let url = UserStoreConformanceTests.postgresURL else { return TestPostgres.skip() }
        let schema = TestPostgres.schemaName()
        let other = try await PostgresStore(url: url, attributes: UserStoreConformanceTests.schema, searchPath: schema, maximumConnections: 3)
        try await other.execute("DELETE FROM herald_migrations WHERE identifier = 'v9-provider-message-index-without-push'")
        let logger = Logger(label: "herald.test")
        let writing = AsyncStream<Void>.makeStream()
        let finish = AsyncStream<Void>.makeStream()
        // A writer's transaction that stays open until the end of the test.
        let open = Task {
            try await other.client.withTransaction(logger: logger) { connection in
                try await connection.query("LOCK TABLE notifications IN ROW EXCLUSIVE MODE", logger: logger)
                writing.continuation.yield()
                for await _ in finish.stream { break }
            }
        }
        for await _ in writing.stream { break }
        let opening = Task {
            try await PostgresStore(url: url, attributes: UserStoreConformanceTests.schema, searchPath: schema, maximumConnections: 2)
        }
        // Whatever happens below, the open transaction ends, so that the build (which holds the
        // schema lock that every test's store needs) can finish.
        defer { finish.continuation.finish() }
        // The build has started on this schema's table (it holds its lock) and waits for the
        // open transaction.
        var building = false
        for _ in 0..<600 where !building {
            try await Task.sleep(for: .milliseconds(50))
            building = try await other.rows("""
                SELECT COUNT(*) FROM pg_locks
                WHERE relation = (\(schema) || '.notifications')::regclass AND mode = 'ShareUpdateExclusiveLock' AND granted
                """, as: Int64.self).first == 1
        }
        #expect(building, "the index build never started")
        var wrote: (any Error)?
        do {
            try await other.client.withTransaction(logger: logger) { connection in
                try await connection.query("SET LOCAL lock_timeout = '2s'", logger: logger)
                try await connection.query("LOCK TABLE notifications IN ROW EXCLUSIVE MODE", logger: logger)
            }
        } catch {
            wrote = error
        }
        #expect(wrote == nil, "another writer waited for the index build: \(String(reflecting: wrote))")
        finish.continuation.yield()
        try await open.value
        let store = try await opening.value
        #expect(try await store.migrationsApplied().last == "v9-provider-message-index-without-push")
        await store.close()
        await other.close()
    }

    @Test func aURLThatIsNotPostgresIsRefusedWithTheReason() async throws {
        for (url, reason) in [
            ("mysql://herald@localhost/herald", "is not a postgres:// URL"),
            ("postgres:///herald", "has no host"),
            ("postgres://localhost:5432/herald", "names no user"),
            ("postgres://herald@localhost:5432", "names no database"),
        ] {
            #expect(throws: StoreError.self) { _ = try PostgresStore.Location(url: url) }
            do {
                _ = try PostgresStore.Location(url: url)
            } catch {
                #expect(error.message.contains(reason), "\(url): \(error.message)")
            }
        }
        let location = try PostgresStore.Location(url: "postgresql://app%40ops:s3cr%2Ft@db.internal:6432/herald")
        #expect(location == PostgresStore.Location(host: "db.internal", port: 6432, username: "app@ops", password: "s3cr/t", database: "herald"))
    }
}
