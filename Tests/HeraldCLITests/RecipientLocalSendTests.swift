import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// `schedule: {at: …, timezone: recipient}` end to end: `herald schedule run` plans the
/// occurrence (with `--now`, in fake time) into the real store, each notification due at that
/// wall-clock time on its recipient's clock, and delivery in virtual time sends each only once
/// it is due.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct RecipientLocalSendTests {
    static func instant(_ text: String) -> Date { ISO8601.date(from: text)! }

    /// Each recipient's due instant for 2026-12-01T09:00 on their clock; default_timezone is
    /// America/Sao_Paulo (UTC-3 all year), so that the default zone cannot pass for UTC.
    static let due = [
        "kiri": "2026-11-30T19:00:00Z",  // Pacific/Kiritimati, UTC+14: the earliest zone, when the occurrence fires
        "taro": "2026-12-01T00:00:00Z",  // Asia/Tokyo, UTC+9
        "nozone": "2026-12-01T12:00:00Z",  // no zone: São Paulo's 09:00
        "mars": "2026-12-01T12:00:00Z",  // a zone that does not exist: São Paulo's 09:00
        "lala": "2026-12-01T17:00:00Z",  // America/Los_Angeles, UTC-8 in December
    ]

    @Test func eachNotificationIsDueAtTheWallClockTimeInItsRecipientsZoneAndSentOnlyOnceDue() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            for sample in ["winter-sale", "weekly-digest"] {
                try FileManager.default.removeItem(atPath: directory.file("campaigns/\(sample).yml"))
            }
            let configuration = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
            try #require(configuration.contains("default_timezone: UTC\n"))
            try directory.write("herald.yml", configuration.replacingOccurrences(of: "default_timezone: UTC\n", with: "default_timezone: America/Sao_Paulo\n"))
            try directory.write("campaigns/morning.yml", """
                campaign: morning
                channels: [email]
                template: weekly-digest
                params:
                  issue_title: Good morning
                schedule:
                  at: 2026-12-01T09:00
                  timezone: recipient
                """)
            try directory.write("users.jsonl", [
                #"{"id":"kiri","email":"kiri@example.com","timezone":"Pacific/Kiritimati"}"#,
                #"{"id":"taro","email":"taro@example.com","timezone":"Asia/Tokyo"}"#,
                #"{"id":"lala","email":"lala@example.com","timezone":"America/Los_Angeles"}"#,
                #"{"id":"nozone","email":"nozone@example.com"}"#,
            ].joined(separator: "\n") + "\n")
            let imported = try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path)
            #expect(imported.status == 0, "\(imported.stderr)")
            // An import refuses an unknown zone, so this one is written to the store directly (a
            // zone removed from the tz database, or a row from before the check).
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            _ = try await store.upsertUsers([User(id: "mars", email: "mars@example.com", timezone: "Mars/Olympus_Mons")], at: Self.instant("2026-11-01T00:00:00Z"))

            // Before the earliest zone reaches 09:00 nothing is planned; just after, all of it.
            let early = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-11-30T18:59:00Z"], in: directory.path)
            #expect(early.status == 0, "\(early.stderr)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications") == [["0"]])
            let run = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-11-30T19:00:20Z"], in: directory.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("morning: planned the occurrence of 2026-11-30T19:00:00Z: 5 recipients"), "\(run.stdout)")

            func dueTimes(_ table: String) async throws -> [String: String] {
                let rows = try await store.rows(sql: """
                    SELECT n.user_id, \(table).due_at FROM notifications n JOIN outbox o ON o.notification_id = n.id ORDER BY n.user_id
                    """)
                return Dictionary(uniqueKeysWithValues: rows.map { ($0[0], ISO8601.string(from: Date(timeIntervalSince1970: Double($0[1])!))) })
            }
            #expect(try await dueTimes("n") == Self.due)
            #expect(try await dueTimes("o") == Self.due)

            // Delivery in virtual time on the same database: each pass sends what is due by then.
            let clock = ManualClock(Self.instant("2026-11-30T19:00:20Z"))
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let dispatcher = Dispatcher(
                channel: .email, store: store, transports: [sendgrid],
                retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)), clock: clock
            )
            var sentBy: [String: [String]] = [:]
            for now in ["2026-11-30T19:00:20Z", "2026-11-30T23:59:59Z", "2026-12-01T00:00:00Z", "2026-12-01T11:59:00Z", "2026-12-01T12:00:00Z", "2026-12-01T17:00:00Z"] {
                clock.set(Self.instant(now))
                let before = sendgrid.messages.count
                _ = try await dispatcher.drain()
                sentBy[now] = sendgrid.messages.dropFirst(before).compactMap(\.userID).sorted()
            }
            #expect(sentBy == [
                "2026-11-30T19:00:20Z": ["kiri"],
                "2026-11-30T23:59:59Z": [],
                "2026-12-01T00:00:00Z": ["taro"],
                "2026-12-01T11:59:00Z": [],
                "2026-12-01T12:00:00Z": ["mars", "nozone"],
                "2026-12-01T17:00:00Z": ["lala"],
            ])
            #expect(try await store.rows(sql: "SELECT state, COUNT(*) FROM notifications GROUP BY state") == [["sent", "5"]])
        }
    }
}
