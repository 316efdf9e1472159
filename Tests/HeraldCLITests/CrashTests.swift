import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

/// `kill -9` in the middle of a send, then the commands a person would run next.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct CrashTests {
    @Test(arguments: [0.4, 1.2])
    func aKilledSendIsFinishedByRunningItAgainWithNothingLostAndOnlyInFlightSendsRepeated(killAfter: Double) async throws {
        try await withTemporaryDirectory { directory in
            #expect(try HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            #expect(try HeraldBinary.run(["users", "generate", "--count", "6000"], in: directory.path).status == 0)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: HeraldBinary.path)
            process.arguments = ["send", "winter-sale", "--now"]
            process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .seconds(killAfter))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let again = try HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path)
            #expect(again.status == 0, "\(again.stderr)")
            let deliver = try HeraldBinary.run(["deliver", "--take-over-leases"], in: directory.path)
            #expect(deliver.status == 0, "\(deliver.stderr)")

            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            // One occurrence: the second run finished the first instead of starting anew.
            #expect(try await store.rows(sql: "SELECT COUNT(*), MIN(state) FROM occurrences") == [["1", "planned"]])
            // Nothing lost: every user was considered on both channels, and every notification is terminal.
            let users = try await store.rows(sql: "SELECT COUNT(DISTINCT user_id) FROM notifications WHERE channel = 'email'")
            let audience = try HeraldBinary.run(["audience", "winter-sale", "--format", "json", "--sample", "0"], in: directory.path)
            let count = try #require(try JSONSerialization.jsonObject(with: Data(audience.stdout.utf8)) as? [String: Any])["count"] as? Int
            #expect(Int(users[0][0]) == count)
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state NOT IN ('sent', 'skipped')") == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["0"]])
            // Nothing sent twice but what was in flight at the kill, and those are counted.
            let reclaimed = try await store.eventCounts()["reclaimed", default: 0]
            let repeats = try await store.rows(sql: """
                SELECT COALESCE(SUM(c - 1), 0) FROM (SELECT COUNT(*) AS c FROM sent_messages GROUP BY notification_id)
                """)
            #expect(Int(repeats[0][0])! <= reclaimed)
            let sent = try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
            let distinctMessages = try await store.rows(sql: "SELECT COUNT(DISTINCT notification_id) FROM sent_messages")
            #expect(sent == distinctMessages)
        }
    }
}
