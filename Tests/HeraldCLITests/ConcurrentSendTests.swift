import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// Two or more `herald send` of one campaign started at the same moment, as real processes on
/// one database: one occurrence, and nothing sent twice, whatever the timing.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct ConcurrentSendTests {
    @Test func sendsStartedTogetherPlanOneOccurrenceAndSendEachNotificationOnce() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            // Every round must decide the same for the same users, minutes apart.
            try removeNow(fromWinterSaleIn: directory.path)
            let generate = try await HeraldBinary.run(["users", "generate", "--count", "1500", "--seed", "7", "--database", "users.db"], in: directory.path)
            #expect(generate.status == 0, "\(generate.stderr)")
            try await withSandbox(workspace: directory.path) { sandbox in
            var expected: [[String]]?
            for round in 1...8 {
                sandbox.log.removeAll()
                let database = "round-\(round).db"
                try FileManager.default.copyItem(atPath: directory.file("users.db"), toPath: directory.file(database))
                let processes = try (0..<3).map { _ in
                    try HeraldBinary.start(["send", "winter-sale", "--now", "--database", database], in: directory.path)
                }
                var outputs: [String] = []
                for (process, stdout, stderr) in processes {
                    let output = await HeraldBinary.finish((process, stdout, stderr))
                    let (out, err) = (output.stdout, output.stderr)
                    // Each either sent (or joined the send in progress), or found it finished.
                    let refused = process.terminationStatus == 1 && err.contains("winter-sale was already sent to its audience on")
                    #expect(process.terminationStatus == 0 || refused, "round \(round): \(out)\n\(err)")
                    outputs.append(out + err)
                }
                let store = try SQLiteStore(path: directory.file(database), schema: AttributeSchema(), configuration: .init(access: .readOnly))
                #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["1"]], "round \(round):\n\(outputs.joined(separator: "\n---\n"))")
                let ids = sandbox.log.messages.compactMap(\.notificationID)
                #expect(ids.count == Set(ids).count, "round \(round): a notification was sent twice")
                let left = try await store.rows(sql: """
                    SELECT e.type, COALESCE(e.detail, '') FROM events e JOIN outbox o ON o.notification_id = e.notification_id
                    ORDER BY e.id DESC LIMIT 6
                    """)
                #expect(left.isEmpty, "round \(round): left in the outbox, last events: \(left)\n\(outputs.joined(separator: "\n---\n"))")
                // Every round makes the same decisions for the same users: none lost, none doubled.
                let decisions = try await store.rows(sql: "SELECT channel, state, COUNT(*) FROM notifications GROUP BY channel, state ORDER BY channel, state")
                if let expected {
                    #expect(decisions == expected, "round \(round)")
                } else {
                    expected = decisions
                    #expect(decisions.contains { $0[1] == "sent" })
                }
            }
            }
        }
    }

    @Test func aSecondSendOfAFinishedCampaignRefusesUnlessAgain() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "200", "--seed", "7"], in: directory.path).status == 0)
            try await withSandbox(workspace: directory.path) { _ in
            let first = try await HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path)
            #expect(first.status == 0, "\(first.stderr)")
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
            let sent = try await store.rows(sql: "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM notifications WHERE state = 'sent'")[0]

            let second = try await HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path)
            #expect(second.status == 1)
            #expect(second.stderr.contains(
                "winter-sale was already sent to its audience on 20"
            ), "\(second.stderr)")
            #expect(second.stderr.contains(
                ": \(sent[0]) notifications to \(sent[1]) recipients (see `herald report --campaign winter-sale`). Nothing was sent; add --again to send it to its audience once more"
            ), "\(second.stderr)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["1"]])

            let again = try await HeraldBinary.run(["send", "winter-sale", "--now", "--again"], in: directory.path)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["2"]])
            // The second send is a new occurrence, but winter-sale's own cap ({max: 1, per: 1d})
            // stops every notification of it: nobody gets the sale twice in a day.
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'sent'") == [[sent[0]]])
            #expect(try await store.rows(sql: """
                SELECT COUNT(*) FROM notifications n JOIN occurrences o ON o.id = n.occurrence_id
                WHERE o.id = (SELECT MAX(id) FROM occurrences) AND n.reason = 'capped' AND n.channel = 'email'
                """) == [[sent[0]]])
            }
        }
    }

    @Test func aParameterGivenOnTheCommandLineIsRendered() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "50", "--seed", "7"], in: directory.path).status == 0)
            try await withSandbox(workspace: directory.path) { sandbox in
            // A user with a phone and no device: order-shipped reaches them by SMS (push has no transport yet).
            let users = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
            let row = try #require(try await users.rows(sql: """
                SELECT id, phone FROM users WHERE phone IS NOT NULL AND id NOT IN (SELECT user_id FROM devices WHERE active) ORDER BY id LIMIT 1
                """).first)
            let (user, phone) = (row[0], row[1])
            let send = try await HeraldBinary.run(
                ["send", "order-shipped", "--now", "--user", user, "--param", "order_id=B-7731"], in: directory.path
            )
            #expect(send.status == 0, "\(send.stderr)")
            // What this user was sent (the sandbox's port may have served another test before).
            let contents = sandbox.log.messages.filter { $0.to == phone }.map { [$0.subject, $0.text].compactMap { $0 }.joined(separator: " ") }
            #expect(!contents.isEmpty)
            #expect(contents.allSatisfy { $0.contains("B-7731") && !$0.contains("A-1042") }, "\(contents)")

            let bad = try await HeraldBinary.run(["send", "order-shipped", "--now", "--user", "u-000003", "--param", "order id"], in: directory.path)
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("--param 'order id' needs the form key=value, e.g. --param order_id=A-1042"), "\(bad.stderr)")
            }
        }
    }
}
