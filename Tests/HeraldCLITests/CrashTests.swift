import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// `kill -9` in the middle of a send, then the commands a person would run next.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct CrashTests {
    /// When to kill: once planning has written this many notifications, or once delivery has
    /// recorded this many messages.
    enum Moment: CustomTestStringConvertible, Sendable {
        case whilePlanning(afterNotifications: Int)
        case whileDelivering(afterMessages: Int)

        var testDescription: String {
            switch self {
            case .whilePlanning(let count): "while planning, after \(count) notifications"
            case .whileDelivering(let count): "while delivering, after \(count) messages"
            }
        }

        /// nil: count what the sandbox accepted.
        var query: String? {
            switch self {
            case .whilePlanning: "SELECT COUNT(*) FROM notifications"
            case .whileDelivering: nil
            }
        }

        var threshold: Int {
            switch self {
            case .whilePlanning(let count), .whileDelivering(let count): count
            }
        }
    }

    @Test(arguments: [Moment.whilePlanning(afterNotifications: 1500), .whileDelivering(afterMessages: 300)])
    func aKilledSendIsFinishedByRunningItAgainWithNothingLostAndOnlyInFlightSendsRepeated(_ moment: Moment) async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            // The audience counted at the end must be the one planned at the start.
            try removeNow(fromWinterSaleIn: directory.path)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "6000"], in: directory.path).status == 0)
            try await withSandbox(workspace: directory.path) { sandbox in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())

            let (process, _, _) = try HeraldBinary.start(["send", "winter-sale", "--now"], in: directory.path)
            var progress = 0
            while process.isRunning, progress < moment.threshold {
                try await Task.sleep(for: .milliseconds(5))
                if let query = moment.query {
                    progress = Int(try await store.rows(sql: query).first?.first ?? "0") ?? 0
                } else {
                    progress = sandbox.log.count
                }
            }
            #expect(process.isRunning, "the send finished before it could be killed \(moment.testDescription)")
            kill(process.processIdentifier, SIGKILL)
            await onOwnThread { process.waitUntilExit() }
            #expect(process.terminationReason == .uncaughtSignal)

            let again = try await HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("finishing the send of"), "\(again.stdout)")
            let deliver = try await HeraldBinary.run(["deliver", "--take-over-leases"], in: directory.path)
            #expect(deliver.status == 0, "\(deliver.stderr)")

            // One occurrence: the second run finished the first instead of starting anew.
            let occurrences = try await store.rows(sql: "SELECT id, state FROM occurrences")
            #expect(occurrences == [["1", "planned"]], "second send printed:\n\(again.stdout)")
            // Nothing lost: every user of the audience was considered, and every notification is terminal.
            let users = try await store.rows(sql: "SELECT COUNT(DISTINCT user_id) FROM notifications WHERE channel = 'email'")
            let audience = try await HeraldBinary.run(["audience", "winter-sale", "--format", "json", "--sample", "0"], in: directory.path)
            let count = try #require(try JSONSerialization.jsonObject(with: Data(audience.stdout.utf8)) as? [String: Any])["count"] as? Int
            #expect(Int(users[0][0]) == count)
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state NOT IN ('sent', 'skipped')") == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["0"]])
            // Nothing sent twice but what was in flight at the kill, and those are counted.
            let reclaimed = try await store.eventCounts()["reclaimed", default: 0]
            let ids = sandbox.log.messages.compactMap(\.notificationID)
            #expect(ids.count == sandbox.log.count, "every accepted message names its notification")
            #expect(ids.count - Set(ids).count <= reclaimed)
            // And never more than can be at the providers at once: each lane of the email
            // dispatcher (sendgrid, mandrill, and one for other providers) has at most
            // `concurrency` groups (4) of at most `groupSize` messages (8) out; this campaign's
            // mail is personal, so SendGrid gets no larger batches. A claim of a lane is larger
            // (up to 1,000 rows for SendGrid), and all of it is reclaimed after the kill.
            let lanes = 3, concurrency = 4, groupSize = 8
            #expect(ids.count - Set(ids).count <= lanes * concurrency * groupSize, "repeated: \(ids.count - Set(ids).count), reclaimed: \(reclaimed)")
            let sent = try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
            #expect(sent == [["\(Set(ids).count)"]])
            }
        }
    }
}
