import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

/// `herald schedule run` as real processes on one database: two schedulers at once, `kill -9`
/// part way through planning, SIGTERM, and catching up after downtime with a fake "now".
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct ScheduleRunTests {
    /// A sample workspace whose scheduled campaigns are the ones given (the sample's `at` and
    /// `cron` campaigns are removed), with `users` generated users.
    static func workspace(_ directory: TemporaryDirectory, users: Int, campaigns: [String: String]) async throws {
        #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
        try routePushNowhere(inWorkspace: directory.path)
        for sample in ["winter-sale", "weekly-digest"] {
            try FileManager.default.removeItem(atPath: directory.file("campaigns/\(sample).yml"))
        }
        for (id, schedule) in campaigns {
            try directory.write("campaigns/\(id).yml", """
                campaign: \(id)
                channels: [email]
                template: weekly-digest
                params:
                  issue_title: News
                \(schedule)
                """)
        }
        let generate = try await HeraldBinary.run(["users", "generate", "--count", "\(users)", "--seed", "11"], in: directory.path)
        #expect(generate.status == 0, "\(generate.stderr)")
    }

    static func store(_ directory: TemporaryDirectory) throws -> SQLiteStore {
        try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
    }

    static func milliseconds(_ text: String) -> String {
        "\(Int64(ISO8601.date(from: text)!.timeIntervalSince1970 * 1000))"
    }

    /// Runs `herald` processes started at the same moment, and waits for them all.
    static func together(_ runs: [[String]], in directory: TemporaryDirectory) async throws -> [HeraldBinary.Output] {
        try await withThrowingTaskGroup(of: (Int, HeraldBinary.Output).self) { group in
            for (index, arguments) in runs.enumerated() {
                group.addTask { (index, try await HeraldBinary.run(arguments, in: directory.path)) }
            }
            var outputs: [Int: HeraldBinary.Output] = [:]
            for try await (index, output) in group { outputs[index] = output }
            return runs.indices.map { outputs[$0]! }
        }
    }

    @Test func twoSchedulersStartedTogetherPlanEachOccurrenceOnce() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.workspace(directory, users: 1500, campaigns: [
                "hourly": "schedule: {cron: \"0 * * * *\", timezone: UTC}",
                "launch": "schedule: {at: 2026-12-01T11:00:00Z}",
            ])
            var plannedLines: [String] = []
            for round in 0..<5 {
                let now = "2026-12-01T\(String(format: "%02d", 9 + round)):00:20Z"
                let outputs = try await Self.together(
                    (1...2).map { ["schedule", "run", "--once", "--now", now, "--owner", "scheduler-\($0)", "--batch-size", "100"] }, in: directory
                )
                for output in outputs {
                    #expect(output.status == 0, "round \(round): \(output.stderr)")
                    #expect(!output.stdout.contains("already planned before"), "round \(round): planned twice:\n\(output.stdout)")
                }
                plannedLines += outputs.flatMap { $0.stdout.split(separator: "\n").map(String.init) }.filter { $0.contains(": planned the occurrence of") }
            }
            // Seen first at 09:00:20: the hourly campaign starts at 10:00; each occurrence planned by one of the two.
            let planned = plannedLines.map { String($0.prefix { $0 != ":" }) + " " + $0.split(separator: " ")[5].dropLast() }.sorted()
            #expect(planned == [
                "hourly 2026-12-01T10:00:00Z", "hourly 2026-12-01T11:00:00Z", "hourly 2026-12-01T12:00:00Z", "hourly 2026-12-01T13:00:00Z",
                "launch 2026-12-01T11:00:00Z",
            ], "\(plannedLines)")
            let store = try Self.store(directory)
            #expect(try await store.rows(sql: "SELECT campaign_id, fire_at, state, COUNT(*) FROM occurrences GROUP BY campaign_id, fire_at ORDER BY campaign_id, fire_at") == [
                ["hourly", Self.milliseconds("2026-12-01T10:00:00Z"), "planned", "1"],
                ["hourly", Self.milliseconds("2026-12-01T11:00:00Z"), "planned", "1"],
                ["hourly", Self.milliseconds("2026-12-01T12:00:00Z"), "planned", "1"],
                ["hourly", Self.milliseconds("2026-12-01T13:00:00Z"), "planned", "1"],
                ["launch", Self.milliseconds("2026-12-01T11:00:00Z"), "planned", "1"],
            ])
            // No (user, channel) twice in an occurrence, and every user in each.
            #expect(try await store.rows(sql: """
                SELECT COUNT(*) FROM (SELECT occurrence_id, user_id, channel FROM notifications GROUP BY 1, 2, 3 HAVING COUNT(*) > 1)
                """) == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(DISTINCT user_id) FROM notifications GROUP BY occurrence_id") == Array(repeating: ["1500"], count: 5))
        }
    }

    @Test func aSchedulerKilledWhilePlanningIsFinishedByTheNextWithNoDuplicateAndNobodyMissing() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.workspace(directory, users: 20_000, campaigns: ["launch": "schedule: {at: 2026-12-01T09:00:00Z}"])
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            // Small pages (1,000 transactions for 20,000 users), so that planning is still going
            // when this loop sees 2,000 notifications, even on a loaded machine.
            let (process, _, _) = try HeraldBinary.start(
                ["schedule", "run", "--now", "2026-12-01T09:00:05Z", "--batch-size", "20", "--owner", "doomed"], in: directory.path
            )
            var written = 0
            while process.isRunning, written < 2000 {
                try await Task.sleep(for: .milliseconds(5))
                written = Int(try await store.rows(sql: "SELECT COUNT(*) FROM notifications").first?.first ?? "0") ?? 0
            }
            #expect(process.isRunning, "the scheduler finished planning before it could be killed")
            kill(process.processIdentifier, SIGKILL)
            await onOwnThread { process.waitUntilExit() }
            #expect(process.terminationReason == .uncaughtSignal)
            let partial = try await store.rows(sql: "SELECT COUNT(DISTINCT user_id) FROM notifications")
            #expect(Int(partial[0][0])! < 20_000, "killed after planning everyone")
            // The campaign is edited before the next scheduler comes: the occurrence is finished
            // as it started (the edit is for later occurrences).
            try directory.write("campaigns/launch.yml", """
                campaign: launch
                channels: [email]
                template: weekly-digest
                params:
                  issue_title: Edited after the kill
                schedule: {at: 2026-12-01T09:00:00Z}
                """)

            // While its claim lasts (60 s), another scheduler leaves the occurrence alone.
            let early = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T09:00:30Z"], in: directory.path)
            #expect(early.status == 0, "\(early.stderr)")
            #expect(early.stdout.contains("launch: the occurrence of 2026-12-01T09:00:00Z is being planned by doomed (claimed until 2026-12-01T09:01:"), "\(early.stdout)")
            // Once it has lapsed, the next scheduler finishes it.
            let again = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T09:02:00Z", "--batch-size", "500"], in: directory.path)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("launch: finished the interrupted planning of the occurrence of 2026-12-01T09:00:00Z: 20,000 recipients, "), "\(again.stdout)")
            #expect(again.stdout.contains("recipients already planned before"), "\(again.stdout)")

            #expect(try await store.rows(sql: "SELECT state FROM occurrences") == [["planned"]])
            #expect(try await store.rows(sql: """
                SELECT content LIKE '%News%', content LIKE '%Edited after the kill%', COUNT(*) FROM notifications WHERE state = 'planned' GROUP BY 1, 2
                """) == [["1", "0", "\(try await store.rows(sql: "SELECT COUNT(*) FROM outbox")[0][0])"]])
            // Nobody missing: every user the audience counts has exactly one email decision.
            let audience = try await HeraldBinary.run(["audience", "launch", "--format", "json", "--sample", "0"], in: directory.path)
            let count = try #require(try JSONSerialization.jsonObject(with: Data(audience.stdout.utf8)) as? [String: Any])["count"] as? Int
            #expect(count == 20_000)
            #expect(try await store.rows(sql: "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications WHERE channel = 'email'") == [["20000", "20000"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM users WHERE id NOT IN (SELECT user_id FROM notifications)") == [["0"]])
            // Each planned notification has its outbox row and its event; nothing twice in the trail.
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'planned'") == store.rows(sql: "SELECT COUNT(*) FROM outbox"))
            #expect(try await store.rows(sql: "SELECT COUNT(*), COUNT(DISTINCT notification_id) FROM events WHERE type IN ('planned', 'skipped')")
                == store.rows(sql: "SELECT COUNT(*), COUNT(*) FROM notifications"))
        }
    }

    @Test func sigtermStopsBetweenPagesAndTheNextRunResumesAtOnce() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.workspace(directory, users: 20_000, campaigns: ["launch": "schedule: {at: 2026-12-01T09:00:00Z}"])
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            // Started 3 s before the instant: it sleeps until then, then plans.
            let (process, stdout, _) = try HeraldBinary.start(
                // Small pages: planning takes long enough that the signal arrives part way.
                ["schedule", "run", "--now", "2026-12-01T08:59:57Z", "--batch-size", "10", "--owner", "polite"], in: directory.path
            )
            var written = 0
            while process.isRunning, written < 1000 {
                try await Task.sleep(for: .milliseconds(5))
                written = Int(try await store.rows(sql: "SELECT COUNT(*) FROM notifications").first?.first ?? "0") ?? 0
            }
            #expect(process.isRunning, "the scheduler finished planning before it could be stopped")
            process.terminate()
            let out = await onOwnThread {
                let data = PipeReading.toEnd(stdout.fileHandleForReading)
                process.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(out)")
            #expect(out == """
                next: launch at 2026-12-01T09:00:00Z
                launch: stopped planning the occurrence of 2026-12-01T09:00:00Z to shut down; the next `herald schedule run` finishes it

                """)
            // Released: no waiting for the claim to lapse.
            #expect(try await store.rows(sql: "SELECT state, lease_owner, lease_until FROM occurrences") == [["planning", "polite", "NULL"]])
            let again = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T09:00:10Z"], in: directory.path)
            #expect(again.stdout.hasPrefix("launch: finished the interrupted planning of the occurrence of 2026-12-01T09:00:00Z: 20,000 recipients, "), "\(again.stdout)")
            #expect(try await store.rows(sql: "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications") == [["20000", "20000"]])
        }
    }

    @Test func afterDowntimeRecentOccurrencesAreSentLateAndOlderOnesRecordedExpired() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.workspace(directory, users: 40, campaigns: [
                "hourly": "schedule: {cron: \"0 * * * *\", timezone: UTC}\nexpires_after: 3h",
                "recent": "schedule: {at: 2026-12-01T15:00:00Z}",
                "stale": "schedule: {at: 2026-12-01T13:29:59Z}",
            ])
            let first = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T09:00:30Z"], in: directory.path)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout == "next: hourly at 2026-12-01T10:00:00Z\n", "\(first.stdout)")

            // No scheduler ran from 09:00:30 to 15:30.
            let late = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T15:30:00Z"], in: directory.path)
            #expect(late.status == 0, "\(late.stderr)")
            let lines = late.stdout.split(separator: "\n").map(String.init)
            let expired = "not less than its catch-up grace of"
            let expected = [
                "hourly: the occurrence of 2026-12-01T10:00:00Z was missed by 5h 30m, \(expired) 3h (expires_after, or 1h without it): recorded as skipped (expired), nothing planned",
                "hourly: the occurrence of 2026-12-01T11:00:00Z was missed by 4h 30m, \(expired) 3h (expires_after, or 1h without it): recorded as skipped (expired), nothing planned",
                "hourly: the occurrence of 2026-12-01T12:00:00Z was missed by 3h 30m, \(expired) 3h (expires_after, or 1h without it): recorded as skipped (expired), nothing planned",
                "hourly: planned the occurrence of 2026-12-01T13:00:00Z: 40 recipients, ",
                "hourly: planned the occurrence of 2026-12-01T14:00:00Z: 40 recipients, ",
                "hourly: planned the occurrence of 2026-12-01T15:00:00Z: 40 recipients, ",
                "recent: planned the occurrence of 2026-12-01T15:00:00Z: 40 recipients, ",
                "stale: the occurrence of 2026-12-01T13:29:59Z was missed by 2h 1s, \(expired) 1h (expires_after, or 1h without it): recorded as skipped (expired), nothing planned",
                "next: hourly at 2026-12-01T16:00:00Z",
            ]
            #expect(lines.count == expected.count, "\(late.stdout)")
            for (line, start) in zip(lines, expected) {
                // The stale occurrence's lateness counts the seconds the run took to get there.
                let line = line.replacingOccurrences(of: #"missed by 2h [0-9]s"#, with: "missed by 2h 1s", options: .regularExpression)
                #expect(line.hasPrefix(start), "\(late.stdout)")
            }
            let store = try Self.store(directory)
            #expect(try await store.rows(sql: "SELECT campaign_id, state, COUNT(*) FROM occurrences GROUP BY 1, 2 ORDER BY 1, 2") == [
                ["hourly", "expired", "3"], ["hourly", "planned", "3"], ["recent", "planned", "1"], ["stale", "expired", "1"],
            ])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM events WHERE notification_id IS NULL AND type = 'skipped' AND reason = 'expired'") == [["4"]])
            // Expired occurrences have no notifications; each planned one reached every user once.
            #expect(try await store.rows(sql: """
                SELECT o.campaign_id, COUNT(DISTINCT n.user_id) FROM occurrences o JOIN notifications n ON n.occurrence_id = o.id GROUP BY o.id ORDER BY o.campaign_id, o.fire_at
                """) == [["hourly", "40"], ["hourly", "40"], ["hourly", "40"], ["recent", "40"]])

            // Run again at the same moment: nothing new.
            let repeatRun = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T15:30:00Z"], in: directory.path)
            #expect(repeatRun.stdout == "next: hourly at 2026-12-01T16:00:00Z\n", "\(repeatRun.stdout)")
        }
    }

    @Test func badOptionsAreRefusedWithASentence() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            let badNow = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "tomorrow"], in: directory.path)
            #expect(badNow.status == 64)
            #expect(badNow.stderr.contains("--now 'tomorrow' is not an ISO 8601 instant, e.g. 2026-12-01T09:00:00Z"), "\(badNow.stderr)")
            let badBatch = try await HeraldBinary.run(["schedule", "run", "--once", "--batch-size", "0"], in: directory.path)
            #expect(badBatch.status == 64)
            #expect(badBatch.stderr.contains("--batch-size must be between 1 and 100000, got 0"), "\(badBatch.stderr)")
        }
    }
}
