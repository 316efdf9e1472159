import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// A campaign's `throttle` at send time, as the sandbox sees it: two real `herald worker`
/// processes on one database draining a throttled campaign's backlog send at the campaign's
/// rate between them, not twice it.
@Suite(.tags(.slow), .timeLimit(.minutes(3)))
struct ThrottleEndToEndTests {
    static let campaign = """
        campaign: paced
        category: transactional
        channels: [email]
        template: paced
        throttle: 600/min

        """

    static let template = """
        template: paced
        email:
          subject: "Paced {{id}}"
          text: paced.txt

        """

    /// The sample workspace without limits, with the campaign `paced`: an email to everyone at
    /// `throttle`, and `users` generated users.
    static func makeWorkspace(_ directory: TemporaryDirectory, throttle: String = "600/min", users: Int = 300) async throws {
        #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
        try removeLimits(fromWorkspace: directory.path)
        _ = try directory.write("campaigns/paced.yml", campaign.replacingOccurrences(of: "600/min", with: throttle))
        _ = try directory.write("templates/paced.yml", template)
        _ = try directory.write("templates/paced.txt", "Hello {{id}}\n")
        #expect(try await HeraldBinary.run(["users", "generate", "--count", "\(users)"], in: directory.path).status == 0)
    }

    /// Stops `workers` with SIGTERM (each exits 0) and returns how many of `channel` each sent.
    static func stop(_ workers: [(process: Process, stdout: Pipe, stderr: Pipe)], channel: String) async -> [Int] {
        for started in workers { kill(started.process.processIdentifier, SIGTERM) }
        var sentByWorker: [Int] = []
        for started in workers {
            let output = await HeraldBinary.finish(started)
            #expect(output.status == 0, "\(output.stderr)")
            let line = output.stdout.split(separator: "\n").first { $0.contains("\(channel) outbox:") }
            sentByWorker.append(line.flatMap { Int($0.split(separator: ":")[1].split(separator: " ")[0]) } ?? 0)
        }
        return sentByWorker
    }

    /// The most of `accepted` (sorted instants, in seconds) within any 10 seconds.
    static func busiestTenSeconds(_ accepted: [Double]) -> Int {
        var busiest = 0
        for (index, start) in accepted.enumerated() {
            busiest = max(busiest, accepted[index...].prefix { $0 < start + 10 }.count)
        }
        return busiest
    }

    @Test func twoWorkersSendAThrottledCampaignsBacklogAtItsRateBetweenThem() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.makeWorkspace(directory)
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil, apnsPort: nil)) { sandbox in
                let yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                try yml.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                    .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                // Planned with the workers stopped: at 600 a minute the whole send fits in this
                // minute, so every email is due at once, as a backlog after downtime would be.
                let plan = try await HeraldBinary.run(["send", "paced", "--now", "--plan-only"], in: directory.path)
                #expect(plan.status == 0, "\(plan.stderr)")
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                let planned = try #require(Int(try await store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE channel = 'email'")[0][0]))
                #expect(planned > 200)
                #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE due_at > \(Date().timeIntervalSince1970)") == [["0"]])

                let worker = ["worker", "--channel", "email", "--idle-poll", "0.2"]
                let workers = try (0..<2).map { _ in try HeraldBinary.start(worker, in: directory.path) }
                let waiting = ContinuousClock.now
                while sandbox.log.messages.count < planned, ContinuousClock.now - waiting < .seconds(120) {
                    try await Task.sleep(for: .milliseconds(200))
                }
                let sentByWorker = await Self.stop(workers, channel: "email")

                let accepted = sandbox.log.messages.map(\.acceptedAt).sorted()
                #expect(accepted.count == planned && Set(sandbox.log.messages.map(\.to)).count == planned, "each email once")
                #expect(sentByWorker.count == 2 && sentByWorker.allSatisfy { $0 > 0 } && sentByWorker.reduce(0, +) == planned, "\(sentByWorker)")
                // 10 a second between them. The workers claimed no more than 10 in any second of
                // their clock (the `sending` event is written with the claim)…
                let claimedPerSecond = try await store.rows(sql: "SELECT CAST(at AS INTEGER), COUNT(*) FROM events WHERE type = 'sending' GROUP BY 1")
                #expect(claimedPerSecond.count >= planned / 10 && claimedPerSecond.allSatisfy { Int($0[1])! <= 10 }, "\(claimedPerSecond)")
                // …and the sandbox saw it: any 10 s of its clock hold at most 100, and up to 3 s
                // more of them for sends that a loaded machine handed over late. Two workers each
                // at the rate would put about 200 there.
                let busiest = Self.busiestTenSeconds(accepted)
                #expect(busiest <= 130, "\(busiest) emails within 10 s")
                // From the first email the sandbox took to the last: the first second's emails can
                // reach it later after their claim (a process starting, a connection opening on a
                // loaded machine) than the last second's, which shortens the span by as much.
                let took = accepted.last! - accepted.first!
                #expect(took >= Double(planned) / 10 - 3, "\(planned) emails at 10 a second took \(took) s")
                // Held back, an email was never claimed: one attempt each, nothing postponed.
                #expect(try await store.rows(sql: "SELECT state, attempts, COUNT(*) FROM notifications WHERE state <> 'skipped' GROUP BY 1, 2") == [["sent", "1", "\(planned)"]])
                #expect(try await store.rows(sql: "SELECT COUNT(*) FROM events WHERE type IN ('postponed', 'released', 'reclaimed')") == [["0"]])
            }
        }
    }

    /// A provider's `rate:` is the provider's, not each worker's: two `herald worker --channel
    /// sms` processes on one database send through Twilio at its 20/s between them (each takes
    /// half once it has seen the other in the store), `herald queue` lists both while they run
    /// and neither once they have stopped.
    @Test func twoWorkersShareAProvidersRate() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try removeLimits(fromWorkspace: directory.path)
            _ = try directory.write("campaigns/texts.yml", """
                campaign: texts
                category: transactional
                channels: [sms]
                template: texts

                """)
            _ = try directory.write("templates/texts.yml", """
                template: texts
                sms:
                  body: "Your code is {{id}}"

                """)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "400"], in: directory.path).status == 0)
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil, apnsPort: nil)) { sandbox in
                let yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                #expect(yml.contains("/twilio\", rate: 100/s"))
                try yml.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                    .replacingOccurrences(of: "/twilio\", rate: 100/s", with: "/twilio\", rate: 20/s")
                    .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                let plan = try await HeraldBinary.run(["send", "texts", "--now", "--plan-only"], in: directory.path)
                #expect(plan.status == 0, "\(plan.stderr)")
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                let planned = try #require(Int(try await store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE channel = 'sms'")[0][0]))
                #expect(planned > 200)

                let worker = ["worker", "--channel", "sms", "--idle-poll", "0.2"]
                let workers = try (0..<2).map { _ in try HeraldBinary.start(worker, in: directory.path) }
                var listed = 0
                let waiting = ContinuousClock.now
                while sandbox.log.messages.count < planned, ContinuousClock.now - waiting < .seconds(120) {
                    let queue = try await HeraldBinary.run(["queue", "--format", "json"], in: directory.path)
                    let object = try JSONSerialization.jsonObject(with: Data(queue.stdout.utf8)) as? [String: Any]
                    listed = max(listed, (object?["workers"] as? [[String: Any]])?.count ?? 0)
                    try await Task.sleep(for: .milliseconds(500))
                }
                let sentByWorker = await Self.stop(workers, channel: "sms")
                #expect(listed == 2, "herald queue listed \(listed) workers at most")
                #expect(try await HeraldBinary.run(["queue"], in: directory.path).stdout.hasSuffix("no delivery workers alive\n"))

                let accepted = sandbox.log.messages.filter { $0.provider == .twilio }.map(\.acceptedAt).sorted()
                // Each SMS once, through Twilio (generated users can share a phone number).
                #expect(accepted.count == planned)
                #expect(try await store.rows(sql: "SELECT state, attempts, COUNT(*) FROM notifications WHERE channel = 'sms' AND state <> 'skipped' GROUP BY 1, 2") == [["sent", "1", "\(planned)"]])
                #expect(sentByWorker.count == 2 && sentByWorker.allSatisfy { $0 > 0 } && sentByWorker.reduce(0, +) == planned, "\(sentByWorker)")
                // 20 a second between them: the two bursts (20 and 10) and up to 2 s of the first
                // worker at the whole rate before it sees the second are all that may go faster.
                // Each at the whole rate (the bug) would take half the time and put about 400 in
                // the busiest 10 s.
                let took = accepted.last! - accepted.first!
                #expect(took >= Double(planned - 70) / 20, "\(planned) SMS at 20 a second took \(took) s")
                let busiest = Self.busiestTenSeconds(accepted)
                #expect(busiest <= 270, "\(busiest) SMS within 10 s")
            }
        }
    }
}
