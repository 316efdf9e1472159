import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

/// A/B variants and a holdout as a marketer runs them: declared in the campaign file, planned by
/// separate `herald` processes, conversions received as events, and `herald report --variants`.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct ExperimentEndToEndTests {
    static let test = """
        variants:
          - {name: thirty}
          - {name: forty, weight: 3, params: {discount: 40%}}
        holdout: 20%
        conversion: {event: purchase, within: 3d}

        """

    static func workspace(_ directory: TemporaryDirectory, _ name: String) async throws -> String {
        #expect(try await HeraldBinary.run(["init", name], in: directory.path).status == 0)
        let campaign = directory.file("\(name)/campaigns/winter-sale.yml")
        try (try String(contentsOfFile: campaign, encoding: .utf8) + Self.test).write(toFile: campaign, atomically: true, encoding: .utf8)
        #expect(try await HeraldBinary.run(["users", "generate", "--count", "600", "--seed", "11"], in: directory.file(name)).status == 0)
        return directory.file(name)
    }

    @Test func twoProcessesAssignEveryoneAlikeTheHoldoutGetsNothingAndTheReportComparesConversions() async throws {
        try await withTemporaryDirectory { directory in
            let first = try await Self.workspace(directory, "one")
            let second = try await Self.workspace(directory, "two")
            let validate = try await HeraldBinary.run(["validate"], in: first)
            #expect(validate.status == 0, "\(validate.stdout)")

            // The review shows the split before anything is sent.
            let plan = try await HeraldBinary.run(["plan", "winter-sale"], in: first)
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(plan.stdout.contains("holdout"), "\(plan.stdout)")

            for workspace in [first, second] {
                let send = try await HeraldBinary.run(["send", "winter-sale", "--now", "--plan-only"], in: workspace)
                #expect(send.status == 0, "\(send.stderr)")
            }
            let one = try SQLiteStore(path: "\(first)/herald.db", schema: AttributeSchema())
            let two = try SQLiteStore(path: "\(second)/herald.db", schema: AttributeSchema())
            let query = "SELECT user_id, channel, device, variant FROM notifications ORDER BY user_id, channel, device"
            let assigned = try await one.rows(sql: query)
            #expect(!assigned.isEmpty)
            #expect(try await two.rows(sql: query) == assigned, "another process, another database: the same groups")
            let groups = Set(assigned.map { $0[3] })
            #expect(groups == ["thirty", "forty", "holdout"])
            // The holdout is recorded, never queued; the variants' versions differ by their params.
            #expect(try await one.rows(sql: """
                SELECT DISTINCT state, reason FROM notifications WHERE variant = 'holdout' AND reason NOT IN ('no_address', 'opted_out', 'not_needed')
                """) == [["skipped", "holdout"]])
            #expect(try await one.rows(sql: "SELECT COUNT(*) FROM outbox o JOIN notifications n ON n.id = o.notification_id WHERE n.variant = 'holdout'") == [["0"]])
            let forty = try await one.rows(sql: "SELECT DISTINCT content LIKE '%40%%' FROM notifications WHERE variant = 'forty' AND state = 'planned'")
            #expect(forty == [["1"]], "every planned notification of 'forty' says 40%")

            // Conversions: three people of each group due at once buy now, as the API (here `herald
            // trigger`) reports it.
            for group in ["thirty", "forty", "holdout"] {
                let people = try await one.rows(sql: """
                    SELECT DISTINCT user_id FROM notifications
                    WHERE variant = '\(group)' AND (state = 'planned' OR reason = 'holdout') AND due_at = (SELECT MIN(due_at) FROM notifications) ORDER BY user_id LIMIT 3
                    """)
                #expect(people.count == 3, "\(group): \(people)")
                for person in people {
                    let trigger = try await HeraldBinary.run(["trigger", "purchase", "--user", person[0]], in: first)
                    #expect(trigger.status == 0, "\(trigger.stderr)")
                }
            }

            let report = try await HeraldBinary.run(["report", "--variants", "--format", "json"], in: first)
            #expect(report.status == 0, "\(report.stderr)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]])
            #expect(rows.map { $0["group"] as? String } == ["forty", "thirty", "holdout"])
            let counts = try await one.rows(sql: """
                SELECT variant, COUNT(DISTINCT user_id) FROM notifications WHERE state = 'planned' OR reason = 'holdout' GROUP BY variant
                """)
            for row in rows {
                let group = try #require(row["group"] as? String)
                #expect(row["people"] as? Int == counts.first { $0[0] == group }.flatMap { Int($0[1]) }, "\(group)")
                #expect(row["converted"] as? Int == 3, "\(group): \(row)")
                #expect(row["conversion_event"] as? String == "purchase")
                #expect(row["sent"] as? Int == 0, "planned only")
                if group == "holdout" {
                    #expect(row["lift"] is NSNull)
                } else {
                    let lift = try #require(row["lift"] as? [String: Any], "\(group)")
                    #expect(lift["significant"] as? Bool == false, "three conversions each tell nothing apart")
                }
            }
            let table = try await HeraldBinary.run(["report", "--variants"], in: first)
            #expect(table.stdout.contains("not significant yet"), "\(table.stdout)")
            #expect(table.stdout.contains("winter-sale: conversion: purchase within 3d of the send"), "\(table.stdout)")
        }
    }

    /// `herald plan --format markdown`, as a pull-request comment: the same numbers as JSON, tables
    /// whose rows keep their columns, and sample texts that cannot break out of their code block.
    @Test func theMarkdownPlanHasTheJSONNumbersTheSplitAndFencedSamples() async throws {
        try await withTemporaryDirectory { directory in
            let workspace = try await Self.workspace(directory, "shop")
            let hostile = "40% | ```` <b>x</b>"
            let markdown = try await HeraldBinary.run(["plan", "winter-sale", "--format", "markdown", "--param", "discount=\(hostile)"], in: workspace)
            #expect(markdown.status == 0, "\(markdown.stderr)")
            let json = try await HeraldBinary.run(["plan", "winter-sale", "--format", "json", "--param", "discount=\(hostile)"], in: workspace)
            let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let text = markdown.stdout
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "### Plan for `winter-sale`")
            #expect(text.contains("- **Notifications:** \(ReportFormatter.grouped(plan["planned"] as? Int ?? -1)) to send, \(ReportFormatter.grouped(plan["skipped"] as? Int ?? -1)) skipped"), "\(text)")
            for route in plan["by_channel"] as? [[String: Any]] ?? [] {
                let row = "| \(route["channel"] as? String ?? "") | \(route["provider"] as? String ?? "") | \(ReportFormatter.grouped(route["notifications"] as? Int ?? -1)) |"
                #expect(lines.contains(row), "missing \(row)")
            }
            let groups = try #require(plan["groups"] as? [[String: Any]])
            #expect(groups.map { $0["group"] as? String } == ["thirty", "forty", "holdout"])
            for group in groups {
                let name = group["group"] as? String ?? ""
                #expect(lines.contains { $0.hasPrefix("| \(name) | ") && $0.contains(" | \(ReportFormatter.grouped(group["people"] as? Int ?? -1)) | ") }, "\(name)")
            }
            // Every table row has its header's columns: no text added a cell.
            var columns: Int?
            var inFence: String?
            for line in lines {
                if let fence = inFence {
                    if line == fence { inFence = nil }
                    continue
                }
                if line.hasPrefix("```") {
                    inFence = String(line.prefix { $0 == "`" })
                    continue
                }
                guard line.hasPrefix("|") else {
                    columns = nil
                    continue
                }
                let cells = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
                if let columns { #expect(cells == columns, "\(line)") } else { columns = cells }
            }
            #expect(inFence == nil, "a code block is left open")
            // The hostile param is shown as written, inside a fence longer than its backticks.
            #expect(text.contains("`````text\n"), "\(text)")
            #expect(text.contains(hostile), "\(text)")
        }
    }
}
