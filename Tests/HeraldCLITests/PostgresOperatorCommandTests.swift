import Foundation
import HeraldCore
import HeraldPostgres
import HeraldSandbox
import HeraldServer
import HeraldTesting
import Testing

/// `herald queue`, `herald dead-letter`, `herald report` (every view) and `herald keys` as an
/// operator runs them with herald.yml's `store:` a `postgres://` URL (the password from the
/// environment): real `herald` processes on a database of their own, printing what they print on
/// SQLite.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct PostgresOperatorCommandTests {
    /// A sample workspace whose herald.yml names a new PostgreSQL database, with `limits:` off;
    /// `body` gets the environment that holds the password. Skipped without a server.
    func withPostgresWorkspace(
        test: String = #function, _ body: (TemporaryDirectory, [String: String], PostgresLocation) async throws -> Void
    ) async throws {
        guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"] else {
            print("skipped: \(test): PostgreSQL tests need HERALD_TEST_POSTGRES_URL (scripts/postgres-cluster start DIR prints one; make test sets it)")
            return
        }
        try await PostgresEndToEndTests().withScratchDatabase(url) { location in
            try await withTemporaryDirectory { directory in
                #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
                try removeLimits(fromWorkspace: directory.path)
                let store = "postgres://\(location.username):${HERALD_DB_PASSWORD}@\(location.host):\(location.port)/\(location.database)"
                try OperatorCommandTests.rewrite(directory.file("herald.yml"), [("store: sqlite:herald.db", "store: \(store)")])
                try await body(directory, ["HERALD_DB_PASSWORD": location.password ?? ""], location)
                #expect(!FileManager.default.fileExists(atPath: directory.file("herald.db")), "nothing is written to SQLite")
            }
        }
    }

    /// As `OperatorCommandTests.withDeadEmails`, on PostgreSQL: ana's and bo's winter-sale
    /// emails are dead, and ana's push is skipped without a provider.
    func withDeadEmails(test: String = #function, _ body: (TemporaryDirectory, [String: String], PostgresLocation) async throws -> Void) async throws {
        try await withPostgresWorkspace(test: test) { directory, environment, location in
            try await OperatorCommandTests.makeDeadEmails(in: directory, environment: environment)
            try await body(directory, environment, location)
        }
    }

    func withDatabase<T: Sendable>(_ location: PostgresLocation, _ body: (PostgresStore) async throws -> T) async throws -> T {
        let store = try await PostgresStore(location: location, attributes: AttributeSchema(), maximumConnections: 1)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            // PSQLError's description hides the server's message; the test's failure shows it.
            throw ScratchDatabaseError(description: "reading the test's PostgreSQL database failed: \(String(reflecting: error))")
        }
    }

    func notificationID(_ location: PostgresLocation, user: String, channel: String) async throws -> String {
        try await withDatabase(location) { database in
            try #require(try await database.rows("SELECT id::text FROM notifications WHERE user_id = '\(user)' AND channel = '\(channel)'", as: String.self).first)
        }
    }

    /// The queue of dead letters, then a worker whose email providers refuse its credentials:
    /// its breakers and pause reach `herald queue` through the database, and its alerts are
    /// posted once.
    @Test func queueShowsTheOutboxDeadLettersAndTheWorkersProviderHealthOnPostgreSQL() async throws {
        try await withDeadEmails { directory, environment, location in
            let table = try await HeraldBinary.run(["queue"], in: directory.path, environment: environment)
            #expect(table.status == 0, "\(table.stderr)")
            OperatorCommandTests.expectQueueOfDeadEmails(table.stdout)
            let json = try await HeraldBinary.run(["queue", "--format", "json"], in: directory.path, environment: environment)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)\(json.stderr)")
            #expect(object["totals"] as? [String: Int] == ["queued": 0, "due_now": 0, "in_flight": 0, "retrying": 0, "dead": 2, "sent_last_minute": 0])
            // --watch redraws until interrupted: read until a second block comes.
            let watching = try HeraldBinary.start(["queue", "--watch", "--interval", "0.2"], in: directory.path, environment: environment)
            var watched = ""
            let started = ContinuousClock.now
            while !watched.contains("\n\nqueue at "), ContinuousClock.now - started < .seconds(30) {
                let handle = watching.stdout.fileHandleForReading
                let chunk = await onOwnThread { PipeReading.available(handle) }
                guard !chunk.isEmpty else { break }
                watched += String(decoding: chunk, as: UTF8.self)
            }
            watching.process.interrupt()
            let rest = await HeraldBinary.finish(watching)
            #expect(watched.contains("\n\nqueue at ") && watched.hasPrefix("queue at "), "\(watched)\(rest.stdout)\(rest.stderr)")
            #expect(!watched.contains("\u{1B}"), "no terminal escapes into a pipe")

            // Both email providers now answer 401; alerts go to the sandbox's inbox.
            let refused = ProviderFaults(errorRates: [401: 1.0])
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, faults: FaultPlan(providers: [.sendgrid: refused, .mandrill: refused]), smtpPort: nil)) { sandbox in
                try OperatorCommandTests.rewrite(directory.file("herald.yml"), [("http://127.0.0.1:1/", "http://127.0.0.1:\(sandbox.port)/")])
                try (try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8) + "\nalerts: {webhook: \"\(sandbox.inboxURL("alerts"))\", min_attempts: 1}\n")
                    .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                let retry = try await HeraldBinary.run(["dead-letter", "retry", "--all"], in: directory.path, environment: environment)
                #expect(retry.stdout.contains("requeued 2 dead notifications"), "\(retry.stdout)\(retry.stderr)")

                let worker = try HeraldBinary.start(["worker", "--channel", "email"], in: directory.path, environment: environment)
                // The worker writes its providers' health every 10 s.
                var paused: [String: Any]?
                let waiting = ContinuousClock.now
                while paused == nil, ContinuousClock.now - waiting < .seconds(45) {
                    try await Task.sleep(for: .milliseconds(500))
                    let queue = try await HeraldBinary.run(["queue", "--format", "json"], in: directory.path, environment: environment)
                    let rows = (try? JSONSerialization.jsonObject(with: Data(queue.stdout.utf8)) as? [String: Any])?["rows"] as? [[String: Any]] ?? []
                    paused = rows.first { $0["provider"] as? String == "sendgrid" && $0["paused_reason"] is String }
                }
                let shown = try await HeraldBinary.run(["queue"], in: directory.path, environment: environment)
                kill(worker.process.processIdentifier, SIGTERM)
                let output = await HeraldBinary.finish(worker)
                #expect(output.status == 0, "\(output.stderr)")
                let row = try #require(paused, "the worker's provider health never reached `herald queue`: \(shown.stdout)\(output.stderr)")
                #expect((row["paused_reason"] as? String)?.hasPrefix("misconfigured: ") == true, "\(row)")
                #expect(row["queued"] as? Int == 2 && row["dead"] as? Int == 0, "\(row)")
                let sendgrid = try #require(shown.stdout.split(separator: "\n").first { $0.hasPrefix("email    sendgrid") }, "\(shown.stdout)")
                #expect(sendgrid.contains("(paused: misconfigured: "), "\(shown.stdout)")

                // Each alert once, from the incidents the worker opened in the database: one per
                // provider, and the channel's for the dead letters and failures of the first send.
                let alerts = sandbox.inbox.received.filter { $0.path.hasSuffix("alerts") }.compactMap {
                    (try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any])?["herald"] as? [String: Any]
                }
                let posted = alerts.map { "\($0["event"] as? String ?? "?") \($0["kind"] as? String ?? "?") \($0["provider"] as? String ?? "-")" }
                #expect(posted.contains("fired misconfigured mandrill") && posted.contains("fired misconfigured sendgrid"), "\(posted)")
                #expect(Set(posted).count == posted.count, "an alert posted twice: \(posted)")
                let incidents = try await withDatabase(location) { try await $0.count("SELECT COUNT(*) FROM alert_incidents WHERE kind = 'misconfigured'") }
                #expect(incidents == 2)
            }
        }
    }

    @Test func deadLettersAreListedRetriedThenSentAndDiscardedOnPostgreSQL() async throws {
        try await withDeadEmails { directory, environment, location in
            let ana = try await notificationID(location, user: "ana", channel: "email")
            let bo = try await notificationID(location, user: "bo", channel: "email")
            let anaPush = try await notificationID(location, user: "ana", channel: "push")
            func run(_ arguments: [String]) async throws -> HeraldBinary.Output {
                try await HeraldBinary.run(arguments, in: directory.path, environment: environment)
            }

            let list = try await run(["dead-letter", "list"])
            #expect(list.status == 0, "\(list.stderr)")
            let rows = list.stdout.split(separator: "\n").map(String.init)
            #expect(rows.first?.hasPrefix("id  campaign     user  channel  provider  attempts  dead_at") == true, "\(list.stdout)")
            #expect(rows.dropFirst().first?.contains("winter-sale  ana   email    sendgrid         1") == true, "\(list.stdout)")
            #expect(rows.last == "2 dead notifications", "\(list.stdout)")
            let limited = try await run(["dead-letter", "list", "--limit", "1", "--format", "json"])
            let page = try #require(try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])
            #expect(page["total"] as? Int == 2 && (page["notifications"] as? [[String: Any]])?.map { $0["user"] as? String } == ["ana"])
            #expect(try await run(["dead-letter", "list", "--channel", "sms"]).stdout == "no dead notifications match\n")

            // Bad input changes nothing.
            let unknown = try await run(["dead-letter", "retry", ana, "987654"])
            #expect(unknown.status == 1 && unknown.stderr.contains("no notification 987654 in the store; nothing was changed"), "\(unknown.stderr)")
            let campaign = try await run(["dead-letter", "discard", "--all", "--campaign", "winter-sal"])
            #expect(campaign.status == 1 && campaign.stderr.contains("no campaign 'winter-sal' in the store (did you mean 'winter-sale'?)"), "\(campaign.stderr)")
            #expect(try await run(["dead-letter", "list"]).stdout.hasSuffix("\n2 dead notifications\n"))

            let retry = try await run(["dead-letter", "retry", ana, anaPush])
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(retry.stdout == """
                notification \(anaPush) is skipped, not dead; left as it is
                requeued 1 dead notification; `herald deliver` or a running worker sends them

                """, "\(retry.stdout)")
            #expect(try await run(["queue"]).stdout.contains("email    sendgrid       1    1          0         0     1"))

            // The provider works again: the requeued email goes out with a fresh first attempt.
            try OperatorCommandTests.rewrite(directory.file("herald.yml"), [("http://127.0.0.1:1/", "http://127.0.0.1:4010/")])
            try await withSandbox(workspace: directory.path) { sandbox in
                let deliver = try await HeraldBinary.run(["deliver"], in: directory.path, environment: environment)
                #expect(deliver.status == 0, "\(deliver.stderr)")
                #expect(sandbox.log.messages.compactMap(\.notificationID) == [ana])
            }
            let trace = try await run(["trace", ana])
            #expect(trace.stdout.contains("  state       sent\n") && trace.stdout.contains("dead-letter retry by operator"), "\(trace.stdout)")
            #expect(trace.stdout.components(separatedBy: "attempt 1").count == 3, "\(trace.stdout)")

            let discard = try await run(["dead-letter", "discard", "--all", "--campaign", "winter-sale"])
            #expect(discard.stdout == "discarded 1 dead notification; they are failed with reason `discarded`; their trail is kept\n", "\(discard.stdout)")
            let again = try await run(["dead-letter", "discard", bo])
            #expect(again.stdout == "notification \(bo) is failed, not dead; left as it is\nnothing discarded\n", "\(again.stdout)")
            #expect(try await run(["dead-letter", "list"]).stdout == "no dead notifications\n")
        }
    }

    /// The demo's store (sends, deliveries, opens, clicks, an A/B test with a holdout and
    /// purchases) copied into PostgreSQL: every view of `herald report` prints there what it
    /// prints from the SQLite file, to the byte.
    @Test func everyViewOfTheReportPrintsTheSameOnPostgreSQLAsOnSQLite() async throws {
        try await withPostgresWorkspace { directory, environment, location in
            // herald.yml names PostgreSQL (its password from the environment); the demo and the
            // commands given --database write and read the SQLite file.
            func run(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> HeraldBinary.Output {
                try await HeraldBinary.run(arguments, in: directory.path, environment: environment.merging(extra) { $1 })
            }
            let demo = try await run(["demo", "--users", "300"])
            #expect(demo.status == 0, "\(demo.stderr)")
            let campaign = directory.file("campaigns/winter-sale.yml")
            try (try String(contentsOfFile: campaign, encoding: .utf8).replacingOccurrences(of: "frequency_caps:\n  - {max: 1, per: 1d}\n", with: "")
                + "variants:\n  - {name: thirty}\n  - {name: forty, params: {discount: 40%}}\nholdout: 20%\nconversion: {event: purchase, within: 3d}\n")
                .write(toFile: campaign, atomically: true, encoding: .utf8)
            let sqlite = ["--database", "herald-demo.db"]
            let again = try await run(["send", "winter-sale", "--now", "--new", "--plan-only"] + sqlite)
            #expect(again.status == 0, "\(again.stderr)")
            for user in ["u-000001", "u-000002", "u-000003", "u-000004", "u-000005"] {
                #expect(try await run(["trigger", "purchase", "--user", user] + sqlite).status == 0)
            }
            let copy = try await run(
                ["store", "copy", "--to", "postgres://\(location.username)@\(location.host):\(location.port)/\(location.database)"] + sqlite,
                ["PGPASSWORD": location.password ?? ""]
            )
            #expect(copy.status == 0, "\(copy.stderr)")

            let views: [[String]] = [
                ["report"], ["report", "--format", "json"], ["report", "--by", "provider"], ["report", "--by", "day", "--format", "csv"],
                ["report", "--recipients"], ["report", "--recipients", "--state", "skipped", "--format", "csv"],
                ["report", "--recipients", "--channel", "email", "--format", "json", "--campaign", "winter-sale"],
                ["report", "--links"], ["report", "--links", "--format", "json"], ["report", "--variants"], ["report", "--variants", "--format", "json"],
                ["report", "--variants", "--format", "csv"], ["report", "--campaign", "weekly-digest", "--by", "provider", "--format", "json"],
                ["report", "--format", "html"], ["report", "--campaign", "winter-sal"],
            ]
            for view in views {
                let onSQLite = try await run(view + sqlite)
                let onPostgres = try await run(view)
                #expect(onPostgres.status == onSQLite.status, "\(view): \(onPostgres.stderr)")
                #expect(Self.withoutGenerationTime(onPostgres.stdout) == Self.withoutGenerationTime(onSQLite.stdout), "\(view.joined(separator: " "))")
                #expect(onPostgres.stderr == onSQLite.stderr, "\(view)")
            }
            // What the views hold: the test's groups, the demo's clicks and each notification.
            let variants = try await run(["report", "--variants", "--format", "json"])
            let groups = try #require(try JSONSerialization.jsonObject(with: Data(variants.stdout.utf8)) as? [[String: Any]])
            #expect(groups.compactMap { $0["group"] as? String } == ["forty", "thirty", "holdout"], "\(variants.stdout)")
            #expect(groups.allSatisfy { $0["conversion_event"] as? String == "purchase" })
            let links = try await run(["report", "--links"])
            #expect(links.stdout.hasPrefix("campaign") && links.stdout.contains("weekly-digest  ") && links.stdout.contains("http://"), "\(links.stdout)")
            let typo = try await run(["report", "--campaign", "winter-sal"])
            #expect(typo.status == 1 && typo.stderr.contains("no campaign 'winter-sal' in the store (did you mean 'winter-sale'?)"), "\(typo.stderr)")
            let html = try await run(["report", "--format", "html", "--output", "report.html"])
            #expect(html.status == 0 && html.stdout.hasPrefix("wrote report.html: "), "\(html.stdout)\(html.stderr)")
            let page = try String(contentsOfFile: directory.file("report.html"), encoding: .utf8)
            #expect(page.contains("data-chart=\"variants\"") && page.contains("data-table=\"locales\"") && page.contains("data-chart=\"activity\""))
        }
    }

    /// The HTML report's "Generated <instant>" line masked: the one thing two runs differ in.
    static func withoutGenerationTime(_ text: String) -> String {
        text.replacingOccurrences(of: #"Generated [0-9T:\-.Z]+ from"#, with: "Generated … from", options: .regularExpression)
    }

    @Test func keysAreCreatedListedAndRevokedOnPostgreSQLWithOnlyASaltedHashStored() async throws {
        try await withPostgresWorkspace { directory, environment, location in
            func run(_ arguments: [String]) async throws -> HeraldBinary.Output {
                try await HeraldBinary.run(arguments, in: directory.path, environment: environment)
            }
            #expect(try await run(["keys", "list"]).stdout == "no API keys; make one with `herald keys create --scopes send`\n")
            let created = try await run(["keys", "create", "--scopes", "send, events", "--rate", "100/s"])
            #expect(created.status == 0, "\(created.stderr)")
            let lines = created.stdout.split(separator: "\n").map(String.init)
            let appKey = try #require(lines.first { $0.hasPrefix("app key: ") }?.dropFirst("app key: ".count)).description
            let secret = try #require(lines.first { $0.hasPrefix("secret:  ") }?.dropFirst("secret:  ".count)).description
            #expect(created.stdout.contains("scopes:  send, events; rate 100/s") && created.stdout.contains("shown this once"), "\(created.stdout)")

            let list = try await run(["keys", "list", "--format", "json"])
            let keys = try #require((try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])?["keys"] as? [[String: Any]], "\(list.stdout)")
            #expect(keys.count == 1 && keys[0]["app_key"] as? String == appKey && keys[0]["rate"] as? String == "100/s")
            #expect(keys[0]["scopes"] as? [String] == ["send", "events"] && keys[0]["revoked_at"] is NSNull)
            #expect(!list.stdout.contains(secret))
            // The database holds a salted hash that the printed secret matches, and not the secret.
            try await withDatabase(location) { database in
                let record = try #require(try await database.apiKey(appKey))
                #expect(record.salt.count == 16 && record.secretHash.count == 32)
                #expect(APIKeys.matches(secret, record) && !APIKeys.matches(secret + "x", record))
                let dump = try await database.rows("SELECT row_to_json(k)::text FROM api_keys k", as: String.self).joined()
                #expect(!dump.contains(secret) && !dump.contains(String(secret.dropFirst(3))), "\(dump)")
            }

            let typo = try await run(["keys", "revoke", String(appKey.dropLast())])
            #expect(typo.status == 1 && typo.stderr.contains("no API key '\(appKey.dropLast())' (did you mean '\(appKey)'?)"), "\(typo.stderr)")
            let revoke = try await run(["keys", "revoke", appKey])
            #expect(revoke.status == 0 && revoke.stdout == "revoked \(appKey): its requests are refused from now on\n", "\(revoke.stdout)\(revoke.stderr)")
            let twice = try await run(["keys", "revoke", appKey])
            #expect(twice.status == 0 && twice.stdout.contains("was already revoked on"), "\(twice.stdout)")
            let table = try await run(["keys", "list"])
            let row = try #require(table.stdout.split(separator: "\n").first { $0.contains(appKey) }, "\(table.stdout)")
            #expect(row.contains("send,events") && row.contains("100/s") && row.filter { $0 == "Z" }.count == 2, "made and revoked: two instants in \(row)")
        }
    }
}
