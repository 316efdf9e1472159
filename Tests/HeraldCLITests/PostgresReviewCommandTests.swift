import Foundation
import HeraldTesting
import Testing

/// `herald plan`, `herald audience` and `herald preview` (a marketer's review of a campaign) with
/// herald.yml's `store:` a `postgres://` URL: the same users in PostgreSQL and in a SQLite file
/// give the same review, and `--explain` shows PostgreSQL's own plan.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct PostgresReviewCommandTests {
    @Test func planAudienceAndPreviewSayTheSameOnPostgreSQLAsOnSQLite() async throws {
        try await PostgresOperatorCommandTests().withPostgresWorkspace { directory, environment, _ in
            func run(_ arguments: [String]) async throws -> HeraldBinary.Output {
                try await HeraldBinary.run(arguments, in: directory.path, environment: environment)
            }
            let sqlite = ["--database", "users.db"]
            for target in [[], sqlite] {
                let generated = try await run(["users", "generate", "--count", "400", "--seed", "7"] + target)
                #expect(generated.status == 0, "\(generated.stderr)")
            }
            let at = ["--at", "2026-12-01T10:00:00Z"]
            let reviews: [[String]] = [
                ["plan", "winter-sale"] + at, ["plan", "winter-sale", "--format", "json"] + at, ["plan", "order-shipped", "--format", "markdown"] + at,
                ["audience", "winter-sale"], ["audience", "winter-sale", "--format", "json", "--sample", "5"], ["audience", "winter-sale", "--ids"],
                ["audience", "plan = \"pro\" and country in [\"KR\", \"US\"]"],
                ["audience", "winter-sale", "--user", "u-000003"], ["audience", "winter-sale", "--user", "nobody"],
                ["preview", "winter-sale", "--user", "u-000003", "--channel", "push"],
                ["preview", "order-shipped", "--user", "u-000004", "--channel", "sms", "--param", "order_id=A-1"],
                ["preview", "winter-sale", "--user", "nobody"],
            ]
            for review in reviews {
                let onSQLite = try await run(review + sqlite)
                let onPostgres = try await run(review)
                let name = review.joined(separator: " ")
                #expect(onPostgres.status == onSQLite.status, "\(name): \(onPostgres.stderr)")
                #expect(onPostgres.stdout == onSQLite.stdout, "\(name)")
                #expect(onPostgres.stderr == onSQLite.stderr, "\(name)")
            }
            // Something was reviewed: the audience is not empty, and the plan sends.
            let audience = try await run(["audience", "winter-sale", "--ids"])
            #expect(audience.stdout.split(separator: "\n").count > 20, "\(audience.stdout)")
            let plan = try await run(["plan", "winter-sale", "--format", "json"] + at)
            #expect(plan.status == 0 && plan.stdout.contains("\"campaign\""), "\(plan.stdout)\(plan.stderr)")

            // --explain: PostgreSQL's dialect and PostgreSQL's plan, not SQLite's.
            let explained = try await run(["audience", "winter-sale", "--explain", "--format", "json"])
            #expect(explained.status == 0, "\(explained.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(explained.stdout.utf8)) as? [String: Any])
            let lines = try #require(object["plan"] as? [String])
            #expect(lines.contains { $0.contains("Scan") && $0.contains("cost=") }, "\(lines)")
            #expect((object["sql"] as? String)?.contains("$1") == true, "\(object["sql"] ?? "")")
            let onSQLite = try await run(["audience", "winter-sale", "--explain", "--format", "json"] + sqlite)
            #expect(onSQLite.stdout.contains("SCAN") || onSQLite.stdout.contains("SEARCH"), "\(onSQLite.stdout)")
        }
    }
}
