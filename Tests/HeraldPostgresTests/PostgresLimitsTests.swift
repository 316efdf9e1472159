import Foundation
import HeraldCore
import HeraldPostgres
import HeraldRules
import HeraldTesting
import PostgresNIO
import Testing

/// The checker's limits are SQLite's (`SQLLimits`); the rules at those limits run in PostgreSQL
/// too, and select the evaluator's users.
@Suite struct PostgresLimitsTests {
    static func agree(_ rule: Rule, _ store: PostgresStore, _ users: [User]) async throws -> Bool {
        let condition = rule.sql(in: RuleFixtures.context, dialect: .postgres(zoneNames: store.zoneNames))
        var bindings = PostgresBindings()
        for argument in condition.arguments { bindings.append(argument) }
        // Inside the store's own parentheses and terms, as users(matching:) runs it.
        let selected = try await store.selectIDs(where: "NOT guest AND ((\(condition.sql)))", bindings)
        return selected == RuleFixtures.evaluatedIDs(rule, users)
    }

    static func nest(_ levels: Int, _ inner: String, _ template: String) -> String {
        var text = inner
        for level in 0..<levels {
            text = template.replacingOccurrences(of: "&", with: level % 2 == 0 ? "and" : "or").replacingOccurrences(of: "@", with: text)
        }
        return text
    }

    @Test("The longest chains and sums, the deepest nestings and random deep rules the checker accepts run in PostgreSQL", .tags(.slow))
    func rulesAtTheLimitsRun() async throws {
        try await TestPostgres.withStore(attributes: RuleFixtures.schema) { store in
            let users = distinctDevices(RuleFixtures.semanticsUsers)
            _ = try await store.upsertUsers(users, at: RuleFixtures.now)
            var texts = [
                Array(repeating: "age > 1", count: 256).joined(separator: " or "),
                Array(repeating: "age > 1", count: 256).joined(separator: " and "),
                "age" + String(repeating: " + score - age", count: 32) + " > 1",
                "(age" + String(repeating: " + score", count: 64) + ")" + String(repeating: " - age", count: 64) + " > 1",
            ]
            for (template, inner, suffix, deepest) in [
                ("(vip & @)", "vip", "", 20), ("(@ & vip)", "vip", "", 20), ("(vip == @)", "vip", "", 7), ("(@ != vip)", "vip", "", 7),
                ("not (vip and not (vip == (@)))", "vip", "", 4), ("(@ in flags)", "vip", "", 3), ("not (@ not in flags)", "vip", "", 2),
                ("(@ in [true])", "vip", "", 7), ("(@ is null)", "vip", "", 7), ("lower(@)", "name", #" == "x""#, 13),
                ("(age + @)", "age", " > 1", 13), ("(flags contains (@))", "vip", "", 3),
            ] {
                texts.append(Self.nest(deepest, inner, template) + suffix)
            }
            let seed = SeededRandom.runSeed()
            var random = SeededRandom(seed: seed)
            for _ in 0..<300 { texts.append(RuleFixtures.deepTest(&random, budget: random.int(14) + 2)) }
            var ran = 0
            for text in texts {
                guard let rule = try? RuleFixtures.makeRule(text) else { continue }
                #expect(try await Self.agree(rule, store, users), "seed \(seed): \(text.prefix(300))")
                ran += 1
            }
            #expect(ran > 30 + 16, "seed \(seed): only \(ran) rules checked")
        }
    }
}
