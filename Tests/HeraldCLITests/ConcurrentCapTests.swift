import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// Two campaigns sent at the same moment by two `herald send` processes on one database, under
/// a global cap of one notification a day: nobody gets both, however the two interleave.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct ConcurrentCapTests {
    @Test func twoCampaignsPlannedTogetherInTwoProcessesNeverGoPastAGlobalCap() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            let config = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
            try directory.write("herald.yml", config.replacingOccurrences(of: "\nretry:", with: "\nlimits:\n  frequency_caps:\n    - {max: 1, per: 1d}\n\nretry:"))
            // A second campaign for the same audience, by the same channels.
            let sale = try String(contentsOfFile: directory.file("campaigns/winter-sale.yml"), encoding: .utf8)
            try directory.write("campaigns/flash-sale.yml", sale.replacingOccurrences(of: "campaign: winter-sale", with: "campaign: flash-sale"))
            let validate = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(validate.status == 0, "\(validate.stdout)")
            let generate = try await HeraldBinary.run(["users", "generate", "--count", "3000", "--seed", "11", "--database", "users.db"], in: directory.path)
            #expect(generate.status == 0, "\(generate.stderr)")
            try await withSandbox(workspace: directory.path) { sandbox in
                for round in 1...6 {
                    sandbox.log.removeAll()
                    let database = "round-\(round).db"
                    try FileManager.default.copyItem(atPath: directory.file("users.db"), toPath: directory.file(database))
                    let processes = try ["winter-sale", "flash-sale"].map { campaign in
                        try HeraldBinary.start(["send", campaign, "--now", "--database", database], in: directory.path)
                    }
                    for (process, stdout, stderr) in processes {
                        let output = await HeraldBinary.finish((process, stdout, stderr))
                        let (out, err) = (output.stdout, output.stderr)
                        #expect(process.terminationStatus == 0, "round \(round): \(out)\n\(err)")
                    }
                    let store = try SQLiteStore(path: directory.file(database), schema: AttributeSchema(), configuration: .init(access: .readOnly))
                    // Nobody was sent more than one notification…
                    #expect(try await store.rows(sql: """
                        SELECT user_id FROM notifications WHERE state = 'sent' GROUP BY user_id HAVING COUNT(*) > 1 LIMIT 5
                        """) == [], "round \(round)")
                    let sent = sandbox.log.messages.compactMap(\.notificationID)
                    #expect(sent.count == Set(sent).count, "round \(round)")
                    // …and everyone either campaign could reach by email got exactly one: the other
                    // campaign's email to them is skipped as capped.
                    let reachable = try await store.rows(sql: """
                        SELECT COUNT(DISTINCT user_id) FROM notifications WHERE channel = 'email' AND (state = 'sent' OR reason = 'capped')
                        """)[0][0]
                    #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'sent'") == [[reachable]], "round \(round)")
                    #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE reason = 'capped'") == [[reachable]], "round \(round)")
                    #expect(Int(reachable)! > 100)
                }
            }
        }
    }
}
