import Foundation
import GRDB
import HeraldCore
import HeraldRules
@testable import HeraldStore
import HeraldTesting
import Testing

let schema = AttributeSchema([
    AttributeDefinition(name: "country", type: .string),
    AttributeDefinition(name: "lifetime_value", type: .number),
    AttributeDefinition(name: "beta", type: .bool),
    AttributeDefinition(name: "last_seen_at", type: .time),
    AttributeDefinition(name: "tags", type: .list(.string)),
])

func makeStore(_ directory: TemporaryDirectory) throws -> SQLiteStore {
    try SQLiteStore(path: directory.file("herald.db"), schema: schema)
}

let ana = User(
    id: "u-1", email: "ana@example.com", phone: "+821012345678", locale: "ko-KR", timezone: "Asia/Seoul",
    firstName: "Ana", lastName: "Kim", createdAt: Date(timeIntervalSince1970: 1_700_000_000),
    attributes: [
        "country": .string("KR"), "lifetime_value": .number(120.5), "beta": .bool(true),
        "last_seen_at": .time(Date(timeIntervalSince1970: 1_795_000_000)), "tags": .list([.string("vip"), .string("beta")]),
    ],
    devices: [
        Device(platform: .ios, token: "a1b2c3"),
        Device(platform: .web, subscription: WebPushSubscription(endpoint: "https://push.example.com/x", p256dh: "BPk", auth: "au")),
    ],
    preferences: Preferences(["email": false, "push:marketing": true])
)

@Suite struct UserStoreTests {
    @Test func storedUsersReadBackWithEveryFieldDeviceAndPreference() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let summary = try await store.upsertUsers([ana, User(id: "u-2")], at: Date())
            #expect(summary == UpsertSummary(inserted: 2, updated: 0, unchanged: 0))
            let users = try await store.users(matching: .everyone, after: nil, limit: 10)
            #expect(users.map(\.id) == ["u-1", "u-2"])
            #expect(users[0] == ana)
            #expect(users[1] == User(id: "u-2"))
        }
    }

    @Test func importingTheSameUsersTwiceChangesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([ana, User(id: "u-2", email: "b@example.com")], at: Date(timeIntervalSince1970: 1))
            let again = try await store.upsertUsers([ana, User(id: "u-2", email: "b@example.com")], at: Date(timeIntervalSince1970: 2))
            #expect(again == UpsertSummary(inserted: 0, updated: 0, unchanged: 2))
            let updatedAt = try await store.rows(sql: "SELECT updated_at FROM users ORDER BY id")
            #expect(updatedAt == [["1.0"], ["1.0"]])
        }
    }

    @Test func aChangedFieldDeviceOrPreferenceCountsAsAnUpdate() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([ana, User(id: "u-2"), User(id: "u-3")], at: Date())
            var renamed = ana
            renamed.firstName = "Anna"
            var newDevice = User(id: "u-2")
            newDevice.devices = [Device(platform: .android, token: "fcm-1")]
            var optedOut = User(id: "u-3")
            optedOut.preferences["sms"] = false
            let summary = try await store.upsertUsers([renamed, newDevice, optedOut, User(id: "u-4")], at: Date())
            #expect(summary == UpsertSummary(inserted: 1, updated: 3, unchanged: 0))
            let users = try await store.users(matching: .ids(["u-1", "u-2", "u-3"]), after: nil, limit: 10)
            #expect(users.map(\.firstName) == ["Anna", nil, nil])
            #expect(users[1].devices == [Device(platform: .android, token: "fcm-1")])
            #expect(users[2].preferences.allows(channel: .sms, category: "marketing") == false)
        }
    }

    @Test func pagesThroughUsersInIDOrder() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let users = (1...25).map { User(id: String(format: "u-%03d", $0)) }
            _ = try await store.upsertUsers(users.shuffled(), at: Date())
            var seen: [String] = []
            var last: String?
            while true {
                let page = try await store.users(matching: .everyone, after: last, limit: 10)
                guard let tail = page.last else { break }
                #expect(page.count <= 10)
                seen += page.map(\.id)
                last = tail.id
            }
            #expect(seen == users.map(\.id))
            #expect(try await store.countUsers(matching: .ids(["u-003", "u-404", "u-010"])) == 2)
        }
    }

    /// Ids reach SQLite as a JSON array (`json_each(?)`) written by hand: every character an id
    /// may hold must come back as it was, devices and preferences included.
    @Test func usersWhoseIDsNeedEscapingAreFoundByID() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let ids = ["quote\"d", "back\\slash", "tab\tand\u{1}", "slash/é/🙂", "line\u{2028}sep", "[\"x\"]"]
            let users = ids.map { id in
                User(id: id, devices: [Device(platform: .ios, token: "t-" + id)], preferences: Preferences(["sms": false]))
            }
            _ = try await store.upsertUsers(users + [User(id: "other")], at: Date())
            let found = try await store.users(matching: .ids(ids), after: nil, limit: 10)
            #expect(found.map(\.id) == ids.sorted())
            #expect(found.map { $0.devices.first?.token } == ids.sorted().map { "t-" + $0 })
            #expect(found.allSatisfy { $0.preferences.allows(channel: .sms, category: "marketing") == false })
            #expect(try await store.countUsers(matching: .ids(ids + ["quote"])) == ids.count)
        }
    }

    @Test func aDatabaseFileThatIsNotSQLiteGivesAClearError() async throws {
        try await withTemporaryDirectory { directory in
            let path = try directory.write("broken.db", String(repeating: "not a database ", count: 400))
            #expect {
                try SQLiteStore(path: path, schema: schema)
            } throws: { error in
                String(describing: error) == "'\(path)' is not a Herald database (not an SQLite file); name the right file with --database"
            }
        }
    }

    @Test func aReadOnlyStoreNeverCreatesAFileAndSaysHowToMakeOne() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("typo.db")
            #expect {
                try SQLiteStore(path: path, schema: schema, configuration: SQLiteStore.Configuration(access: .readOnly))
            } throws: { error in
                String(describing: error) == "no database at '\(path)'; create one with `herald users import FILE` or `herald users generate --count N`, or name the right file with --database"
            }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func aReadOnlyStoreReadsWhileAnotherProcessHoldsTheWriteLockAndCannotWrite() async throws {
        try await withTemporaryDirectory { directory in
            _ = try await makeStore(directory).upsertUsers([ana], at: Date())
            // Another process in the middle of a long write transaction.
            var configuration = GRDB.Configuration()
            configuration.allowsUnsafeTransactions = true
            let other = try DatabaseQueue(path: directory.file("herald.db"), configuration: configuration)
            try await other.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE; INSERT INTO users (id) VALUES ('u-uncommitted')")
            }
            // Opening read-only writes nothing (a read-write open migrates, and would wait for the
            // lock for its whole busy timeout, then fail), and reading does not wait either.
            let reader = try SQLiteStore(
                path: directory.file("herald.db"), schema: schema,
                configuration: SQLiteStore.Configuration(busyTimeout: 0.2, access: .readOnly)
            )
            #expect(try await reader.countUsers(matching: .everyone) == 1)
            #expect {
                try SQLiteStore(path: directory.file("herald.db"), schema: schema, configuration: SQLiteStore.Configuration(busyTimeout: 0.2))
            } throws: { error in
                String(describing: error).contains("is locked by another process; try again when it is done")
            }
            try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            await #expect {
                _ = try await reader.upsertUsers([User(id: "u-9")], at: Date())
            } throws: { error in
                String(describing: error).contains("read-only")
            }
        }
    }
}

@Suite struct AttributeIndexTests {
    func definition(_ store: SQLiteStore, _ name: String) async throws -> String? {
        try await store.rows(sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]).first?.first
    }

    /// An index reads its attribute as the declared type, so it is built again when herald.yml
    /// declares another type, and left alone when the type is the same.
    @Test func anAttributeThatChangesTypeGetsItsIndexBuiltAgain() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("herald.db")
            let asString = try SQLiteStore(path: path, schema: AttributeSchema([AttributeDefinition(name: "code", type: .string)]))
            #expect(try await definition(asString, "users_attribute_code")?.contains("json_type(attributes, '$.code') = 'text'") == true)
            let asNumber = try SQLiteStore(path: path, schema: AttributeSchema([AttributeDefinition(name: "code", type: .number)]))
            let wanted = try #require(SQLCondition.attributeExpression(for: "code", type: .number))
            #expect(try await definition(asNumber, "users_attribute_code") == "CREATE INDEX users_attribute_code ON users (\(wanted))")
            let again = try SQLiteStore(path: path, schema: AttributeSchema([AttributeDefinition(name: "code", type: .number)]))
            #expect(try await definition(again, "users_attribute_code") == "CREATE INDEX users_attribute_code ON users (\(wanted))")
        }
    }
}

@Suite struct BulkLoadTests {
    func indexes(_ store: SQLiteStore) async throws -> [[String]] {
        try await store.rows(sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'users_attribute_%' ORDER BY name")
    }

    @Test func aBulkLoadRunsWithoutTheAttributeIndexesAndEndsWithAllOfThem() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let all = try await indexes(store)
            #expect(all == [["users_attribute_beta"], ["users_attribute_country"], ["users_attribute_last_seen_at"], ["users_attribute_lifetime_value"]])
            let during = try await store.withAttributeIndexesDeferred {
                _ = try await store.upsertUsers([ana], at: Date())
                return try await indexes(store)
            }
            #expect(during == [])
            #expect(try await indexes(store) == all)
            struct Interrupted: Error {}
            await #expect(throws: Interrupted.self) {
                try await store.withAttributeIndexesDeferred { throw Interrupted() }
            }
            #expect(try await indexes(store) == all)
            // A load killed part way leaves them missing until the store is opened for writing.
            _ = try await store.pool.write { db in try db.execute(sql: "DROP INDEX users_attribute_country") }
            #expect(try await indexes(try makeStore(directory)) == all)
        }
    }
}
