import Foundation
import GRDB
import HeraldCore
import HeraldRules
import HeraldTesting
import Testing

@Suite("Literals can never change the query")
struct InjectionTests {
    static let hostile = [
        "'; DROP TABLE users; --", "\" OR 1=1 --", "x' OR '1'='1", "a;b", "--", "/* x */", "*/", "%", "_", "\\",
        "' UNION SELECT id FROM devices --", "NULL", "?", "?1", ":name", "$.country", "')) OR ((1=1",
    ]

    @Test("Hostile strings are bound arguments: the SQL text is the same as with harmless ones")
    func sameShape() throws {
        let templates = [
            #"name == X"#, #"name != X or lower(name) == X"#, #"name in [X, "b"]"#, #"tags contains X"#,
            #"X in tags"#, #"email starts_with X and email ends_with X"#, #"phone contains X"#, #"name matches X"#,
            #"tags == [X, X]"#, #"first_name < X"#,
        ]
        for template in templates {
            for dialect in [SQLDialect.sqlite, .postgres(zoneNames: [])] {
                let harmless = try makeRule(template.replacingOccurrences(of: "X", with: #""a""#)).sql(in: testContext, dialect: dialect)
                for text in Self.hostile where !template.contains("matches") || (try? RulePattern(text)) != nil {
                    let quoted = ExpressionGenerator.quote(text, single: false)
                    let rule = try makeRule(template.replacingOccurrences(of: "X", with: quoted))
                    let condition = rule.sql(in: testContext, dialect: dialect)
                    #expect(condition.sql == harmless.sql, "\(template) with \(text)")
                    // PostgreSQL gets a pattern translated into its own syntax.
                    #expect(template.contains("matches") || condition.arguments.contains(.text(text)), "\(template) with \(text)")
                    #expect(condition.arguments.count == harmless.arguments.count)
                }
            }
        }
    }

    @Test("The campaign id and default zone are bound too")
    func contextIsBound() throws {
        let rule = try makeRule("bucket(10) < 5 and today() < now()")
        let plain = rule.sql(in: RuleContext(now: testNow, campaignID: "c", defaultTimezone: "UTC"))
        let hostile = rule.sql(in: RuleContext(now: testNow, campaignID: "x'); DROP TABLE users; --", defaultTimezone: "'; --"))
        #expect(plain.sql == hostile.sql)
        #expect(hostile.arguments.contains(.text("x'); DROP TABLE users; --")))
        let postgres = rule.sql(in: RuleContext(now: testNow, campaignID: "c", defaultTimezone: "UTC"), dialect: .postgres(zoneNames: ["'; --"]))
        let hostilePostgres = rule.sql(
            in: RuleContext(now: testNow, campaignID: "x'); DROP TABLE users; --", defaultTimezone: "'; --"), dialect: .postgres(zoneNames: ["'; --"])
        )
        #expect(postgres.sql == hostilePostgres.sql)
    }

    @Test("Hostile strings select exactly the users that have them, and nothing else happens")
    func selectsExactly() throws {
        let users = Self.hostile.enumerated().map { index, text in
            User(id: "u\(index)", email: text, attributes: ["name": .string(text), "tags": .list([.string(text)])])
        } + [User(id: "plain", email: "plain@example.com", attributes: ["name": .string("plain")])]
        let database = try TestDatabase()
        try database.replaceUsers(users)
        for (index, text) in Self.hostile.enumerated() {
            let quoted = ExpressionGenerator.quote(text, single: index % 2 == 0)
            for template in ["name == X", "email == X", "X in tags", "tags contains X", "name in [X]"] {
                let rule = try makeRule(template.replacingOccurrences(of: "X", with: quoted))
                #expect(try database.select(rule.sql(in: testContext)) == ["u\(index)"], "\(template) with \(text)")
                #expect(evaluatedIDs(rule, users) == ["u\(index)"], "\(template) with \(text)")
            }
        }
        // LIKE wildcards mean nothing: "%" and "_" are found only where they are.
        for (text, expected) in [("%", ["u7"]), ("_", ["u8"])] {
            let rule = try makeRule("name contains \(ExpressionGenerator.quote(text, single: false)) and name != \"plain\"")
            #expect(try database.select(rule.sql(in: testContext)) == expected)
        }
        let count = try database.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") }
        #expect(count == users.count)
    }

    @Test("Only identifier-like attribute names reach the SQL text")
    func attributeNamesAreSafe() {
        #expect(SQLCondition.attributeExpression(for: "x') OR 1=1 --", type: .string) == nil)
        #expect(SQLCondition.attributeExpression(for: "", type: .string) == nil)
        #expect(SQLCondition.attributeExpression(for: "1abc", type: .string) == nil)
        #expect(SQLCondition.attributeExpression(for: "last_seen", type: .time) == """
            CASE WHEN json_type(attributes, '$.last_seen') IN ('integer', 'real') THEN json_extract(attributes, '$.last_seen') END
            """)
    }
}
