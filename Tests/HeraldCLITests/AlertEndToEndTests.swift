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
            try await ChaosTests.makeWorkspace(directory)
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
            // Two more looks by each.
            try await Task.sleep(for: .seconds(21))
            for started in workers { kill(started.process.processIdentifier, SIGTERM) }
            var stderr = ""
            for started in workers {
                let output = await HeraldBinary.finish(started)
                #expect(output.status == 0, "\(output.stderr)")
                stderr += output.stderr
            }
            let posted = Self.alerts(sandbox).compactMap { $0["herald"] as? [String: Any] }.map {
                "\($0["event"] as? String ?? "?") \($0["kind"] as? String ?? "?") \($0["channel"] as? String ?? "?") \($0["provider"] as? String ?? "-")"
            }
            #expect(posted.contains("fired failure_rate email -"), "\(posted)")
            #expect(Set(posted).count == posted.count, "an alert posted by both workers: \(posted.sorted())")
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM alert_incidents WHERE kind = 'failure_rate' AND channel = 'email'") == [["1"]])
        }
    }

    /// The JSON bodies the sandbox's inbox received at /sandbox/inbox/alerts.
    static func alerts(_ sandbox: RunningSandbox) -> [[String: Any]] {
        sandbox.inbox.received.filter { $0.path.hasSuffix("alerts") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any]
        }
    }
}
