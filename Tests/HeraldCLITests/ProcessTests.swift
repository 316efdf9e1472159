import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// The long-running processes as an operator starts them, against the sandbox over real sockets:
/// `herald run` (scheduler and workers in one process) and `herald worker --channel`.
@Suite(.tags(.slow), .timeLimit(.minutes(3)))
struct ProcessTests {
    /// The chaos workspace (SMS and email to everyone, no limits) with its sample campaigns
    /// removed, `users` generated users, and its providers pointed at `sandbox`.
    static func workspace(_ directory: TemporaryDirectory, users: Int, sandbox: RunningSandbox) async throws {
        try await HeavyEndToEndTests.ChaosTests.makeWorkspace(directory)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.file("campaigns")) where name != "chaos.yml" {
            try FileManager.default.removeItem(atPath: directory.file("campaigns/\(name)"))
        }
        let text = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
        try text.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
            .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
        let generate = try await HeraldBinary.run(["users", "generate", "--count", "\(users)"], in: directory.path)
        #expect(generate.status == 0, "\(generate.stderr)")
    }

    static func count(_ store: SQLiteStore, _ sql: String) async throws -> Int {
        Int(try await store.rows(sql: sql)[0][0])!
    }

    /// Waits until `done` holds, for up to `limit`.
    static func wait(upTo limit: Duration, until done: () async throws -> Bool) async throws -> Bool {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            if try await done() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await done()
    }

    @Test func heraldRunPlansADueCampaignSendsItAndExitsZeroOnSIGTERM() async throws {
        try await withTemporaryDirectory { directory in
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil)) { sandbox in
                try await Self.workspace(directory, users: 200, sandbox: sandbox)
                // Due a few seconds after `herald run` starts: its scheduler plans it then.
                let at = ISO8601.string(from: Date().addingTimeInterval(6))
                let campaign = HeavyEndToEndTests.ChaosTests.campaign.replacingOccurrences(of: "campaign: chaos", with: "campaign: launch")
                    .replacingOccurrences(of: "[sms, email, push]", with: "[sms, email]") + "schedule: {at: \(at)}\n"
                _ = try directory.write("campaigns/launch.yml", campaign)
                try FileManager.default.removeItem(atPath: directory.file("campaigns/chaos.yml"))

                let started = try HeraldBinary.start(["run"], in: directory.path)
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                let sent = try await Self.wait(upTo: .seconds(90)) {
                    let planned = try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE campaign_id = 'launch'")
                    let open = try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE campaign_id = 'launch' AND state IN ('planned', 'sending')")
                    return planned > 0 && open == 0
                }
                kill(started.process.processIdentifier, SIGTERM)
                let output = await HeraldBinary.finish(started)
                #expect(sent, "the campaign was not planned and sent within 90 s: \(output.stdout)\n\(output.stderr)")
                #expect(output.status == 0, "\(output.stderr)")

                let states = try await store.rows(sql: "SELECT channel, state, COUNT(*) FROM notifications GROUP BY channel, state ORDER BY channel, state")
                // Sent, or skipped when planned (a generated user without a phone, an opt-out).
                #expect(states.filter { $0[1] == "sent" }.map { $0[0] } == ["email", "sms"], "\(states)")
                #expect(states.allSatisfy { ["sent", "skipped"].contains($0[1]) }, "\(states)")
                let sentCount = try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
                #expect(sentCount == sandbox.log.count, "every message the sandbox accepted is recorded as sent, once")
                #expect(try await store.rows(sql: "SELECT state FROM occurrences WHERE campaign_id = 'launch'").map { $0[0] } == ["planned"])
                // Nothing left in flight: nothing `sending`, no lease held, an empty outbox.
                #expect(try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE state = 'sending'") == 0)
                #expect(try await Self.count(store, "SELECT COUNT(*) FROM outbox") == 0)
            }
        }
    }

    @Test func aWorkerOfTheSMSChannelSendsTheSMSAndLeavesEmailQueued() async throws {
        try await withTemporaryDirectory { directory in
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil)) { sandbox in
                try await Self.workspace(directory, users: 200, sandbox: sandbox)
                let plan = try await HeraldBinary.run(["send", "chaos", "--now", "--plan-only"], in: directory.path)
                #expect(plan.status == 0, "\(plan.stderr)")
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                let sms = try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE channel = 'sms' AND state = 'planned'")
                let email = try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND state = 'planned'")
                #expect(sms > 0 && email > 0)

                let started = try HeraldBinary.start(["worker", "--channel", "sms", "--idle-poll", "0.2"], in: directory.path)
                let done = try await Self.wait(upTo: .seconds(60)) {
                    try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE channel = 'sms' AND state = 'sent'") == sms
                }
                // A few idle polls more: email is still not the worker's.
                try await Task.sleep(for: .seconds(2))
                kill(started.process.processIdentifier, SIGTERM)
                let output = await HeraldBinary.finish(started)
                #expect(done, "the SMS were not all sent within 60 s: \(output.stderr)")
                #expect(output.status == 0, "\(output.stderr)")
                #expect(output.stdout.contains("delivering sms (pid"), "\(output.stdout)")
                // Its claims, said when it stops: the rows they took are the SMS it sent.
                let claims = try #require(
                    output.stdout.firstMatch(of: /claims: ([0-9,]+) of ([0-9.]+) rows on average; p50 ([0-9.]+) ms, p99 ([0-9.]+) ms, max ([0-9.]+) ms/),
                    "\(output.stdout)"
                )
                let count = try #require(Double(claims.1.replacingOccurrences(of: ",", with: "")))
                let average = try #require(Double(claims.2))
                #expect(abs(count * average - Double(sms)) <= count * 0.05 + 0.5, "\(claims.0) for \(sms) SMS")
                let (p50, p99, maximum) = (try #require(Double(claims.3)), try #require(Double(claims.4)), try #require(Double(claims.5)))
                #expect(p50 > 0 && p50 <= p99 && p99 <= maximum, "\(claims.0)")

                #expect(Set(sandbox.log.messages.map(\.provider)).isSubset(of: [.twilio, .vonage]), "\(Set(sandbox.log.messages.map(\.provider)))")
                #expect(sandbox.log.count == sms)
                #expect(try await Self.count(store, "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND state = 'planned'") == email)
                #expect(try await Self.count(store, "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND attempts = 0 AND lease_until IS NULL") == email)
                #expect(try await Self.count(store, "SELECT COUNT(*) FROM outbox WHERE channel = 'sms'") == 0)
            }
        }
    }
}
