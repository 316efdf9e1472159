import Foundation
import HeraldCore
import HeraldRules
import HeraldTesting
import Testing

@Suite("Both back ends select the same users")
struct PropertyTests {
    @Test("Random well-typed expressions, performed() and count() among them, select the same users in memory and in SQLite", .tags(.slow))
    func evaluatorAndSQLAgree() throws {
        let seed = SeededRandom.runSeed()
        var random = SeededRandom(seed: seed)
        let database = try TestDatabase()
        let populations = 50
        let expressionsPerPopulation = 100
        var checked = 0
        var selectedSome = 0
        var selectedNone = 0
        var withEvents = 0
        for population in 0..<populations {
            let now = testNow.addingTimeInterval(Double(random.int(1_000_000)))
            var users = UserGenerator(random: SeededRandom(seed: random.next()), now: now)
            let people = users.users(count: 40)
            let events = users.events(of: people)
            try database.replaceUsers(people)
            try database.replaceEvents(events)
            var generator = ExpressionGenerator(random: SeededRandom(seed: random.next()), now: now)
            var made = 0
            while made < expressionsPerPopulation {
                let text = generator.condition(random.int(4) + 1).text
                let rule: Rule
                do {
                    rule = try makeRule(text)
                } catch {
                    // A literal outside country's closed set is the generator's only allowed miss.
                    if error.diagnostics.allSatisfy({ $0.message.hasSuffix("is not a value of 'country'") }) { continue }
                    Issue.record("seed \(seed): generated an expression that does not check: \(text)\n\(error)")
                    return
                }
                made += 1
                var context = RuleContext(
                    now: now, campaignID: random.pick(["restock", "spring-sale", "x'y"]),
                    defaultTimezone: random.pick(["UTC", "Asia/Tokyo", "Not/AZone"])
                )
                for event in events { context.add([(name: event.name, at: event.at)], for: event.userID) }
                let inMemory = evaluatedIDs(rule, people, context)
                let condition = rule.sql(in: context)
                let inSQL = try database.select(condition)
                if inMemory != inSQL {
                    Issue.record("""
                        seed \(seed) (rerun with HERALD_TEST_SEED=\(seed)), population \(population): \(text)
                        in memory only: \(Set(inMemory).subtracting(inSQL).sorted())
                        in SQL only: \(Set(inSQL).subtracting(inMemory).sorted())
                        SQL: \(condition)
                        """)
                    return
                }
                checked += 1
                if text.contains("performed(") || text.contains("count(") { withEvents += 1 }
                if inMemory.isEmpty { selectedNone += 1 } else { selectedSome += 1 }
            }
        }
        #expect(checked == populations * expressionsPerPopulation)
        #expect(withEvents > checked / 20, "seed \(seed): only \(withEvents) of \(checked) rules used performed() or count()")
        // The generator must not degenerate into rules that select nobody.
        #expect(selectedSome > checked / 4, "seed \(seed): only \(selectedSome) of \(checked) rules selected anyone")
    }
}
