import Foundation
import HeraldCore
import HeraldPostgres
import HeraldRules
import HeraldTesting
import PostgresNIO
import Testing

/// One rule, one meaning, three engines: the in-memory evaluator (the reference), SQLite and
/// PostgreSQL select the same users. Without `HERALD_TEST_POSTGRES_URL` the PostgreSQL side is
/// skipped, and says so.
@Suite("The evaluator, SQLite and PostgreSQL select the same users")
struct RulesAgreementTests {
    /// The populations as all three engines hold them: the evaluator reads the `User`s, SQLite a
    /// file written as the store writes it, PostgreSQL a store in a schema of its own.
    final class Engines {
        let sqlite: RuleTestDatabase
        let postgres: PostgresStore?

        private init(sqlite: RuleTestDatabase, postgres: PostgresStore?) {
            self.sqlite = sqlite
            self.postgres = postgres
        }

        /// Runs `body` with the engines, and closes them after.
        static func with(test: String = #function, _ body: (Engines) async throws -> Void) async throws {
            var postgres: PostgresStore?
            if let url = TestPostgres.url {
                postgres = try await PostgresStore(
                    url: url, attributes: RuleFixtures.schema, searchPath: TestPostgres.schemaName(), maximumConnections: 2
                )
            } else {
                TestPostgres.skip(test + " (PostgreSQL side; the evaluator and SQLite still run)")
            }
            let engines = Engines(sqlite: try RuleTestDatabase(), postgres: postgres)
            do {
                try await body(engines)
            } catch {
                await postgres?.close()
                throw error
            }
            await postgres?.close()
        }

        func load(_ users: [User], events: [(userID: String, name: String, at: Date)]) async throws {
            try sqlite.replaceUsers(users)
            try sqlite.replaceEvents(events)
            guard let postgres else { return }
            try await postgres.execute("DELETE FROM users")
            _ = try await postgres.upsertUsers(users, at: RuleFixtures.now)
            try await postgres.execute("""
                INSERT INTO received_events (user_id, name, received_at, recorded_at)
                SELECT *, 0 FROM unnest(\(events.map(\.userID)), \(events.map(\.name)), \(events.map { $0.at.timeIntervalSince1970 }))
                """)
        }

        /// A description of each engine that disagrees with the evaluator; empty when all agree.
        func disagreements(_ rule: Rule, _ users: [User], _ context: RuleContext) async throws -> [String] {
            let expected = RuleFixtures.evaluatedIDs(rule, users, context)
            var problems: [String] = []
            let sqliteCondition = rule.sql(in: context)
            let inSQLite = try sqlite.select(sqliteCondition)
            if inSQLite != expected { problems.append(Self.describe("SQLite", inSQLite, expected, sqliteCondition, users)) }
            if let postgres {
                let condition = rule.sql(in: context, dialect: .postgres(zoneNames: postgres.zoneNames))
                var bindings = PostgresBindings()
                for argument in condition.arguments { bindings.append(argument) }
                let inPostgres = try await postgres.selectIDs(where: condition.sql, bindings)
                if inPostgres != expected { problems.append(Self.describe("PostgreSQL", inPostgres, expected, condition, users)) }
            }
            return problems
        }

        private static func describe(
            _ engine: String, _ selected: [String], _ expected: [String], _ condition: SQLCondition, _ users: [User]
        ) -> String {
            let arguments = condition.arguments.map { argument in
                let text = argument.description
                return text.count > 200 ? String(text.prefix(200)) + "…" : text
            }
            let differing = Set(selected).symmetricDifference(expected)
            return """
                \(engine) only: \(Set(selected).subtracting(expected).sorted()); in memory only: \(Set(expected).subtracting(selected).sorted())
                \(engine) SQL: \(condition.sql) -- \(arguments.joined(separator: ", "))
                \(users.filter { differing.contains($0.id) }.map { String(reflecting: $0) }.joined(separator: "\n"))
                """
        }
    }

    @Test("Random well-typed expressions, matches(), today() and performed() among them, select the same users everywhere", .tags(.slow))
    func randomExpressions() async throws {
        let seed = SeededRandom.runSeed()
        try await Engines.with { engines in try await Self.randomExpressions(seed: seed, engines: engines) }
    }

    static func randomExpressions(seed: UInt64, engines: Engines) async throws {
        var random = SeededRandom(seed: seed)
        let populations = 50
        let expressionsPerPopulation = 100
        var checked = 0
        var selectedSome = 0
        var used: [String: Int] = [:]
        for population in 0..<populations {
            let now = RuleFixtures.now.addingTimeInterval(Double(random.int(1_000_000)))
            var generator = RuleUserGenerator(random: SeededRandom(seed: random.next()), now: now)
            let people = distinctDevices(generator.users(count: 40))
            let events = generator.events(of: people)
            try await engines.load(people, events: events)
            var expressions = RuleExpressionGenerator(random: SeededRandom(seed: random.next()), now: now)
            var made = 0
            while made < expressionsPerPopulation {
                let text = expressions.condition(random.int(4) + 1).text
                let rule: Rule
                do {
                    rule = try RuleFixtures.makeRule(text)
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
                let problems = try await engines.disagreements(rule, people, context)
                if !problems.isEmpty {
                    Issue.record("""
                        seed \(seed) (rerun with HERALD_TEST_SEED=\(seed)), population \(population): \(text)
                        \(problems.joined(separator: "\n"))
                        """)
                    return
                }
                checked += 1
                for function in ["matches", "today()", "lower(", "len(", "bucket(", "days_since(", "performed(", "count(", " + ", " - "]
                where text.contains(function) {
                    used[function, default: 0] += 1
                }
                if !RuleFixtures.evaluatedIDs(rule, people, context).isEmpty { selectedSome += 1 }
            }
        }
        print("seed \(seed): \(checked) rules agree on \(populations) populations; rules using each function: \(used.sorted { $0.key < $1.key })")
        #expect(checked == populations * expressionsPerPopulation)
        #expect(selectedSome > checked / 4, "seed \(seed): only \(selectedSome) of \(checked) rules selected anyone")
        for function in ["matches", "today()", "lower(", "len(", "bucket(", "days_since(", "performed("] {
            #expect(used[function, default: 0] > checked / 100, "seed \(seed): only \(used[function, default: 0]) rules used \(function)")
        }
    }

    @Test("The fixed semantic cases select the same users everywhere")
    func semanticsCases() async throws {
        try await Engines.with { engines in
            let users = distinctDevices(RuleFixtures.semanticsUsers)
            try await engines.load(users, events: [])
            for (text, expected) in RuleFixtures.semanticsCases {
                let rule = try RuleFixtures.makeRule(text)
                #expect(RuleFixtures.evaluatedIDs(rule, users) == expected, "in memory: \(text)")
                let problems = try await engines.disagreements(rule, users, RuleFixtures.context)
                #expect(problems.isEmpty, "\(text)\n\(problems.joined(separator: "\n"))")
            }
        }
    }
}
