import ArgumentParser
import Foundation
import HeraldCore
import HeraldImport
import HeraldRules
import HeraldStore

struct BenchCommand: AsyncParsableCommand {
    /// This `herald` binary's path, for the benchmarks that start it as a child process.
    static var heraldExecutable: String {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        return FileManager.default.fileExists(atPath: executable) ? executable : Bundle.main.executablePath ?? executable
    }

    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Herald's hot paths on SQLite (each benchmark makes its own database files); build with -c release for meaningful figures.",
        subcommands: [Rules.self, TransportBench.self, PushBench.self, PlanBench.self, DeliverBench.self]
    )

    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audience rules: in-memory evaluations per second on one core, and selecting matching ids through SQL.",
            discussion: """
                Generates deterministic users (seed 1) with the sample schema. The SQL part writes them to --database \
                once and reuses the file while it holds exactly --users users.
                """
        )

        @Option(help: "The expression to measure.")
        var expression = Rules.typicalExpression

        @Option(help: "In-memory evaluations.")
        var evaluations = 5_000_000

        @Option(help: "Users in the SQL benchmark (0 skips it).")
        var users = 1_000_000

        @Option(help: "The database file for the SQL benchmark.")
        var database = "herald-bench.db"

        @Option(help: "How many times to run the SQL selection; the best and median are reported.")
        var repeats = 3

        static let typicalExpression =
            #"country in ["KR", "JP", "US"] and plan != "enterprise" and last_seen_at > now() - 30d and lifetime_value >= 100 and not beta"#

        static let schema = AttributeSchema([
            AttributeDefinition(name: "country", type: .string),
            AttributeDefinition(name: "plan", type: .string, allowedValues: ["free", "pro", "enterprise"]),
            AttributeDefinition(name: "last_seen_at", type: .time),
            AttributeDefinition(name: "lifetime_value", type: .number),
            AttributeDefinition(name: "tags", type: .list(.string)),
            AttributeDefinition(name: "beta", type: .bool),
        ])

        func run() async throws {
            let now = Date(timeIntervalSince1970: 1_795_000_000)
            let source = RuleSource(text: expression, location: SourceLocation(file: "<bench>", line: 1, column: 1))
            let rule: Rule
            do {
                rule = try Rule(source, schema: Self.schema)
            } catch {
                throw CLIError(error.description)
            }
            print("expression: \(expression)")

            // In memory: a pool of distinct users, cycled, so the loop measures evaluation rather than generation.
            var generator = UserGenerator(seed: 1, schema: Self.schema, now: now)
            let pool = generator.next(count: 10_000)
            let context = RuleContext(now: now, campaignID: "bench")
            var matches = 0
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for index in 0..<evaluations where rule.evaluate(pool[index % pool.count], in: context) {
                    matches += 1
                }
            }
            let seconds = Self.seconds(elapsed)
            print(String(format: "in memory: %d evaluations in %.3f s = %.2f million/s on one core (%d matched)",
                         evaluations, seconds, Double(evaluations) / seconds / 1e6, matches))

            guard users > 0 else { return }
            let existing = try await SQLiteStore(path: database, schema: Self.schema).countUsers(matching: .everyone)
            if existing != users {
                print("writing \(users) users to \(database) (once)…")
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
                let fresh = try SQLiteStore(path: database, schema: Self.schema)
                var generator = UserGenerator(seed: 1, schema: Self.schema, now: now)
                var remaining = users
                let written = try await clock.measure {
                    while remaining > 0 {
                        let batch = generator.next(count: min(remaining, 5000))
                        _ = try await fresh.upsertUsers(batch, at: now)
                        remaining -= batch.count
                    }
                }
                print(String(format: "  %.1f s (%.0f users/s, generation included)", Self.seconds(written), Double(users) / Self.seconds(written)))
                try await fresh.analyze()
            }
            let store = try SQLiteStore(path: database, schema: Self.schema)
            let explanation = try await store.explain(source, now: now, campaignID: "bench")
            print("SQL:  \(explanation.sql)")
            print("plan: \(explanation.plan.joined(separator: " | "))")
            var timings: [Double] = []
            var selected = 0
            for _ in 0..<max(1, repeats) {
                let elapsed = try await clock.measure {
                    selected = try await store.userIDs(matching: .rule(source, now: now, campaignID: "bench")).count
                }
                timings.append(Self.seconds(elapsed))
            }
            timings.sort()
            print(String(format: "SQL: selected %d of %d users' ids in %.3f s (best of %d; median %.3f s)",
                         selected, users, timings[0], timings.count, timings[timings.count / 2]))
        }

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }
}
