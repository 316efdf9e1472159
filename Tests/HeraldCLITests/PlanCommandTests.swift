import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// `herald plan`: the decisions `send` would make, shown and written nowhere.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct PlanCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// `reason[:cap]` → count, from the JSON skips.
    static func skips(_ object: [String: Any]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: ((object["skips"] as? [[String: Any]]) ?? []).map { row in
            ((row["reason"] as? String ?? "") + ((row["cap"] as? String).map { ":" + $0 } ?? ""), row["notifications"] as? Int ?? -1)
        })
    }

    @Test func aDryRunWritesNothingAndDecidesExactlyAsTheSendThatFollows() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "800", "--seed", "5"], in: directory.path).status == 0)
            let before = try Data(contentsOf: URL(fileURLWithPath: directory.file("herald.db")))
            let plan = try await HeraldBinary.run(["plan", "order-shipped", "--format", "json"], in: directory.path)
            #expect(plan.status == 0, "\(plan.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("herald.db"))) == before)
            let planned = try Self.json(plan.stdout)
            #expect(planned["recipients"] as? Int == 800)

            let send = try await HeraldBinary.run(["send", "order-shipped", "--now", "--all", "--plan-only"], in: directory.path)
            #expect(send.status == 0, "\(send.stderr)")
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
            let stored = try await store.rows(sql: "SELECT reason, COUNT(*) FROM notifications WHERE state = 'skipped' GROUP BY reason")
            #expect(Self.skips(planned) == Dictionary(uniqueKeysWithValues: stored.map { ($0[0], Int($0[1])!) }))
            let channels = try await store.rows(sql: "SELECT channel, provider, COUNT(*) FROM notifications WHERE state = 'planned' GROUP BY channel, provider")
            let byChannel = ((planned["by_channel"] as? [[String: Any]]) ?? []).map { row in
                [row["channel"] as? String ?? "", row["provider"] as? String ?? "", "\(row["notifications"] as? Int ?? -1)"]
            }
            #expect(byChannel == channels)
            // Segments of the SMS that the send rendered.
            let sms = try #require((planned["sms"] as? [[String: Any]])?.first)
            #expect(sms["provider"] as? String == "twilio" && sms["messages"] as? Int == Int(channels.first { $0[0] == "sms" }?[2] ?? ""))
        }
    }

    @Test func aPlanShowsWhoACapStopsAndWhatQuietHoursHoldBack() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "300", "--seed", "5"], in: directory.path).status == 0)
            try await withSandbox(workspace: directory.path) { _ in
                let send = try await HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path)
                #expect(send.status == 0, "\(send.stderr)")
            }
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
            let reached = Int(try await store.rows(sql: "SELECT COUNT(*) FROM notifications WHERE state IN ('sent', 'planned')")[0][0])!
            #expect(reached > 50)
            // An hour later, winter-sale's own cap (one a day) stops everyone it reached.
            let later = ISO8601.string(from: Date().addingTimeInterval(3600))
            let plan = try await HeraldBinary.run(["plan", "winter-sale", "--at", later, "--format", "json"], in: directory.path)
            #expect(plan.status == 0, "\(plan.stderr)")
            let object = try Self.json(plan.stdout)
            #expect(Self.skips(object)["capped:at most 1 per 1d (campaign winter-sale)"] == reached)
            #expect(object["planned"] as? Int == 0)

            let text = try await HeraldBinary.run(["plan", "weekly-digest", "--at", "2026-12-07T00:00:00Z"], in: directory.path)
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("weekly-digest: as if sent at 2026-12-07T00:00:00Z (a dry run: nothing is written)"))
            #expect(text.stdout.contains("sample: email, locale"))
        }
    }

    @Test func quietHoursHoldANotificationUntilTheRecipientsMorning() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try directory.write("users.jsonl", [
                #"{"id":"ana","email":"ana@example.com","timezone":"Asia/Seoul","attributes":{"plan":"pro","last_seen_at":"2026-11-30T00:00:00Z"}}"#,
                #"{"id":"bo","email":"bo@example.com","timezone":"America/New_York","attributes":{"plan":"free","last_seen_at":"2026-11-30T00:00:00Z"}}"#,
            ].joined(separator: "\n") + "\n")
            #expect(try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path).status == 0)
            // 13:30Z is 22:30 in Seoul (quiet until 08:00, 23:00Z) and 08:30 in New York (awake).
            let plan = try await HeraldBinary.run(["plan", "winter-sale", "--at", "2026-12-01T13:30:00Z", "--format", "json"], in: directory.path)
            #expect(plan.status == 0, "\(plan.stderr)")
            let due = ((try Self.json(plan.stdout)["due_by_hour"] as? [[String: Any]]) ?? []).map { "\($0["start"] ?? "") \($0["notifications"] ?? "")" }
            #expect(due == ["2026-12-01T13:00:00+00:00 1", "2026-12-01T23:00:00+00:00 1"])
        }
    }
}
