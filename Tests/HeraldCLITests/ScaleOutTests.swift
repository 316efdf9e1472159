import Foundation
import HeraldCore
import HeraldPostgres
import HeraldProviders
import HeraldStore
import HeraldTesting
import Testing

extension HeavyEndToEndTests {
    /// Herald scaled out on one PostgreSQL database, as issue 15 asks to show it: two `herald
    /// schedule run` processes racing to plan the same occurrences, three `herald worker` processes
    /// sharing the outbox, one of them killed with SIGKILL mid-delivery and started again, all
    /// sending to `herald sandbox` as its own process. And the same work on SQLite by one process
    /// gives the same `herald report`.
    @Suite(.tags(.slow), .serialized, .timeLimit(.minutes(30)))
    struct ScaleOutTests {
        /// Notifications the scale-out test sends at least: `HERALD_SCALE_NOTIFICATIONS`, or 10,000.
        /// The issue's 100,000 (`HERALD_SCALE_NOTIFICATIONS=100000`) takes 13–16 minutes in a debug
        /// build on 2 cores, and run beside the other end-to-end tests (Swift Testing runs suites in
        /// parallel) it starved them past their time limits in CI; it is run by hand.
        static let notifications: Int = {
            guard let text = ProcessInfo.processInfo.environment["HERALD_SCALE_NOTIFICATIONS"] else { return 10_000 }
            guard let value = Int(text), value >= 1000 else {
                fatalError("HERALD_SCALE_NOTIFICATIONS must be a whole number of at least 1000, got '\(text)'")
            }
            return value
        }()

        /// The message of every campaign here: personal on every channel, so each notification is
        /// a provider request of its own (no email batches).
        static let template = """
            template: blast
            push:
              title: Blast
              body: "Blast {{id}}"
            sms:
              body: "Blast {{id}}"
            email:
              subject: "Blast {{id}}"
              text: blast.txt

            """

        /// One SMS a day, whatever the campaign.
        static let limits = "limits:\n  frequency_caps:\n    - {max: 1, per: 1d, channel: sms}\n"

        @Test func twoSchedulersAndThreeWorkersOneKilledDeliverEachNotificationOnceWithEachOccurrencePlannedOnceAndTheCapHeld() async throws {
            guard let url = Self.postgresURL(#function) else { return }
            let started = ContinuousClock.now
            try await PostgresEndToEndTests().withScratchDatabase(url) { location in
            try await withTemporaryDirectory { directory in
                let sandbox = try await SandboxProcess.start(in: directory.path)
                defer { sandbox.kill() }
                let environment = try await Self.makeWorkspace(directory, sandbox: sandbox, limits: Self.limits, postgres: location)
                // 2.5 notifications a user for this seed (push per device, SMS, email, less those
                // without an address or opted out), so that at least `notifications` are sent.
                let users = Self.notifications * 41 / 100
                let generate = try await HeraldBinary.run(
                    ["users", "generate", "--count", "\(users)", "--seed", "7", "--webpush-endpoint", sandbox.webPushEndpoint], in: directory.path, environment: environment
                )
                #expect(generate.status == 0, "\(generate.stderr)")
                let fireAt = ISO8601.string(from: Date().addingTimeInterval(6).rounded)
                try Self.writeCampaigns(in: directory, fireAt: fireAt, reminder: true)

                let database = try await PostgresStore(location: location, attributes: AttributeSchema(), maximumConnections: 2)
                // Leases of 30 s: what the killed worker held waits that long; a shorter lease can run
                // out in a live worker on a loaded machine (a claim of a thousand rows that takes
                // seconds to come back, a renewal late), and its rows are then sent twice.
                let worker = ["worker", "--lease", "30", "--idle-poll", "0.2"]
                var workers = try (0..<3).map { _ in try HeraldBinary.start(worker, in: directory.path, environment: environment) }
                // Both wait for the instant, then race for each occurrence.
                let schedulers = try ["scheduler-1", "scheduler-2"].map {
                    try HeraldBinary.start(["schedule", "run", "--owner", $0], in: directory.path, environment: environment)
                }
                defer {
                    for process in workers + schedulers where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
                }
                let setUp = ContinuousClock.now - started

                // SIGKILL one worker once a fifth is sent, with sends at the providers, and start it again.
                var sentAtKill = 0
                while sentAtKill < Self.notifications / 5, ContinuousClock.now - started < .seconds(900) {
                    try await Task.sleep(for: .milliseconds(200))
                    sentAtKill = try await database.count("SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
                }
                kill(workers[0].process.processIdentifier, SIGKILL)
                _ = await HeraldBinary.finish(workers[0])
                workers[0] = try HeraldBinary.start(worker, in: directory.path, environment: environment)

                let drained = try await Self.waitForDelivery(occurrences: 2, timeout: .seconds(1500)) {
                    (try await database.count("SELECT COUNT(*) FROM occurrences WHERE state = 'planned'"), try await database.count("SELECT COUNT(*) FROM outbox"))
                }
                #expect(drained, "the two occurrences were not planned and delivered within 25 minutes")
                let elapsed = ContinuousClock.now - started
                var plannedLines: [String] = []
                for process in schedulers {
                    kill(process.process.processIdentifier, SIGTERM)
                    let output = await HeraldBinary.finish(process)
                    #expect(output.status == 0, "a scheduler stopped by SIGTERM exits 0: \(output.stderr)")
                    #expect(!output.stdout.contains("already planned before"), "an occurrence was planned twice:\n\(output.stdout)")
                    plannedLines += output.stdout.split(separator: "\n").map(String.init).filter { $0.contains(": planned the occurrence of ") }
                }
                var workerOutputs: [String] = []
                for process in workers {
                    kill(process.process.processIdentifier, SIGTERM)
                    let output = await HeraldBinary.finish(process)
                    #expect(output.status == 0, "a worker stopped by SIGTERM exits 0: \(output.stderr)")
                    workerOutputs.append(output.stdout)
                }
                let sandboxOutput = await sandbox.stop()

                // Each occurrence planned once, by one of the two schedulers, both at once: one
                // occurrence row per fire instant, each campaign's planning reported once.
                let occurrences = try await database.rows(
                    "SELECT campaign_id || ' ' || to_char(to_timestamp(fire_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ' || state || ' ' || COUNT(*) FROM occurrences GROUP BY campaign_id, fire_at, state ORDER BY 1",
                    as: String.self
                )
                #expect(occurrences == ["blast \(fireAt) planned 1", "reminder \(fireAt) planned 1"])
                #expect(plannedLines.map { String($0.prefix { $0 != ":" }) }.sorted() == ["blast", "reminder"], "\(plannedLines)")
                let owners = try await database.rows("SELECT campaign_id || ' by ' || COALESCE(lease_owner, '?') FROM occurrences ORDER BY campaign_id", as: String.self)
                #expect(Set(owners.map { $0.split(separator: " ").last! }).count == 2, "the two schedulers did not plan side by side: \(owners)")
                // No notification twice for a user, channel and address in an occurrence, and every
                // user considered in each.
                #expect(try await database.count("""
                    SELECT COUNT(*) FROM (SELECT 1 FROM notifications GROUP BY occurrence_id, user_id, channel, address HAVING COUNT(*) > 1) AS repeated
                    """) == 0)
                #expect(try await database.rows("SELECT COUNT(DISTINCT user_id) FROM notifications GROUP BY occurrence_id", as: Int.self) == [users, users])

                // Every notification in exactly one terminal state, nothing left in the outbox.
                let states = try await database.rows("SELECT state || ' ' || COUNT(*) FROM notifications GROUP BY state ORDER BY state", as: String.self)
                #expect(states.map { $0.split(separator: " ")[0] } == ["sent", "skipped"], "\(states)")
                #expect(try await database.count("SELECT COUNT(*) FROM outbox") == 0)
                let sent = try await database.count("SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
                #expect(sent >= Self.notifications, "\(states)")

                // The cap held across the two schedulers: nobody has two SMS, and each user the cap
                // stopped in one campaign has the other's.
                #expect(try await database.count("""
                    SELECT COUNT(*) FROM (SELECT user_id FROM notifications WHERE channel = 'sms' AND state <> 'skipped' GROUP BY user_id HAVING COUNT(*) > 1) AS twice
                    """) == 0)
                let smsSent = try await database.count("SELECT COUNT(*) FROM notifications WHERE channel = 'sms' AND state = 'sent'")
                #expect(try await database.count("SELECT COUNT(*) FROM notifications WHERE channel = 'sms' AND reason = 'capped'") == smsSent)
                #expect(try await database.count("""
                    SELECT COUNT(DISTINCT user_id) FROM notifications WHERE channel = 'sms' AND (state = 'sent' OR reason = 'capped')
                    """) == smsSent)
                #expect(smsSent > users / 2)

                // What the sandbox accepted: each notification once, except sends at a provider when
                // the worker was killed, taken over after their lease and sent again (`reclaimed`),
                // never more than a worker can have at its providers at once.
                let sentRows = try await database.rows("SELECT channel || ':' || address FROM notifications WHERE state = 'sent'", as: String.self)
                let reclaimed = try await database.count("SELECT COUNT(*) FROM events WHERE type = 'reclaimed'")
                // Outcomes of a live worker whose lease ran out before they came (another worker took
                // the claim over and sent again): with 30-second leases, there should be none.
                let trail = try await database.rows("SELECT type || ' ' || COUNT(*) FROM events GROUP BY type ORDER BY type", as: String.self)
                let report = try await HeraldBinary.run(["report", "--format", "json"], in: directory.path, environment: environment)
                await database.close()
                let messages = try ChaosTests.recorded(directory.file("messages.jsonl"))
                let tally = ChaosTests.tally(accepted: messages, sent: sentRows)
                #expect(tally.missing.isEmpty, "recorded as sent but never accepted by the sandbox: \(tally.missing.prefix(5))")
                #expect(tally.acceptedAddresses == tally.sentAddresses, "the sandbox accepted messages for exactly the addresses recorded as sent")
                #expect(tally.repeats <= reclaimed, "repeated: \(tally.repeats), reclaimed after the kill: \(reclaimed); events: \(trail)")
                #expect(tally.repeats <= Self.inFlightBound, "repeated: \(tally.repeats), more than one worker can have at its providers (\(Self.inFlightBound)); events: \(trail)")
                #expect(reclaimed > 0, "the killed worker held no claim: it was not killed mid-delivery")
                #expect(sandboxOutput.contains("stopped after accepting \(messages.count) messages"), "\(sandboxOutput)")
                // The report reads the same store: what the sandbox accepted, less the repeats.
                #expect(report.status == 0, "\(report.stderr)")
                #expect(try Self.sentInReport(report.stdout) == messages.count - tally.repeats, "\(report.stdout)")
                // Every worker took part, the restarted one included.
                for output in workerOutputs {
                    #expect(output.split(separator: "\n").contains { $0.contains(" outbox: ") && !$0.contains(" outbox: 0 sent") }, "\(output)")
                }
                print("""
                    scale-out: \(users) users, \(sent) notifications sent (\(states.joined(separator: ", "))), \(messages.count) messages accepted, \
                    \(tally.repeats) repeated after the kill at \(sentAtKill) sent (\(reclaimed) reclaimed, at most \(Self.inFlightBound)); events \(trail); \
                    \(owners.joined(separator: ", ")); set-up \(setUp), planning and delivery \(elapsed - setUp), in all \(elapsed)
                    """)
            }
            }
        }

        @Test func twoSchedulersAndThreeWorkersOnPostgreSQLGiveTheReportOfOneProcessOnSQLite() async throws {
            guard let url = Self.postgresURL(#function) else { return }
            // One instant for both stores, just past: each plans it late, within the catch-up grace.
            let fireAt = ISO8601.string(from: Date().addingTimeInterval(-5).rounded)
            let onSQLite = try await Self.reportOfSameSeed(fireAt: fireAt, postgres: nil) { directory, environment in
                // `herald run`: the scheduler and the workers in one process.
                let run = try HeraldBinary.start(["run", "--lease", "30"], in: directory.path, environment: environment)
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
                let drained = try await Self.waitForDelivery(occurrences: 2, timeout: .seconds(600)) {
                    let planned = try await store.rows(sql: "SELECT COUNT(*) FROM occurrences WHERE state = 'planned'").first?.first ?? "0"
                    let outbox = try await store.rows(sql: "SELECT COUNT(*) FROM outbox").first?.first ?? "0"
                    return (Int(planned) ?? 0, Int(outbox) ?? 0)
                }
                #expect(drained, "herald run did not plan and deliver the two occurrences within 10 minutes")
                return [run]
            }
            var onPostgres = ""
            try await PostgresEndToEndTests().withScratchDatabase(url) { location in
                onPostgres = try await Self.reportOfSameSeed(fireAt: fireAt, postgres: location) { directory, environment in
                    let database = try await PostgresStore(location: location, attributes: AttributeSchema(), maximumConnections: 1)
                    var processes = try ["scheduler-1", "scheduler-2"].map {
                        try HeraldBinary.start(["schedule", "run", "--owner", $0], in: directory.path, environment: environment)
                    }
                    processes += try (0..<3).map { _ in try HeraldBinary.start(["worker", "--lease", "30", "--idle-poll", "0.2"], in: directory.path, environment: environment) }
                    let drained = try await Self.waitForDelivery(occurrences: 2, timeout: .seconds(600)) {
                        (try await database.count("SELECT COUNT(*) FROM occurrences WHERE state = 'planned'"), try await database.count("SELECT COUNT(*) FROM outbox"))
                    }
                    await database.close()
                    #expect(drained, "two schedulers and three workers did not plan and deliver the two occurrences within 10 minutes")
                    return processes
                }
            }
            #expect(onPostgres == onSQLite)
            #expect(onSQLite.contains("blast ") && onSQLite.contains("digest "), "\(onSQLite)")
        }

        /// `herald report` (the table) after the same users (seed 7), the same campaigns at
        /// `fireAt` and the same sandbox, on SQLite or on `postgres`, planned and delivered by the
        /// processes `deliver` starts (and returns, to be stopped with SIGTERM once it has waited
        /// for them). Checks on the way that the sandbox accepted each sent notification once.
        static func reportOfSameSeed(
            fireAt: String, postgres: PostgresLocation?,
            _ deliver: (TemporaryDirectory, [String: String]) async throws -> [(process: Process, stdout: Pipe, stderr: Pipe)]
        ) async throws -> String {
            try await withTemporaryDirectory { directory in
                let sandbox = try await SandboxProcess.start(in: directory.path)
                defer { sandbox.kill() }
                let environment = try await makeWorkspace(directory, sandbox: sandbox, postgres: postgres)
                let generate = try await HeraldBinary.run(
                    ["users", "generate", "--count", "3000", "--seed", "7", "--now", "2026-12-01T00:00:00Z", "--webpush-endpoint", sandbox.webPushEndpoint],
                    in: directory.path, environment: environment
                )
                #expect(generate.status == 0, "\(generate.stderr)")
                try writeCampaigns(in: directory, fireAt: fireAt, reminder: false)
                for process in try await deliver(directory, environment) {
                    kill(process.process.processIdentifier, SIGTERM)
                    let output = await HeraldBinary.finish(process)
                    #expect(output.status == 0, "\(process.process.arguments ?? []) stopped by SIGTERM exits 0: \(output.stderr)")
                }
                _ = await sandbox.stop()
                let report = try await HeraldBinary.run(["report"], in: directory.path, environment: environment)
                #expect(report.status == 0, "\(report.stderr)")
                // Nothing repeated, nothing missing: the sandbox accepted each sent notification once.
                let json = try await HeraldBinary.run(["report", "--format", "json"], in: directory.path, environment: environment)
                let messages = try ChaosTests.recorded(directory.file("messages.jsonl"))
                #expect(try sentInReport(json.stdout) == messages.count, "the sandbox accepted \(messages.count) messages: \(json.stdout)")
                return report.stdout
            }
        }

        /// The notifications sent by every send of `herald report --format json`.
        static func sentInReport(_ json: String) throws -> Int {
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]], "\(json)")
            return rows.filter { $0["occurrence"] as? Int != nil }.compactMap { $0["sent"] as? Int }.reduce(0, +)
        }

        /// The most sends one worker has at its providers at once, which a SIGKILL can repeat: each
        /// provider takes at most `concurrency` (4) calls of a process at once, of `groupSize` (8)
        /// messages each, or 75 for APNs (4 groups fill its 300 HTTP/2 streams, the transport's
        /// default); every message of this campaign is personal, so no email provider gets larger
        /// batches.
        static let inFlightBound: Int = {
            let concurrency = 4, groupSize = 8
            let apnsGroupSize = (APNsTransport.Configuration.defaultConcurrency + concurrency - 1) / concurrency
            let providers = ["fcm", "webpush", "jpush", "pushy", "twilio", "vonage", "sendgrid", "mandrill"]
            return concurrency * (apnsGroupSize + providers.count * groupSize)
        }()

        /// The server of `HERALD_TEST_POSTGRES_URL`, or nil with a line saying why the test is skipped.
        static func postgresURL(_ test: String) -> String? {
            guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"] else {
                print("skipped: \(test): needs a PostgreSQL server in HERALD_TEST_POSTGRES_URL (scripts/postgres-cluster start DIR prints one; make test sets it)")
                return nil
            }
            return url
        }

        /// The sample workspace pointed at `sandbox`, without its scheduled campaigns, limits and
        /// rate limits, with fast retries, `limits` when given, on `postgres` when given (the
        /// password from the environment that is returned, as in a deployment).
        static func makeWorkspace(_ directory: TemporaryDirectory, sandbox: SandboxProcess, limits: String = "", postgres: PostgresLocation?) async throws -> [String: String] {
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try removeLimits(fromWorkspace: directory.path)
            for sample in ["winter-sale", "weekly-digest"] {
                try FileManager.default.removeItem(atPath: directory.file("campaigns/\(sample).yml"))
            }
            try directory.write("templates/blast.yml", template)
            try directory.write("templates/blast.txt", "Hello {{id}}\n")
            var yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
            yml = sandbox.point(yml)
                .replacingOccurrences(of: ", rate: 100/s", with: "").replacingOccurrences(of: ", rate: 200/s", with: "")
                .replacingOccurrences(of: "retry: {max_attempts: 8, initial: 2s, max: 30m}", with: limits + "\nretry: {max_attempts: 30, initial: 1s, max: 4s}")
            guard let postgres else {
                try yml.write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                return [:]
            }
            let store = "postgres://\(postgres.username):${HERALD_DB_PASSWORD}@\(postgres.host):\(postgres.port)/\(postgres.database)"
            try yml.replacingOccurrences(of: "store: sqlite:herald.db", with: "store: \(store)").write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
            return ["HERALD_DB_PASSWORD": postgres.password ?? ""]
        }

        /// `blast` (push, SMS and email to everyone) and, with `reminder`, an SMS to everyone at the
        /// same instant; without it, `digest`, an email to newsletter readers, by SMS when they have
        /// no address, and a cap of its own on `blast`.
        static func writeCampaigns(in directory: TemporaryDirectory, fireAt: String, reminder: Bool) throws {
            try directory.write("campaigns/blast.yml", """
                campaign: blast
                channels: [push, sms, email]
                delivery: all
                template: blast
                schedule: {at: \(fireAt)}
                \(reminder ? "" : "frequency_caps:\n  - {max: 2, per: 1d}\n")
                """)
            if reminder {
                try directory.write("campaigns/reminder.yml", """
                    campaign: reminder
                    channels: [sms]
                    template: blast
                    schedule: {at: \(fireAt)}

                    """)
            } else {
                try directory.write("campaigns/digest.yml", """
                    campaign: digest
                    audience:
                      where: '"newsletter" in tags'
                    channels: [email, sms]
                    template: blast
                    schedule: {at: \(fireAt)}

                    """)
            }
        }

        /// Waits until `occurrences` occurrences are planned and the outbox is empty, reading both
        /// with `state`; false after `timeout`.
        static func waitForDelivery(occurrences: Int, timeout: Duration, _ state: () async throws -> (planned: Int, outbox: Int)) async throws -> Bool {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < timeout {
                let (planned, outbox) = try await state()
                if planned == occurrences, outbox == 0 { return true }
                try await Task.sleep(for: .milliseconds(500))
            }
            return false
        }
    }
}

/// `herald sandbox` as a process of its own, on free ports, recording what it accepts in
/// messages.jsonl of the directory it runs in.
struct SandboxProcess {
    var started: (process: Process, stdout: Pipe, stderr: Pipe)
    var port: Int
    var apnsURL: String

    /// Where generated browsers subscribe.
    var webPushEndpoint: String { "http://127.0.0.1:\(port)/webpush" }

    static func start(in directory: String) async throws -> SandboxProcess {
        let started = try HeraldBinary.start(
            ["sandbox", "--listen", "127.0.0.1:0", "--smtp-port", "0", "--apns-port", "0", "--record", "messages.jsonl"], in: directory
        )
        var banner = ""
        while !banner.contains("Ctrl-C stops it.") {
            let handle = started.stdout.fileHandleForReading
            let data = await onOwnThread { PipeReading.available(handle) }
            guard !data.isEmpty else { break }
            banner += String(decoding: data, as: UTF8.self)
        }
        let lines = banner.split(separator: "\n")
        guard let port = lines.first?.split(separator: ":").last.flatMap({ Int($0) }),
              let apns = lines.first(where: { $0.hasPrefix("  apns ") })?.split(separator: " ").first(where: { $0.hasPrefix("https://") })
        else {
            if started.process.isRunning { Foundation.kill(started.process.processIdentifier, SIGKILL) }
            struct Unstarted: Error, CustomStringConvertible { var description: String }
            throw Unstarted(description: "herald sandbox did not print its addresses: \(banner)")
        }
        return SandboxProcess(started: started, port: port, apnsURL: String(apns))
    }

    /// herald.yml's text with the sample's sandbox addresses replaced by this sandbox's.
    func point(_ yml: String) -> String {
        yml.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(port)/")
            .replacingOccurrences(of: "https://127.0.0.1:4443", with: apnsURL)
    }

    /// Stops it with SIGTERM, which writes out its record, and returns what it printed.
    func stop() async -> String {
        Foundation.kill(started.process.processIdentifier, SIGTERM)
        return await HeraldBinary.finish(started).stdout
    }

    /// Kills it if it still runs (a test that failed part way).
    func kill() {
        if started.process.isRunning { Foundation.kill(started.process.processIdentifier, SIGKILL) }
    }
}

extension Date {
    /// Whole seconds, as the campaign files write instants.
    var rounded: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
