import Foundation
import HeraldCore
import HeraldRules
import HeraldTesting
import Testing

@Suite("Semantics, in memory and in SQL")
struct SemanticsTests {
    @Test(arguments: semanticsCases.indices)
    func selectsTheSameUsersBothWays(_ index: Int) throws {
        let (text, expected) = semanticsCases[index]
        let rule = try makeRule(text)
        #expect(evaluatedIDs(rule, semanticsUsers) == expected, "in memory: \(text)")
        let database = try TestDatabase()
        try database.replaceUsers(semanticsUsers)
        #expect(try database.select(rule.sql(in: testContext)) == expected, "in SQL: \(text)")
    }

    @Test("today() is the start of the day in the recipient's zone, else the default zone, else UTC")
    func todayInTheRecipientsZone() throws {
        // testNow is 2026-09-21T14:13:20Z: 23:13 in Seoul, 10:13 in New York, 04:13 the next day in Kiritimati.
        let users = [
            User(id: "seoul", timezone: "Asia/Seoul"),
            User(id: "new-york", timezone: "America/New_York"),
            User(id: "kiritimati", timezone: "Pacific/Kiritimati"),
            User(id: "none"),
            User(id: "unknown", timezone: "Mars/Olympus_Mons"),
        ]
        let database = try TestDatabase()
        try database.replaceUsers(users)
        let cases: [(defaultZone: String, text: String, expected: [String])] = [
            ("UTC", "today() == 2026-09-20T15:00:00Z", ["seoul"]),
            ("UTC", "today() == 2026-09-21T04:00:00Z", ["new-york"]),
            ("UTC", "today() == 2026-09-21T10:00:00Z", ["kiritimati"]),
            ("UTC", "today() == 2026-09-21", ["none", "unknown"]),
            ("Asia/Seoul", "today() == 2026-09-20T15:00:00Z", ["none", "seoul", "unknown"]),
            ("Not/A_Zone", "today() == 2026-09-21T00:00:00Z", ["none", "unknown"]),
        ]
        for (defaultZone, text, expected) in cases {
            let context = RuleContext(now: testNow, campaignID: "restock", defaultTimezone: defaultZone)
            let rule = try makeRule(text)
            #expect(evaluatedIDs(rule, users, context) == expected, "in memory: \(text) with default \(defaultZone)")
            #expect(try database.select(rule.sql(in: context)) == expected, "in SQL: \(text) with default \(defaultZone)")
        }
    }

    @Test("bucket(n) is FNV-1a 64 of campaign and user id, so campaigns split independently")
    func bucketIsStable() {
        #expect(RuleFunctions.bucket(campaignID: "restock", userID: "ana", count: 100) == 6)
        #expect(RuleFunctions.bucket(campaignID: "restock", userID: "ben", count: 100) == 37)
        #expect(RuleFunctions.bucket(campaignID: "spring", userID: "ana", count: 100) == 96)
        #expect(RuleFunctions.bucket(campaignID: "restock", userID: "u1", count: 7) == 0)
    }

    @Test("== and ordering compare strings byte for byte, not by canonical equivalence")
    func stringsCompareByCodePoint() throws {
        let users = [
            User(id: "composed", attributes: ["name": .string("\u{E9}")]),
            User(id: "decomposed", attributes: ["name": .string("e\u{301}")]),
            User(id: "z", attributes: ["name": .string("z")]),
        ]
        let database = try TestDatabase()
        try database.replaceUsers(users)
        for (text, expected) in [
            ("name == \"\u{E9}\"", ["composed"]),
            ("name == \"e\u{301}\"", ["decomposed"]),
            // U+00E9 sorts after "z" (0x7A) by code point; "e" + U+0301 before it.
            ("name > \"z\"", ["composed"]),
            ("name < \"z\"", ["decomposed"]),
        ] {
            let rule = try makeRule(text)
            #expect(evaluatedIDs(rule, users) == expected, "in memory: \(text)")
            #expect(try database.select(rule.sql(in: testContext)) == expected, "in SQL: \(text)")
        }
    }

    @Test("Attributes named like keywords or fields are reachable through attributes.")
    func keywordNamedAttributes() throws {
        let schema = AttributeSchema([
            AttributeDefinition(name: "in", type: .number),
            AttributeDefinition(name: "email", type: .string),
        ])
        let user = User(id: "a", email: "field@example.com", attributes: ["in": .number(2), "email": .string("attribute@example.com")])
        let rule = try makeRule(#"attributes.in == 2 and attributes.email == "attribute@example.com" and email == "field@example.com""#, schema: schema)
        #expect(rule.evaluate(user, in: testContext))
        let database = try TestDatabase()
        try database.replaceUsers([user])
        #expect(try database.select(rule.sql(in: testContext)) == ["a"])
        #expect(rule.description == #"attributes.in == 2 and attributes.email == "attribute@example.com" and email == "field@example.com""#)
    }

    @Test("A rule reports the attributes it reads, for indexes")
    func attributeNames() throws {
        let rule = try makeRule(#"country == "KR" and (age > 3 or country == "US") and "a" in tags and email is null"#)
        #expect(rule.attributeNames == ["country", "age", "tags"])
        #expect(SQLCondition.attributeExpression(for: "country", type: .string)
            == "CASE WHEN json_type(attributes, '$.country') = 'text' THEN json_extract(attributes, '$.country') END")
        #expect(SQLCondition.attributeExpression(for: "vip", type: .bool)
            == "CASE WHEN json_type(attributes, '$.vip') IN ('true', 'false') THEN json_extract(attributes, '$.vip') END")
        #expect(SQLCondition.attributeExpression(for: "bad'name", type: .string) == nil)
        // A list is searched with json_each, which no index serves.
        #expect(SQLCondition.attributeExpression(for: "tags", type: .list(.string)) == nil)
    }
}
