import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// Alerts as an operator gets them: a real `herald worker` process whose email providers refuse
/// its credentials posts one alert per provider to the webhook of herald.yml `alerts:` (here the
/// sandbox's own inbox), and SMS, whose providers work, is delivered meanwhile.
@Suite(.tags(.slow), .timeLimit(.minutes(3)))
struct AlertEndToEndTests {
    /// The chaos workspace with 40 users, a sandbox whose two email providers answer with
    /// `emailFaults`, herald.yml's `alerts:` posting to the sandbox's inbox, and the chaos
    /// campaign planned: what each test then runs workers on.
    func withAlertingWorkspace(emailFaults: ProviderFaults, _ body: @escaping @Sendable (TemporaryDirectory, RunningSandbox) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            try await HeavyEndToEndTests.ChaosTests.makeWorkspace(directory)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "40"], in: directory.path).status == 0)
            let faults = FaultPlan(providers: [.sendgrid: emailFaults, .mandrill: emailFaults])
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, faults: faults, smtpPort: nil)) { sandbox in
                var yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                yml = yml.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                yml += "\nalerts: {webhook: \"\(sandbox.inboxURL("alerts"))\", min_attempts: 1}\n"
                try yml.write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                let plan = try await HeraldBinary.run(["send", "chaos", "--now", "--plan-only"], in: directory.path)
                #expect(plan.status == 0, "\(plan.stderr)")
                try await body(directory, sandbox)
            }
        }
    }

    @Test func aWorkerWhoseEmailProvidersRefuseItsKeysPostsOneAlertPerProviderAndKeepsSendingSMS() async throws {
        try await withAlertingWorkspace(emailFaults: ProviderFaults(errorRates: [401: 1.0])) { directory, sandbox in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let sms = Int(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE channel = 'sms' AND state = 'planned'")[0][0])!
            #expect(sms > 0)

            let started = try HeraldBinary.start(["worker"], in: directory.path)
            // The worker looks at its health every 10 s: the first look after the refusals fires.
            let waiting = ContinuousClock.now
            while Self.alerts(sandbox).count < 2, ContinuousClock.now - waiting < .seconds(60) {
                try await Task.sleep(for: .milliseconds(200))
            }
            // One more look: an incident that goes on is not posted again.
            try await Task.sleep(for: .seconds(11))
            kill(started.process.processIdentifier, SIGTERM)
            let output = await HeraldBinary.finish(started)
            #expect(output.status == 0, "\(output.stderr)")

            let alerts = Self.alerts(sandbox)
            let texts = alerts.compactMap { $0["text"] as? String }.sorted()
            #expect(texts.count == 2, "\(texts)")
            #expect(texts.first?.hasPrefix("Herald alert (critical): email: provider mandrill is misconfigured: ") == true, "\(texts)")
            #expect(texts.last?.hasPrefix("Herald alert (critical): email: provider sendgrid is misconfigured: ") == true, "\(texts)")
            let details = alerts.compactMap { $0["herald"] as? [String: Any] }
            #expect(Set(details.compactMap { $0["provider"] as? String }) == ["sendgrid", "mandrill"])
            #expect(details.allSatisfy { $0["event"] as? String == "fired" && $0["kind"] as? String == "misconfigured" && $0["channel"] as? String == "email" })
            // The worker logged them as errors too.
            #expect(output.stderr.contains("misconfigured"), "\(output.stderr)")
            // SMS went out meanwhile; email waits, its attempts not burned.
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE channel = 'sms' AND state = 'sent'") == [["\(sms)"]])
            let email = try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND state IN ('sent', 'failed', 'dead')")
            #expect(email == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) > 0 FROM outbox WHERE channel = 'email'") == [["1"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND attempts > 0") == [["0"]])
        }
    }

    /// Two workers on one database see the same failure rate in the store: the alert is posted
    /// once, by the worker whose check opened the incident there.
    @Test func twoWorkersOnOneDatabasePostEachAlertOnce() async throws {
        try await withAlertingWorkspace(emailFaults: ProviderFaults(errorRates: [503: 1.0])) { directory, sandbox in

            // Every email attempt fails and is retried; both workers look every 10 s.
            let workers = try (0..<2).map { _ in try HeraldBinary.start(["worker", "--channel", "email", "--batch-size", "5"], in: directory.path) }
            let waiting = ContinuousClock.now
            while Self.alerts(sandbox).isEmpty, ContinuousClock.now - waiting < .seconds(60) {
                try await Task.sleep(for: .milliseconds(200))
            }
            let (posted, _) = try await Self.stopAfterTwoMoreLooks(workers, postingTo: sandbox)
            #expect(posted.contains("fired failure_rate email -"), "\(posted)")
            #expect(Set(posted).count == posted.count, "an alert posted by both workers: \(posted.sorted())")
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM alert_incidents WHERE kind = 'failure_rate' AND channel = 'email'") == [["1"]])
        }
    }

    /// Two workers on one database whose breakers for SendGrid disagree, as two machines on
    /// either side of a network fault would: the first reaches SendGrid through a sandbox where
    /// it is down for its first 20 s (its breaker opens, its emails fail over to Mandrill), the
    /// second through one where it works (its breaker stays closed). The breaker alert is posted
    /// once, not again each time the second looks and sees SendGrid closed; once the first's
    /// probe gets through, the recovery is posted once, by one of them.
    @Test func workersWhoseBreakersDisagreePostTheAlertAndItsRecoveryOnce() async throws {
        try await withTemporaryDirectory { directory in
            // An email to each of 300 users at 4 a second between the workers: traffic for a
            // minute, past the breaker's 30 s cool-down.
            try await ThrottleEndToEndTests.makeWorkspace(directory, throttle: "240/min")
            let outage = FaultPlan(providers: [.sendgrid: ProviderFaults(outages: [.init(start: 0, end: 20)])], outagesFrom: .firstRequest)
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, faults: outage, smtpPort: nil, apnsPort: nil)) { far in
                try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil, apnsPort: nil)) { near in
                    let yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                        + "\nalerts: {webhook: \"\(far.inboxURL("alerts"))\", breaker_open: 5s}\n"
                    func pointed(at sandbox: RunningSandbox) -> String {
                        yml.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                    }
                    try pointed(at: far).write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                    let plan = try await HeraldBinary.run(["send", "paced", "--now", "--plan-only"], in: directory.path)
                    #expect(plan.status == 0, "\(plan.stderr)")
                    try await withTemporaryDirectory { other in
                        // The second machine: the same workspace and database, SendGrid reached
                        // through the other sandbox.
                        for item in try FileManager.default.contentsOfDirectory(atPath: directory.path) where !item.hasPrefix("herald.") {
                            try FileManager.default.copyItem(atPath: directory.file(item), toPath: other.file(item))
                        }
                        try pointed(at: near).write(toFile: other.file("herald.yml"), atomically: true, encoding: .utf8)
                        let workers = [
                            try HeraldBinary.start(["worker", "--channel", "email"], in: directory.path),
                            try HeraldBinary.start(["worker", "--channel", "email", "--database", directory.file("herald.db")], in: other.path),
                        ]
                        defer { for started in workers where started.process.isRunning { kill(started.process.processIdentifier, SIGKILL) } }
                        // Each looks every 10 s; the recovery can come 30 s after the first
                        // worker last saw its breaker open, after its cool-down of 30 s.
                        let waiting = ContinuousClock.now
                        while !Self.alerts(far).contains(where: { ($0["herald"] as? [String: Any])?["event"] as? String == "resolved" }),
                              ContinuousClock.now - waiting < .seconds(130) {
                            try await Task.sleep(for: .milliseconds(200))
                        }
                        // Nothing is posted again.
                        let (posted, stderr) = try await Self.stopAfterTwoMoreLooks(workers, postingTo: far)
                        #expect(posted == ["fired breaker_open email sendgrid", "resolved breaker_open email sendgrid"], "\(posted)")
                        #expect(stderr.components(separatedBy: "alert fired").count - 1 == 1, "\(stderr)")
                        #expect(stderr.components(separatedBy: "alert resolved").count - 1 == 1, "\(stderr)")
                        // They did disagree: the first failed over to Mandrill and probed SendGrid
                        // after the outage; the second sent through SendGrid all along.
                        #expect(far.log.messages.contains { $0.provider == .mandrill } && far.log.messages.contains { $0.provider == .sendgrid })
                        #expect(!near.log.messages.isEmpty && near.log.messages.allSatisfy { $0.provider == .sendgrid })
                    }
                }
            }
        }
    }

    /// Lets each worker look twice more (they look every 10 s), stops them with SIGTERM (each
    /// exits 0), and returns what `sandbox`'s inbox received, one `event kind channel provider`
    /// line per alert, and the workers' stderr.
    static func stopAfterTwoMoreLooks(
        _ workers: [(process: Process, stdout: Pipe, stderr: Pipe)], postingTo sandbox: RunningSandbox
    ) async throws -> (posted: [String], stderr: String) {
        try await Task.sleep(for: .seconds(21))
        for started in workers { kill(started.process.processIdentifier, SIGTERM) }
        var stderr = ""
        for started in workers {
            let output = await HeraldBinary.finish(started)
            #expect(output.status == 0, "\(output.stderr)")
            stderr += output.stderr
        }
        let posted = alerts(sandbox).compactMap { $0["herald"] as? [String: Any] }.map {
            "\($0["event"] as? String ?? "?") \($0["kind"] as? String ?? "?") \($0["channel"] as? String ?? "?") \($0["provider"] as? String ?? "-")"
        }
        return (posted, stderr)
    }

    /// The JSON bodies the sandbox's inbox received at /sandbox/inbox/alerts.
    static func alerts(_ sandbox: RunningSandbox) -> [[String: Any]] {
        sandbox.inbox.received.filter { $0.path.hasSuffix("alerts") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any]
        }
    }
}
