import Foundation
import GRDB
import HeraldCore
import HeraldRules
import HeraldTesting
import Testing

/// SQLite's read of a string attribute: its value when it is a JSON string, else NULL.
func stringRead(_ name: String) -> String {
    "CASE WHEN json_type(users.attributes, '$.\(name)') = 'text' THEN json_extract(users.attributes, '$.\(name)') END"
}

/// SQLite's read of a number or time attribute: its value when it is a JSON number, else NULL.
func numberRead(_ name: String) -> String {
    "CASE WHEN json_type(users.attributes, '$.\(name)') IN ('integer', 'real') THEN json_extract(users.attributes, '$.\(name)') END"
}

@Suite("SQL back end")
struct SQLTests {
    @Test("A typical rule compiles to plain, index-friendly comparisons with bound arguments")
    func typicalRule() throws {
        let rule = try makeRule(#"country == "KR" and age >= 18 and tags contains "vip" and last_seen > now() - 30d and not has_device("web")"#)
        let condition = rule.sql(in: testContext)
        #expect(condition.sql == """
            ((\(stringRead("country")) = ?) AND (\(numberRead("age")) >= ?) \
            AND EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(users.attributes, '$.tags') = 'array' \
            AND NOT EXISTS (SELECT 1 FROM json_each(users.attributes, '$.tags') WHERE type <> 'text') THEN users.attributes END, '$.tags') \
            AS je1 WHERE je1.value = ?) \
            AND (\(numberRead("last_seen")) > ?) \
            AND NOT EXISTS (SELECT 1 FROM devices WHERE devices.user_id = users.id AND devices.platform = ? AND devices.active = 1))
            """)
        #expect(condition.arguments == [
            .text("KR"), .real(18), .text("vip"), .time(testNow.timeIntervalSince1970 - 30 * 86_400), .text("web"),
        ])
        // --explain shows times as instants, not as seconds.
        #expect(condition.description.hasSuffix("-- 'KR', 18.0, 'vip', \(ISO8601.string(from: testNow.addingTimeInterval(-30 * 86_400))), 'web'"))
    }

    @Test("In PostgreSQL's dialect: typed JSONB reads, strings in the C collation, booleans, numbered parameters")
    func postgresDialect() throws {
        let rule = try makeRule(#"country == "KR" and age >= 18 and tags contains "vip" and last_seen > now() - 30d and not has_device("web") and not vip"#)
        let condition = rule.sql(in: testContext, dialect: .postgres(zoneNames: []))
        #expect(condition.sql == """
            (((herald_string(users.attributes -> 'country') COLLATE "C") = $1) AND (herald_number(users.attributes -> 'age') >= $2) \
            AND EXISTS (SELECT 1 FROM jsonb_array_elements(herald_list(users.attributes -> 'tags', 'string')) AS je1(value) \
            WHERE herald_string(je1.value) = $3) \
            AND (herald_number(users.attributes -> 'last_seen') > $4) \
            AND NOT EXISTS (SELECT 1 FROM devices WHERE devices.user_id = users.id AND devices.platform = $5 AND devices.active) \
            AND (herald_bool(users.attributes -> 'vip') IS NOT TRUE))
            """)
        #expect(condition.arguments == [
            .text("KR"), .real(18), .text("vip"), .time(testNow.timeIntervalSince1970 - 30 * 86_400), .text("web"),
        ])
        // A test used as a value is a boolean, a null is typed, a sum cannot raise an overflow error.
        #expect(try makeRule("vip == (age > 3) or score + age - 1 > 2 or name == lower(null)").sql(in: testContext, dialect: .postgres(zoneNames: [])).sql == """
            ((herald_bool(users.attributes -> 'vip') = (CASE WHEN (herald_number(users.attributes -> 'age') > $1) THEN TRUE ELSE FALSE END)) \
            OR (herald_subtract(herald_add(herald_number(users.attributes -> 'score'), herald_number(users.attributes -> 'age')), $2) > $3) \
            OR ((herald_string(users.attributes -> 'name') COLLATE "C") = herald_lower(CAST(NULL AS text))))
            """)
        // The index element is the expression the condition compares.
        #expect(SQLCondition.postgresIndexElement(for: "country", type: .string) == #"(herald_string(attributes -> 'country')) COLLATE "C""#)
        #expect(SQLCondition.postgresIndexElement(for: "age", type: .number) == "(herald_number(attributes -> 'age'))")
        #expect(SQLCondition.postgresIndexElement(for: "tags", type: .list(.string)) == nil)
        #expect(SQLCondition.postgresIndexElement(for: "x') OR 1=1 --", type: .string) == nil)
    }

    @Test("today() in PostgreSQL looks the user's zone up in the evaluator's day starts")
    func postgresToday() throws {
        let condition = try makeRule("today() < now()").sql(
            in: RuleContext(now: testNow, campaignID: "c", defaultTimezone: "Asia/Seoul"), dialect: .postgres(zoneNames: ["Mars/Base", "US/Pacific"])
        )
        #expect(condition.sql == #"(COALESCE(CAST(CAST($1 AS jsonb) ->> users.timezone AS double precision), $2) < $3)"#)
        guard case .text(let table) = condition.arguments[0] else {
            Issue.record("no table: \(condition.arguments)")
            return
        }
        // Zones whose day starts as the fallback's (Seoul's, here) are left out, and so are
        // names Foundation does not know; aliases the server knows are in.
        #expect(table.contains(#""America/New_York":1789963200.0"#))
        #expect(table.contains(#""US/Pacific":"#))
        #expect(!table.contains("Asia/Seoul") && !table.contains("Asia/Tokyo") && !table.contains("Mars/Base"))
        #expect(condition.arguments[1] == .time(RuleFunctions.today(now: testNow.timeIntervalSince1970, zone: nil, defaultZone: "Asia/Seoul")))
    }

    @Test("Negations keep two-valued logic: IS NOT 1 is true for false and for missing")
    func negations() throws {
        let vip = "CASE WHEN json_type(users.attributes, '$.vip') IN ('true', 'false') THEN json_extract(users.attributes, '$.vip') END"
        #expect(try makeRule(#"not (country == "KR")"#).sql(in: testContext).sql == "((\(stringRead("country")) = ?) IS NOT 1)")
        #expect(try makeRule(#"not (country == "KR" or vip)"#).sql(in: testContext).sql
            == "(((\(stringRead("country")) = ?) IS NOT 1) AND (\(vip) IS NOT 1))")
        #expect(try makeRule(#"country != "KR""#).sql(in: testContext).sql == "(\(stringRead("country")) <> ?)")
    }

    @Test("Expression indexes on declared attributes serve equality, IN and ranges", arguments: [
        (#"country == "KR""#, "users_country"),
        (#"country in ["KR", "JP"] and name == "x""#, "users_country"),
        ("last_seen > now() - 30d and last_seen <= now()", "users_last_seen"),
        (#"email == "a@example.com""#, "users_email"),
        ("age in [17, 18]", "users_age"),
        ("vip", "users_vip"),
    ])
    func indexesAreUsed(_ text: String, _ index: String) throws {
        let database = try TestDatabase()
        try database.queue.write { db in
            for (name, type) in [("country", AttributeType.string), ("last_seen", .time), ("age", .number), ("vip", .bool)] {
                try db.execute(sql: "CREATE INDEX users_\(name) ON users(\(SQLCondition.attributeExpression(for: name, type: type) ?? ""))")
            }
            try db.execute(sql: "CREATE INDEX users_email ON users(email)")
        }
        let plan = try database.plan(makeRule(text).sql(in: testContext))
        #expect(plan.contains { $0.contains("USING INDEX \(index)") }, "\(text): \(plan)")
    }

    @Test("Every function the SQL calls is registered, and a NULL argument gives NULL")
    func functions() {
        let names = RuleSQLFunctions.all.map(\.name)
        #expect(names == ["herald_lower", "herald_len", "herald_ends_with", "herald_matches", "herald_today", "herald_days_since", "herald_bucket"])
        for function in RuleSQLFunctions.all {
            #expect(function.isDeterministic)
            #expect(function.call(Array(repeating: .null, count: function.argumentCount)) == .null, "\(function.name)")
        }
        func call(_ name: String, _ arguments: [SQLValue]) -> SQLValue? {
            RuleSQLFunctions.all.first { $0.name == name }?.call(arguments)
        }
        #expect(call("herald_lower", [.text("ÄÖ İ")]) == .text("äö i\u{307}"))
        #expect(call("herald_len", [.text("e\u{301}👍🏽")]) == .integer(2))
        #expect(call("herald_ends_with", [.text("abc"), .text("")]) == .integer(1))
        #expect(call("herald_matches", [.text("abc"), .text("^a")]) == .integer(1))
        #expect(call("herald_matches", [.text("abc"), .text("(")]) == .null)
        #expect(call("herald_days_since", [.real(86_400 * 3 - 1), .integer(0)]) == .real(2))
        #expect(call("herald_days_since", [.real(0), .real(1)]) == .real(-1))
        #expect(call("herald_bucket", [.text("restock"), .text("ana"), .integer(100)]) == .integer(6))
        #expect(call("herald_bucket", [.text("restock"), .text("ana"), .integer(0)]) == .null)
        #expect(call("herald_today", [.real(testNow.timeIntervalSince1970), .null, .text("Asia/Seoul")]) == .real(1_789_916_400))
    }

    @Test("Arithmetic on literals and now() is one bound value; arithmetic on attributes is REAL")
    func arithmetic() throws {
        let folded = try makeRule("last_seen > now() - 30d + 1h").sql(in: testContext)
        #expect(folded.sql == "(\(numberRead("last_seen")) > ?)")
        #expect(folded.arguments == [.time(testNow.timeIntervalSince1970 - 30 * 86_400 + 3600)])
        let real = try makeRule("age + score > 3").sql(in: testContext)
        #expect(real.sql == "(CAST(\(numberRead("age")) AS REAL) + \(numberRead("score")) > ?)")
        // A sum is a flat chain; only an operand that is itself a sum keeps its parentheses.
        let nested = try makeRule("age - (age - score) + 1 > 3").sql(in: testContext)
        #expect(nested.sql == "(CAST(\(numberRead("age")) AS REAL) - (CAST(\(numberRead("age")) AS REAL) - \(numberRead("score"))) + ? > ?)")
        // 2^53 + 1 is not a double: Swift rounds, and so must SQL (integer addition would not).
        let users = [User(id: "big", attributes: ["age": .number(9_007_199_254_740_992), "score": .number(1)])]
        let database = try TestDatabase()
        try database.replaceUsers(users)
        let rule = try makeRule("age + score == 9007199254740992")
        #expect(evaluatedIDs(rule, users) == ["big"])
        #expect(try database.select(rule.sql(in: testContext)) == ["big"])
    }
}
