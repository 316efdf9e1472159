import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct DemoTests {
    /// The sample's keys/ are the sandbox's published demo credentials: the sandbox accepts what
    /// a workspace signs with them, and trusts nothing else.
    @Test func theSampleKeysAreTheSandboxsDemoKeys() throws {
        let keys = HeraldBinary.repositoryRoot.appendingPathComponent("keys")
        func read(_ name: String) throws -> String { try String(contentsOf: keys.appendingPathComponent(name), encoding: .utf8) }
        #expect(try read("sandbox-ca.pem") == SandboxCertificate.demoAuthorityPEM + "\n")
        #expect(try read("apns-sandbox.p8") == SandboxAccounts.sandboxAPNsPrivateKeyPEM)
        #expect(try read("vapid-sandbox.pem") == SandboxAccounts.demoVAPIDPrivateKeyPEM)
        let account = try #require(try JSONSerialization.jsonObject(with: Data(read("fcm-sandbox-service-account.json").utf8)) as? [String: String])
        let demo = SandboxFCMServiceAccount.demo
        #expect(account["project_id"] == demo.projectID && account["client_email"] == demo.clientEmail)
        #expect(account["private_key"] == demo.privateKeyPEM + "\n")
        #expect(account["token_uri"] == "http://127.0.0.1:4010/fcm/token")
    }

    @Test func initWritesExactlyTheSampleWorkspaceOfTheRepository() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await HeraldBinary.run(["init", "workspace"], in: directory.path)
            #expect(output.status == 0, "\(output.stderr)")
            let written = URL(fileURLWithPath: directory.file("workspace"))
            var files: [String] = ["herald.yml"]
            for folder in ["campaigns", "segments", "templates"] {
                let names = try FileManager.default.contentsOfDirectory(atPath: HeraldBinary.repositoryRoot.appendingPathComponent(folder).path)
                files += names.sorted().map { "\(folder)/\($0)" }
            }
            for file in files {
                let original = try String(contentsOf: HeraldBinary.repositoryRoot.appendingPathComponent(file), encoding: .utf8)
                let copy = try? String(contentsOf: written.appendingPathComponent(file), encoding: .utf8)
                #expect(copy == original, "\(file) differs from the embedded sample: run scripts/embed-sample-workspace.py")
            }
            let again = try await HeraldBinary.run(["init", "workspace"], in: directory.path)
            #expect(again.status == 1)
            #expect(again.stderr.contains("already has herald.yml"))
        }
    }

    @Test func theDemoSendsTheSampleCampaignsAndRecordsEveryStep() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await HeraldBinary.run(["demo", "--users", "1200"], in: directory.path)
            #expect(output.status == 0, "\(output.stdout)\n\(output.stderr)")
            #expect(output.stdout.contains("1. wrote the sample workspace"))
            #expect(output.stdout.contains("winter-sale"))
            #expect(output.stdout.contains("weekly-digest"))
            #expect(output.stdout.contains("order-shipped"))

            let store = try SQLiteStore(path: directory.file("herald-demo.db"), schema: AttributeSchema())
            // Every notification due now reached a terminal state. Quiet hours (21:00 to 08:00 on
            // the recipient's clock) hold back what would arrive at night: those wait in the
            // outbox, due later, and nothing else does.
            let states = Dictionary(uniqueKeysWithValues: try await store.rows(sql: "SELECT state, COUNT(*) FROM notifications GROUP BY state").map { ($0[0], Int($0[1])!) })
            // The providers' webhooks, played back by the sandbox to the demo's API, confirmed
            // some deliveries: those notifications are `delivered`.
            #expect(Set(states.keys).isSubset(of: ["sent", "delivered", "skipped", "planned"]))
            let deliveredCount: Int = states["delivered", default: 0]
            let sentCount: Int = states["sent", default: 0]
            #expect(sentCount + deliveredCount > 100)
            #expect(deliveredCount > 0)
            #expect(output.stdout.contains("signed webhooks (delivered, bounced, opened, clicked) to the HTTP API on http://127.0.0.1:"), "\(output.stdout)")
            #expect(output.stdout.contains("each was verified and applied once"), "\(output.stdout)")
            let waiting = states["planned", default: 0]
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["\(waiting)"]])
            // Nothing due when it was planned is left waiting; if something is, say what it is.
            let stranded = try await store.rows(sql: """
                SELECT n.id, n.channel, n.provider, o.attempts, o.due_at - n.created_at, o.lease_until,
                    (SELECT group_concat(e.type || COALESCE(':' || e.reason, ''), ' ') FROM events e WHERE e.notification_id = n.id)
                FROM notifications n LEFT JOIN outbox o ON o.notification_id = n.id WHERE n.state = 'planned' AND n.due_at <= n.created_at LIMIT 5
                """)
            #expect(stranded.isEmpty, "due when planned and still waiting: \(stranded)\n\(output.stdout)")
            if waiting > 0 {
                #expect(output.stdout.contains("of them are due later (quiet hours"))
            }
            // Every sent notification has its planned, sending and sent events, and the sandbox
            // accepted it. Each attempt ends sent or retried (a slow answer on a loaded machine):
            // attempts are sends plus retries.
            let sent = sentCount + deliveredCount
            let events = try await store.eventCounts()
            // Some of the emails were opened and clicked, as the webhooks said.
            let opened: Int = events["opened", default: 0]
            let clicked: Int = events["clicked", default: 0]
            let deliveredEvents: Int = events["delivered", default: 0]
            #expect(opened > 0)
            #expect(clicked > 0)
            #expect(deliveredEvents == deliveredCount)
            let retries = events["retry_scheduled", default: 0]
            #expect(events["planned"] == sent + waiting && events["sending"] == sent + retries && events["sent"] == sent)
            #expect(events["skipped"] == states["skipped"])
            // Push goes through the five push transports to the sandbox (APNs over HTTP/2, FCM,
            // Web Push decrypted by the sandbox, JPush and Pushy): every service's devices got theirs.
            #expect(try await store.rows(sql: """
                SELECT DISTINCT provider FROM notifications WHERE channel = 'push' AND state = 'sent' ORDER BY provider
                """) == [["apns"], ["fcm"], ["jpush"], ["pushy"], ["webpush"]])
            let recorded = try String(contentsOfFile: directory.file("herald-demo-messages.jsonl"), encoding: .utf8)
                .split(separator: "\n").map { try JSONDecoder().decode(RecordedMessage.self, from: Data($0.utf8)) }
            // A retried attempt may have reached the sandbox before its answer was lost.
            #expect(recorded.count >= sent && recorded.count <= sent + retries, "\(recorded.count) accepted, \(sent) sent, \(retries) retried")
            #expect(output.stdout.contains("the sandbox accepted \(recorded.count) messages over real sockets"), "\(output.stdout)")
            // Opted-out users got nothing on the channel or category they refused.
            let violations = try await store.rows(sql: """
                SELECT COUNT(*) FROM notifications n JOIN preferences p ON p.user_id = n.user_id AND p.opted_in = 0
                WHERE n.state = 'sent' AND (p.key = n.channel
                    OR (n.category != 'transactional' AND (p.key = n.category OR p.key = n.channel || ':' || n.category)))
                """)
            #expect(violations == [["0"]])
            let optedOutSkips = try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE reason = 'opted_out'")
            #expect(Int(optedOutSkips[0][0])! > 0)
            // Korean speakers get the Korean variant (sent, or waiting for their morning: quiet
            // hours hold it back at night in Seoul).
            let korean = try await store.rows(sql: """
                SELECT n.content FROM notifications n JOIN users u ON u.id = n.user_id
                WHERE n.campaign_id = 'winter-sale' AND n.channel = 'email' AND n.state IN ('sent', 'delivered', 'planned') AND u.locale LIKE 'ko%' LIMIT 1
                """)
            #expect(korean.first?.first?.contains("겨울 세일") == true)
            // Marketing mail carries the one-click unsubscribe link; it is the one in the body.
            // Some recipients are awake whatever the hour the test runs.
            let sale = try #require(recorded.first { $0.metadata["herald_campaign"] == "winter-sale" })
            let link = try #require(sale.headers["List-Unsubscribe"])
            // The demo's API serves it: its base URL replaces tracking.base_url for the run.
            #expect(link.hasPrefix("<http://127.0.0.1:") && link.contains("/u/"), "\(link)")
            #expect(sale.html?.contains(String(link.dropFirst().dropLast())) == true)
            // Twilio is told where to post each SMS's status: tracking.base_url's webhook route
            // (the demo's API, the same base as the unsubscribe link).
            let unsubscribePath = try #require(link.range(of: "/u/"))
            let base = String(link[link.index(after: link.startIndex)..<unsubscribePath.lowerBound])
            let sms = recorded.filter { $0.provider == .twilio }
            #expect(!sms.isEmpty)
            #expect(sms.allSatisfy { $0.callbackURL == base + "/webhooks/twilio" }, "\(base): \(Set(sms.map { $0.callbackURL ?? "none" }))")
            // Each campaign is in the report.
            let report = try await HeraldBinary.run(["report", "--database", "herald-demo.db", "--format", "csv"], in: directory.path)
            #expect(report.status == 0, "\(report.stderr)")
            #expect(report.stdout.hasPrefix("campaign,send,occurrence,channel,unit,recipients,targeted,skipped_total,"))
            let rows = report.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            for (campaign, channel) in [("winter-sale", "push"), ("winter-sale", "email"), ("weekly-digest", "email"), ("order-shipped", "sms")] {
                #expect(rows.contains { $0[0] == campaign && $0[3] == channel }, "\(campaign) \(channel) missing from:\n\(report.stdout)")
            }
        }
    }

    @Test func theDemoRunsOnTheRepositorysWorkspaceToo() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await HeraldBinary.run(
                ["demo", "--workspace", HeraldBinary.repositoryRoot.path, "--users", "300", "--database", directory.file("demo.db")],
                in: directory.path
            )
            #expect(output.status == 0, "\(output.stdout)\n\(output.stderr)")
            #expect(output.stdout.contains("1. using the workspace in \(HeraldBinary.repositoryRoot.path)"))
            #expect(output.stdout.contains("6. report:"))
        }
    }

    @Test func theDemoRefusesADirectoryThatIsNeitherEmptyNorAWorkspace() async throws {
        try await withTemporaryDirectory { directory in
            try directory.write("notes.txt", "mine")
            let output = try await HeraldBinary.run(["demo"], in: directory.path)
            #expect(output.status == 1)
            #expect(output.stderr.contains("has no herald.yml and is not empty"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["notes.txt"])
        }
    }
}
