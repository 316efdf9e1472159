import Foundation
import GRDB
import HeraldCore
import HeraldImport
import HeraldRules
@testable import HeraldStore
import HeraldTesting
import Testing

/// Audience rules through the real store (its migrations, attribute indexes and registered
/// functions) select exactly the users the in-memory evaluator accepts.
@Suite struct AudienceQueryTests {
    static let schema = AttributeSchema([
        AttributeDefinition(name: "country", type: .string),
        AttributeDefinition(name: "plan", type: .string, allowedValues: ["free", "pro", "enterprise"]),
        AttributeDefinition(name: "last_seen_at", type: .time),
        AttributeDefinition(name: "lifetime_value", type: .number),
        AttributeDefinition(name: "tags", type: .list(.string)),
        AttributeDefinition(name: "beta", type: .bool),
    ])
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static func source(_ text: String) -> RuleSource {
        RuleSource(text: text, location: SourceLocation(file: "campaigns/x.yml", line: 4, column: 10))
    }

    @Test(arguments: [
        #"country in ["KR", "JP", "US"] and plan != "enterprise" and last_seen_at > now() - 30d and lifetime_value >= 100 and not beta"#,
        #"country == "KR""#,
        #""vip" in tags or lower(email) ends_with "@example.com""#,
        #"has_device("ios") and bucket(10) < 3"#,
        #"today() > last_seen_at + 7d and not (plan == "free")"#,
        #"lifetime_value is null or len(tags) > 1"#,
    ])
    func theStoreSelectsWhatTheEvaluatorAccepts(expression: String) async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: Self.schema)
            var generator = UserGenerator(seed: 9, schema: Self.schema, now: Self.now)
            let users = generator.next(count: 600)
            _ = try await store.upsertUsers(users, at: Self.now)
            try await store.analyze()
            let rule = try Rule(Self.source(expression), schema: Self.schema)
            let context = RuleContext(now: Self.now, campaignID: "x")
            let expected = users.filter { rule.evaluate($0, in: context) }.map(\.id).sorted()
            let selected = try await store.userIDs(matching: .rule(Self.source(expression), now: Self.now, campaignID: "x"))
            #expect(selected == expected)
            #expect(try await store.countUsers(matching: .rule(Self.source(expression), now: Self.now, campaignID: "x")) == expected.count)
        }
    }

    /// `today()` for users without a zone of their own is the start of the day in herald.yml's
    /// default zone, in SQL as in memory.
    @Test(arguments: ["UTC", "Pacific/Pago_Pago", "Pacific/Kiritimati"])
    func todayUsesTheConfiguredDefaultZoneInBothBackEnds(zone: String) async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(
                path: directory.file("herald.db"), schema: Self.schema, configuration: SQLiteStore.Configuration(defaultTimezone: zone)
            )
            // Users without a zone, last seen every two hours over the three days around now.
            let users = (0..<36).map { index in
                User(id: String(format: "u-%02d", index), attributes: ["last_seen_at": .time(Self.now.addingTimeInterval(Double(index - 18) * 7200))])
            }
            _ = try await store.upsertUsers(users, at: Self.now)
            let expression = "last_seen_at >= today()"
            let rule = try Rule(Self.source(expression), schema: Self.schema)
            let expected = users.filter { rule.evaluate($0, in: RuleContext(now: Self.now, campaignID: "x", defaultTimezone: zone)) }.map(\.id)
            let selected = try await store.userIDs(matching: .rule(Self.source(expression), now: Self.now, campaignID: "x"))
            #expect(selected == expected)
            #expect(!expected.isEmpty && expected.count < users.count)
        }
    }

    /// Values stored before herald.yml changed their attributes' types are missing, as the store
    /// reads them back, and a rule still searches the attribute's index: the index and the rule
    /// read the attribute with the same expression.
    @Test func anEqualityOnADeclaredAttributeSearchesItsIndexAndSkipsValuesOfAnotherType() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: Self.schema)
            var generator = UserGenerator(seed: 9, schema: Self.schema, now: Self.now)
            var users = generator.next(count: 2000)
            _ = try await store.upsertUsers(users, at: Self.now)
            let mistyped = [
                #"{"country": ["KR"], "beta": 1}"#, #"{"country": 1, "lifetime_value": "500"}"#,
                #"{"lifetime_value": true, "tags": "vip"}"#, #"{"tags": ["vip", 1], "last_seen_at": "2026-11-30"}"#,
            ]
            for (index, json) in mistyped.enumerated() {
                let id = users[index].id
                try await store.pool.write { db in
                    try db.execute(sql: "UPDATE users SET attributes = ? WHERE id = ?", arguments: [json, id])
                }
                users[index].attributes = AttributeJSON.decode(json, schema: Self.schema)
            }
            try await store.analyze()
            let context = RuleContext(now: Self.now, campaignID: "x")
            for text in [#"country == "KR""#, "country is null", "lifetime_value >= 100", #""vip" in tags"#, "beta", "last_seen_at > now() - 30d"] {
                let rule = try Rule(Self.source(text), schema: Self.schema)
                let expected = users.filter { rule.evaluate($0, in: context) }.map(\.id).sorted()
                #expect(try await store.userIDs(matching: .rule(Self.source(text), now: Self.now, campaignID: "x")) == expected, "\(text)")
            }
            let explained = try await store.explain(Self.source(#"country == "KR""#), now: Self.now, campaignID: "x")
            #expect(explained.sql == """
                (CASE WHEN json_type(users.attributes, '$.country') = 'text' THEN json_extract(users.attributes, '$.country') END = ?) -- 'KR'
                """)
            #expect(explained.plan.contains { $0.contains("SEARCH users USING INDEX users_attribute_country") }, "\(explained.plan)")
        }
    }

    @Test func aRuleWithAnErrorFailsTheQueryWithItsFilePosition() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: Self.schema)
            await #expect {
                _ = try await store.userIDs(matching: .rule(Self.source(#"contry == "KR""#), now: Self.now, campaignID: "x"))
            } throws: { error in
                String(describing: error) == "campaigns/x.yml:4:10: unknown attribute 'contry' (did you mean 'country'?)"
            }
        }
    }
}

@Suite struct AudienceCheckTests {
    @Test func anAudienceIsCheckedWithoutRunningIt() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AudienceQueryTests.schema)
            let now = AudienceQueryTests.now
            try await store.checkAudience(.rule(AudienceQueryTests.source(#"country == "KR""#), now: now, campaignID: "x"))
            try await store.checkAudience(.everyone)
            await #expect {
                try await store.checkAudience(.rule(AudienceQueryTests.source("contry == 1"), now: now, campaignID: "x"))
            } throws: { error in
                String(describing: error).hasPrefix("campaigns/x.yml:4:10: unknown attribute 'contry'")
            }
        }
    }
}
