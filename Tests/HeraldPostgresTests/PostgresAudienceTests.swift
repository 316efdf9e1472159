import Foundation
import HeraldCore
import HeraldPostgres
import HeraldRules
import HeraldTesting
import PostgresNIO
import Testing

/// `PostgresStore.users(matching:after:limit:)` and `countUsers` with audience rules: the users
/// the evaluator accepts, page by page, without guests; attribute indexes that the rules use.
@Suite struct PostgresAudienceTests {
    static func rule(_ text: String) -> UserFilter {
        .rule(RuleSource(text: text, location: RuleFixtures.location), now: RuleFixtures.now, campaignID: "restock")
    }

    @Test("A rule selects the evaluator's users, page by page, and counts them; guests are in no audience")
    func rulesSelectPageByPage() async throws {
        try await TestPostgres.withStore(attributes: RuleFixtures.schema, defaultTimezone: "Asia/Seoul") { store in
            var generator = RuleUserGenerator(random: SeededRandom(seed: 7), now: RuleFixtures.now)
            let users = distinctDevices(generator.users(count: 120))
            let events = generator.events(of: users)
            _ = try await store.upsertUsers(users, at: RuleFixtures.now)
            try await store.execute("""
                INSERT INTO received_events (user_id, name, received_at, recorded_at)
                SELECT *, 0 FROM unnest(\(events.map(\.userID)), \(events.map(\.name)), \(events.map { $0.at.timeIntervalSince1970 }))
                """)
            let guest = users[3].id
            try await store.execute("UPDATE users SET guest = TRUE WHERE id = \(guest)")
            var context = RuleContext(now: RuleFixtures.now, campaignID: "restock", defaultTimezone: "Asia/Seoul")
            for event in events { context.add([(name: event.name, at: event.at)], for: event.userID) }
            for text in [
                #"country == "KR" or vip"#, "today() < now() and bucket(10) < 5", #"performed("purchase", within: 30d) or lower(name) matches "^[a-z]""#,
                "len(tags) >= 1 and not has_device()", "age + score > 10",
            ] {
                let rule = try RuleFixtures.makeRule(text)
                let expected = RuleFixtures.evaluatedIDs(rule, users.filter { $0.id != guest }, context)
                var seen: [String] = []
                var last: String?
                while true {
                    let page = try await store.users(matching: Self.rule(text), after: last, limit: 7)
                    guard let end = page.last else { break }
                    seen += page.map(\.id)
                    last = end.id
                }
                #expect(seen == expected, "\(text)")
                #expect(try await store.countUsers(matching: Self.rule(text)) == expected.count, "\(text)")
                let among = Array(users.map(\.id).shuffled().prefix(30)) + [guest, "nobody"]
                let filter = UserFilter.ruleAmong(ids: among, RuleSource(text: text, location: RuleFixtures.location), now: RuleFixtures.now, campaignID: "restock")
                let picked = try await store.users(matching: filter, after: nil, limit: 100)
                #expect(picked.map(\.id) == expected.filter { among.contains($0) }, "\(text) among some")
                try await store.checkAudience(Self.rule(text))
            }
        }
    }

    @Test("A rule that does not check is refused with its diagnostics, before any query")
    func badRulesAreRefused() async throws {
        try await TestPostgres.withStore(attributes: RuleFixtures.schema) { store in
            await #expect(throws: DiagnosticList.self) { try await store.checkAudience(Self.rule("contry == 1")) }
            await #expect(throws: DiagnosticList.self) { _ = try await store.countUsers(matching: Self.rule("age ==")) }
        }
    }

    @Test("Declared scalar attributes get expression indexes that rules use; a changed type rebuilds its index")
    func attributeIndexes() async throws {
        guard let url = TestPostgres.url else { return TestPostgres.skip() }
        let schemaName = TestPostgres.schemaName()
        let store = try await PostgresStore(url: url, attributes: RuleFixtures.schema, searchPath: schemaName, maximumConnections: 2)
        let indexes = try await store.rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'users\\_attribute\\_%' ORDER BY 1",
            as: String.self
        )
        #expect(indexes == ["users_attribute_age", "users_attribute_birthday", "users_attribute_country", "users_attribute_last_seen",
                            "users_attribute_name", "users_attribute_score", "users_attribute_vip"])
        let users = (0..<2_000).map { User(id: "u\($0)", attributes: ["country": .string(["KR", "US", "JP"][$0 % 3] + "\($0)"), "age": .number(Double($0 % 90))]) }
        _ = try await store.upsertUsers(users, at: RuleFixtures.now)
        try await store.execute("ANALYZE users")
        for (text, index) in [
            (#"country == "KR3""#, "users_attribute_country"), (#"country in ["KR3", "US4"]"#, "users_attribute_country"),
            (#"country > "US1990""#, "users_attribute_country"), ("age == 3", "users_attribute_age"),
        ] {
            let condition = try RuleFixtures.makeRule(text, schema: AttributeSchema([
                AttributeDefinition(name: "country", type: .string), AttributeDefinition(name: "age", type: .number),
            ])).sql(in: RuleFixtures.context, dialect: .postgres(zoneNames: []))
            var bindings = PostgresBindings()
            for argument in condition.arguments { bindings.append(argument) }
            let plan = try await store.rows(
                PostgresQuery(unsafeSQL: "EXPLAIN SELECT id FROM users WHERE \(condition.sql)", binds: bindings), as: String.self
            )
            #expect(plan.contains { $0.contains(index) }, "\(text): \(plan)")
        }
        await store.close()

        // `age` becomes a string: its index is built again on herald_string, in the C collation.
        let changed = AttributeSchema([AttributeDefinition(name: "age", type: .string)])
        let reopened = try await PostgresStore(url: url, attributes: changed, searchPath: schemaName, maximumConnections: 2)
        let definition = try await reopened.rows(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'users_attribute_age'", as: String.self
        )
        #expect(definition.count == 1 && definition[0].contains("herald_string") && definition[0].contains(#"COLLATE "C""#), "\(definition)")
        await reopened.close()
    }

    /// An attribute with capitals keeps its index under its own name: a second open finds it and
    /// leaves it as it is (an unquoted name lost its capitals, and the next open failed on it).
    @Test func anAttributeWithCapitalsKeepsItsIndexAcrossOpens() async throws {
        guard let url = TestPostgres.url else { return TestPostgres.skip() }
        let schemaName = TestPostgres.schemaName()
        let attributes = AttributeSchema([AttributeDefinition(name: "signupDate", type: .time)])
        let first = try await PostgresStore(url: url, attributes: attributes, searchPath: schemaName, maximumConnections: 2)
        let query: PostgresQuery = "SELECT c.oid::bigint FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = 'users_attribute_signupDate'"
        let made = try await first.rows(query, as: Int64.self)
        await first.close()
        let second = try await PostgresStore(url: url, attributes: attributes, searchPath: schemaName, maximumConnections: 2)
        #expect(made.count == 1)
        #expect(try await second.rows(query, as: Int64.self) == made, "built again")
        await second.close()
    }
}
