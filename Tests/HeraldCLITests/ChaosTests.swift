import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// The heaviest end-to-end tests, each several herald processes sending thousands of messages
/// for minutes: one at a time, so that on 2 cores neither starves the other (the other
/// end-to-end tests still run beside them).
@Suite(.serialized) enum HeavyEndToEndTests {}

extension HeavyEndToEndTests {
    /// The delivery engine under provider faults and `kill -9`: real `herald worker` processes
    /// against the sandbox over real sockets, on one SQLite file.
    @Suite(.tags(.slow), .timeLimit(.minutes(15)))
    struct ChaosTests {
        static let users = 20_000

        /// When Twilio and SendGrid are down: seconds after the sandbox's first provider request,
        /// that is after the workers started (the sandbox sits idle while the users are generated and
        /// the campaign planned). Late enough that SMS and email have been sent before it, also when
        /// a loaded machine starts them seconds after the first push (once, 5 s was not).
        static let outage = (from: 15.0, to: 45.0)

        /// Faults for every provider (`herald sandbox --faults`): 10% 5xx, 3% 429 with Retry-After,
        /// 2% requests left unanswered; Twilio and SendGrid are down for 30 s as well.
        static let faultsFile = """
            seed: 11
            outages_from: first_request
            twilio: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02, outages: [{from: \(Int(outage.from))s, to: \(Int(outage.to))s}]}
            sendgrid: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02, outages: [{from: \(Int(outage.from))s, to: \(Int(outage.to))s}]}
            vonage: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}
            mandrill: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}
            apns: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}
            fcm: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}
            webpush: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}
            jpush: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}
            pushy: {error_rate: {429: 0.03, 500: 0.05, 503: 0.05}, retry_after: 1, timeout_rate: 0.02}

            """

        static let campaign = """
            campaign: chaos
            category: transactional
            channels: [sms, email, push]
            delivery: all
            template: chaos

            """

        static let template = """
            template: chaos
            push:
              title: Chaos
              body: "Chaos {{id}}"
            sms:
              body: "Chaos {{id}}"
            email:
              subject: "Chaos {{id}}"
              text: chaos.txt

            """

        /// The sample workspace without limits, with the chaos campaign: SMS and email to everyone,
        /// and push to every device with `push` (whose providers the caller then points at its
        /// sandbox; without it, push is left out of the campaign).
        static func makeWorkspace(_ directory: TemporaryDirectory, push: Bool = false) async throws {
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try removeLimits(fromWorkspace: directory.path)
            _ = try directory.write("campaigns/chaos.yml", push ? campaign : campaign.replacingOccurrences(of: "[sms, email, push]", with: "[sms, email]"))
            _ = try directory.write("templates/chaos.yml", template)
            _ = try directory.write("templates/chaos.txt", "Hello {{id}}\n")
        }

        @Test func killedWorkersUnderProviderFaultsLoseNothingAndRepeatOnlyWhatWasInFlight() async throws {
            try await withTemporaryDirectory { directory in
                try await Self.makeWorkspace(directory, push: true)
                // Fast retries, many attempts, short timeouts: the faults are survivable in minutes.
                var yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                yml = yml.replacingOccurrences(of: "retry: {max_attempts: 8, initial: 2s, max: 30m}", with: "retry: {max_attempts: 30, initial: 1s, max: 4s}")
                    .replacingOccurrences(of: "rate: 100/s", with: "rate: 2000/s").replacingOccurrences(of: "rate: 200/s", with: "rate: 2000/s")
                    .replacingOccurrences(of: "base_url: \"http://127.0.0.1:4010/", with: "timeout: 2s, base_url: \"http://127.0.0.1:4010/")
                    .replacingOccurrences(of: "base_url: \"https://127.0.0.1:4443\"", with: "timeout: 2s, base_url: \"https://127.0.0.1:4443\"")
                    .replacingOccurrences(of: "{kind: webpush, ", with: "{kind: webpush, timeout: 2s, ")
                try yml.write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)

                // The sandbox runs as its own process, as it would beside a deployment, and records
                // every message it accepts.
                _ = try directory.write("faults.yml", Self.faultsFile)
                let sandboxProcess = try HeraldBinary.start(
                    ["sandbox", "--listen", "127.0.0.1:0", "--smtp-port", "0", "--apns-port", "0", "--record", "messages.jsonl", "--faults", "faults.yml"], in: directory.path
                )
                defer { if sandboxProcess.process.isRunning { kill(sandboxProcess.process.processIdentifier, SIGKILL) } }
                var banner = ""
                while !banner.contains("Ctrl-C stops it.") {
                    let handle = sandboxProcess.stdout.fileHandleForReading
                    let data = await onOwnThread { PipeReading.available(handle) }
                    guard !data.isEmpty else { break }
                    banner += String(decoding: data, as: UTF8.self)
                }
                let port = try #require(banner.split(separator: "\n").first?.split(separator: ":").last.flatMap { Int($0) }, "\(banner)")
                let apns = try #require(banner.split(separator: "\n").first { $0.hasPrefix("  apns ") }?.split(separator: " ").first { $0.hasPrefix("https://") }, "\(banner)")
                do {
                    let text = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                    try text.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(port)/")
                        .replacingOccurrences(of: "https://127.0.0.1:4443", with: String(apns))
                        .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                    // Browsers subscribe at this sandbox's Web Push endpoint.
                    let generate = try await HeraldBinary.run(
                        ["users", "generate", "--count", "\(Self.users)", "--webpush-endpoint", "http://127.0.0.1:\(port)/webpush"], in: directory.path
                    )
                    #expect(generate.status == 0, "\(generate.stderr)")
                    let plan = try await HeraldBinary.run(["send", "chaos", "--now", "--plan-only"], in: directory.path)
                    #expect(plan.status == 0, "\(plan.stderr)")
                    let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                    let planned = Int(try await store.rows(sql: "SELECT COUNT(*) FROM outbox")[0][0])!
                    #expect(planned > 2 * Self.users, "three channels for most users")

                    // Two workers at a time; one of them is killed with SIGKILL every few seconds and
                    // a new one started, at least five times, then they run until the outbox is empty.
                    // Their output goes to files (worker-N.out, worker-N.err): a worker that logs
                    // for minutes into a pipe nobody reads blocks, and holds its leases meanwhile.
                    let worker = ["worker", "--lease", "3", "--idle-poll", "0.2"]
                    var started = 0
                    func startWorker() throws -> HeraldBinary.LoggedChild {
                        started += 1
                        return try HeraldBinary.startLogged(worker, in: directory.path, name: "worker-\(started)")
                    }
                    var workers = [try startWorker(), try startWorker()]
                    var generator = SystemRandomNumberGenerator()
                    var kills = 0
                    while kills < 6 {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 1500...4000, using: &generator)))
                        let victim = Int.random(in: 0..<workers.count, using: &generator)
                        kill(workers[victim].process.processIdentifier, SIGKILL)
                        _ = await HeraldBinary.finish(workers[victim])
                        kills += 1
                        workers[victim] = try startWorker()
                    }
                    let start = ContinuousClock.now
                    // A bound on liveness, not a speed test: beside the other end-to-end tests on 2
                    // cores the whole test (then 12,000 users) took 316 s in one clean-clone run, and
                    // its drain alone went past 300 s in another.
                    while Int(try await store.rows(sql: "SELECT COUNT(*) FROM outbox")[0][0])! > 0 {
                        guard ContinuousClock.now - start < .seconds(750) else {
                            // What is left, and what the live workers said: where it is stuck.
                            let left = try await store.rows(sql: """
                                SELECT o.notification_id, o.channel, o.provider, o.attempts, o.claims, o.due_at - (julianday('now') - 2440587.5) * 86400,
                                       o.lease_owner, o.lease_until - (julianday('now') - 2440587.5) * 86400, n.state
                                FROM outbox o JOIN notifications n ON n.id = o.notification_id ORDER BY o.due_at LIMIT 20
                                """)
                            let trail = try await store.rows(sql: """
                                SELECT notification_id, type, detail, at - (julianday('now') - 2440587.5) * 86400 FROM events
                                WHERE notification_id IN (SELECT notification_id FROM outbox ORDER BY due_at LIMIT 3) ORDER BY id
                                """)
                            let logs = workers.map { worker in
                                let text = (try? String(contentsOfFile: worker.stderrPath, encoding: .utf8)) ?? ""
                                return "\(worker.stderrPath) (\(text.utf8.count) bytes), its end:\n" + text.split(separator: "\n").suffix(20).joined(separator: "\n")
                            }
                            Issue.record("the outbox did not empty within 12.5 minutes; left (id, channel, provider, attempts, claims, due in s, lease owner, lease ends in s, state): \(left); their trail: \(trail); \(logs.joined(separator: "\n"))")
                            break
                        }
                        try await Task.sleep(for: .milliseconds(250))
                    }
                    for started in workers {
                        kill(started.process.processIdentifier, SIGTERM)
                        let output = await HeraldBinary.finish(started)
                        #expect(output.status == 0, "a worker stopped by SIGTERM exits 0: \(output.stderr.suffix(2_000))")
                    }

                    // Every notification reached exactly one terminal state.
                    let states = try await store.rows(sql: "SELECT state, COUNT(*) FROM notifications GROUP BY state ORDER BY state")
                    #expect(states.allSatisfy { ["sent", "skipped", "failed", "dead"].contains($0[0]) }, "\(states)")
                    #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["0"]])

                    // What the sandbox accepted: each notification once, except sends in flight at a
                    // kill (repeated after their lease), which are counted. Generated users may share
                    // an address, so messages are counted per address against the notifications sent
                    // to it (Twilio's requests carry no notification id to match on).
                    kill(sandboxProcess.process.processIdentifier, SIGTERM)
                    _ = await HeraldBinary.finish(sandboxProcess)
                    let sentRows = try await store.rows(sql: "SELECT channel || ':' || address FROM notifications WHERE state = 'sent'")
                    let messages = try Self.recorded(directory.file("messages.jsonl"))
                    let tally = Self.tally(accepted: messages, sent: sentRows.map { $0[0] })
                    #expect(tally.missing.isEmpty, "recorded as sent but never accepted by the sandbox: \(tally.missing.prefix(5))")
                    #expect(tally.acceptedAddresses == tally.sentAddresses, "the sandbox accepted messages for exactly the addresses recorded as sent")
                    let repeats = tally.repeats
                    let reclaimed = try await store.eventCounts()["reclaimed", default: 0]
                    let released = try await store.eventCounts()["released", default: 0]
                    // Besides sends in flight at a kill, a send whose answer never came (its 2 s
                    // timeout ran out on a loaded machine, a connection broke) may have been taken
                    // by the provider: it was tried again, or at the next provider, and the trail
                    // says so (once 705 of 1,123 repeats, more than the kills left that run).
                    let unanswered = Int(try await store.rows(sql: """
                        SELECT COUNT(*) FROM events WHERE type IN ('retry_scheduled', 'failed_over')
                            AND (detail LIKE '%sent nothing for too long%' OR detail LIKE '%longer than its deadline%'
                                 OR detail LIKE '%without an answer%' OR detail LIKE '%before answering%' OR detail LIKE '%no answer%')
                        """)[0][0])!
                    print("chaos: \(planned) notifications, \(kills) kills, \(messages.count) messages accepted, \(repeats) repeated (\(reclaimed) sends reclaimed after a kill, \(released) given back at shutdown, \(unanswered) sends whose answer never came)")
                    #expect(repeats <= reclaimed + released + unanswered)
                    // The report's counts equal the sandbox's: what it accepted, less the repeats.
                    let report = try await store.report(campaignID: "chaos")
                    #expect(report.reduce(0) { $0 + $1.sent } == messages.count - repeats)
                    // The fallback providers carried traffic while Twilio and SendGrid were down.
                    let carriers = try await store.rows(sql: "SELECT provider, COUNT(*) FROM notifications WHERE state = 'sent' GROUP BY provider ORDER BY provider")
                    let byProvider = Dictionary(uniqueKeysWithValues: carriers.map { ($0[0], Int($0[1])!) })
                    #expect(byProvider["vonage", default: 0] > 0 && byProvider["mandrill", default: 0] > 0, "\(carriers)")
                    #expect(byProvider["twilio", default: 0] > 0 && byProvider["sendgrid", default: 0] > 0, "\(carriers)")
                    // During the outage, by the sandbox's clock: the first accepted message marks (a
                    // moment after) its first request, from which the outage is counted; a second of
                    // margin at each end leaves out sends that straddle its edges.
                    let origin = try #require(messages.map(\.acceptedAt).min())
                    let window = (origin + Self.outage.from + 1)...(origin + Self.outage.to - 1)
                    var during: [String: Int] = [:]
                    for message in messages where window.contains(message.acceptedAt) { during[message.provider, default: 0] += 1 }
                    // And before it Twilio or SendGrid carried traffic: the outage, one window for
                    // both, started after delivery did (a window placed elsewhere fails one of the
                    // two checks). Not both: five failures in a row (timeouts of a loaded machine
                    // in the first burst) open a provider's breaker for 30 s, and its traffic then
                    // goes to the fallback from the start, as it should (once on CI, Twilio's).
                    let before = origin...(origin + Self.outage.from - 1)
                    var early: [String: Int] = [:]
                    for message in messages where before.contains(message.acceptedAt) { early[message.provider, default: 0] += 1 }
                    print("chaos: accepted before the outage: \(early.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
                    #expect(early["twilio", default: 0] + early["sendgrid", default: 0] > 0, "Twilio and SendGrid carried nothing before their outage: \(early)")
                    print("chaos: accepted during the outage: \(during.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
                    #expect(during["twilio", default: 0] == 0 && during["sendgrid", default: 0] == 0, "\(during)")
                    #expect(during["vonage", default: 0] > 0 && during["mandrill", default: 0] > 0, "the fallbacks carried nothing during the outage: \(during)")
                    for provider in ["apns", "fcm", "webpush", "jpush", "pushy"] {
                        #expect(byProvider[provider, default: 0] > 0, "\(provider) carried no push: \(carriers)")
                    }
                    // A push repeated after a kill is the same attempt, with the apns-id of its first
                    // sending. A new apns-id for a token means a new attempt: the provider's answer did
                    // not come within the 2 s timeout (a loaded machine), which only a retried
                    // notification (two attempts or more) can show.
                    var apnsIDs: [String: Set<String>] = [:]
                    var apnsCount: [String: Int] = [:]
                    for message in messages where message.provider == "apns" {
                        apnsIDs[message.to, default: []].insert(message.id)
                        apnsCount[message.to, default: 0] += 1
                    }
                    let apnsSent = try await store.rows(sql: "SELECT address, COUNT(*), MAX(attempts) FROM notifications WHERE state = 'sent' AND provider = 'apns' GROUP BY address")
                    var newIDs: [String] = []
                    var sameIDRepeats = 0
                    for row in apnsSent {
                        let (token, sent, attempts) = (row[0], Int(row[1])!, Int(row[2])!)
                        let ids = apnsIDs[token]?.count ?? 0
                        if ids > sent, attempts < 2 { newIDs.append(token) }
                        sameIDRepeats += max(0, apnsCount[token, default: 0] - max(ids, sent))
                    }
                    print("chaos: APNs repeats with the first sending's apns-id: \(sameIDRepeats)")
                    #expect(!apnsSent.isEmpty)
                    #expect(newIDs.isEmpty, "tokens given a new apns-id without a second attempt: \(newIDs.prefix(3))")
                }
            }
        }

        struct Tally {
            var repeats = 0
            var missing: [String] = []
            var acceptedAddresses: Set<String> = []
            var sentAddresses: Set<String> = []
        }

        /// What `herald sandbox --record` wrote: the provider and address of each accepted message.
        static func recorded(_ file: String) throws -> [(provider: String, to: String, id: String, acceptedAt: Double)] {
            try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").compactMap { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let provider = object["provider"] as? String, let to = object["to"] as? String
                else { return nil }
                return (provider, to, object["providerMessageID"] as? String ?? "", (object["acceptedAt"] as? Double) ?? 0)
            }
        }

        /// Messages accepted per address against the notifications recorded as sent to it.
        static func tally(accepted messages: [(provider: String, to: String, id: String, acceptedAt: Double)], sent: [String]) -> Tally {
            var accepted: [String: Int] = [:]
            for message in messages {
                let channel = ["twilio", "vonage"].contains(message.provider) ? "sms" : ["sendgrid", "mandrill", "smtp"].contains(message.provider) ? "email" : "push"
                accepted["\(channel):\(message.to)", default: 0] += 1
            }
            var sentTo: [String: Int] = [:]
            for address in sent { sentTo[address, default: 0] += 1 }
            var tally = Tally(acceptedAddresses: Set(accepted.keys), sentAddresses: Set(sentTo.keys))
            for (address, count) in accepted { tally.repeats += max(0, count - sentTo[address, default: 0]) }
            tally.missing = sentTo.keys.filter { accepted[$0, default: 0] < sentTo[$0, default: 0] }.sorted()
            return tally
        }

        @Test func sigtermMidRunExitsZeroWithNothingLeftInFlight() async throws {
            try await withTemporaryDirectory { directory in
                try await Self.makeWorkspace(directory)
                #expect(try await HeraldBinary.run(["users", "generate", "--count", "3000"], in: directory.path).status == 0)
                // Slow providers: 100–300 ms an answer, so that many sends are at a provider at once.
                let slow = ProviderFaults(latency: .uniform(min: 100, max: 300))
                let faults = FaultPlan(providers: [.twilio: slow, .vonage: slow, .sendgrid: slow, .mandrill: slow])
                try await Sandbox.withRunning(Sandbox.Configuration(port: 0, faults: faults, smtpPort: nil)) { sandbox in
                    let text = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
                    try text.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                        .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
                    #expect(try await HeraldBinary.run(["send", "chaos", "--now", "--plan-only"], in: directory.path).status == 0)
                    let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                    let started = try HeraldBinary.start(["worker"], in: directory.path)
                    let waiting = ContinuousClock.now
                    while sandbox.log.count < 200, ContinuousClock.now - waiting < .seconds(120) { try await Task.sleep(for: .milliseconds(10)) }
                    kill(started.process.processIdentifier, SIGTERM)
                    let output = await HeraldBinary.finish(started)
                    #expect(output.status == 0, "\(output.stderr)")
                    #expect(output.stdout.contains("stopped"), "\(output.stdout)")
                    // Stopped part way, with nothing in flight: no lease held, nothing `sending`.
                    let now = Date().timeIntervalSince1970
                    #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE lease_until > \(now)") == [["0"]])
                    #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'sending'") == [["0"]])
                    let left = Int(try await store.rows(sql: "SELECT COUNT(*) FROM outbox")[0][0])!
                    #expect(left > 0, "the worker was stopped before it had sent everything")
                    // Every message the sandbox accepted is recorded as sent: none was lost at shutdown.
                    #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'sent'") == [["\(sandbox.log.count)"]])
                }
            }
        }
    }
}
