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

    /// The same equality for a marketing campaign whose limits skip people for every reason
    /// planning has: its own cap (one a day, so the second channel of `delivery: all` is
    /// capped), quiet hours with `then: drop`, and a throttle slower than its expiry. The dry
    /// run at the occurrence's instant, then the scheduler planning it for real (with `--now`,
    /// so that neither depends on the hour the test runs at).
    @Test func aDryRunOfAMarketingCampaignDecidesAsItsPlanningDoesCapsQuietHoursAndExpiryIncluded() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            for sample in ["winter-sale", "weekly-digest"] {
                try FileManager.default.removeItem(atPath: directory.file("campaigns/\(sample).yml"))
            }
            try directory.write("campaigns/flash.yml", """
                campaign: flash
                category: marketing
                channels: [email, sms]
                delivery: all
                template: flash
                schedule: {at: 2026-12-01T10:00:00Z}
                frequency_caps:
                  - {max: 1, per: 1d}
                quiet_hours: {from: "22:00", to: "08:00", then: drop}
                throttle: 40/min
                expires_after: 3m
                """)
            try directory.write("templates/flash.yml", """
                template: flash
                sms:
                  body: "Flash sale, {{first_name}}: 20% off today. Reply STOP to opt out"
                email:
                  subject: "{{first_name}}, a flash sale"
                  html: flash.html
                """)
            try directory.write("templates/flash.html", "<p>Flash sale: 20% off today.</p>\n")
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "300", "--seed", "5"], in: directory.path).status == 0)

            let plan = try await HeraldBinary.run(["plan", "flash", "--format", "json"], in: directory.path)
            #expect(plan.status == 0, "\(plan.stderr)")
            let planned = try Self.json(plan.stdout)
            #expect(planned["fire_at"] as? String == "2026-12-01T10:00:00Z")
            let skips = Self.skips(planned)
            // Every limit stops someone, so each is part of the comparison.
            #expect(skips["capped:at most 1 per 1d (campaign flash)", default: 0] > 0)
            #expect(skips["quiet_hours", default: 0] > 0)
            #expect(skips["expired", default: 0] > 0)

            let run = try await HeraldBinary.run(["schedule", "run", "--once", "--now", "2026-12-01T10:00:20Z"], in: directory.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("flash: planned the occurrence of 2026-12-01T10:00:00Z: 300 recipients"), "\(run.stdout)")
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
            let stored = try await store.rows(sql: """
                SELECT n.reason || CASE WHEN n.reason = 'capped' THEN ':' || e.detail ELSE '' END, COUNT(*)
                FROM notifications n LEFT JOIN events e ON e.notification_id = n.id AND e.type = 'skipped'
                WHERE n.state = 'skipped' GROUP BY 1
                """)
            #expect(skips == Dictionary(uniqueKeysWithValues: stored.map { ($0[0], Int($0[1])!) }))
            let channels = try await store.rows(sql: "SELECT channel, provider, COUNT(*) FROM notifications WHERE state = 'planned' GROUP BY channel, provider")
            let byChannel = ((planned["by_channel"] as? [[String: Any]]) ?? []).map { row in
                [row["channel"] as? String ?? "", row["provider"] as? String ?? "", "\(row["notifications"] as? Int ?? -1)"]
            }
            #expect(byChannel.sorted { $0[0] < $1[0] } == channels.sorted { $0[0] < $1[0] })
            // The throttle's spread: the same due minutes, the same number in each.
            let dueMinutes = try await store.rows(sql: "SELECT CAST(due_at AS INTEGER) / 60, COUNT(*) FROM notifications WHERE state = 'planned' GROUP BY 1 ORDER BY 1")
            #expect(dueMinutes.map { $0[1] } == ["40", "40", "40"])
            #expect(planned["planned"] as? Int == 120)
            let hours = ((planned["due_by_hour"] as? [[String: Any]]) ?? []).map { "\($0["start"] ?? "") \($0["notifications"] ?? "")" }
            #expect(hours == ["2026-12-01T10:00:00+00:00 120"])
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

    // MARK: - What a review reads in the plan

    /// A sample workspace (prices in its herald.yml: twilio 0.0079 USD per segment, sendgrid
    /// 0.0004 USD per message) with one campaign, `notice`: transactional (no caps, no quiet
    /// hours), by SMS and email to everyone, at 09:00 on each recipient's clock, with an SMS
    /// long enough for two segments in English (GSM-7) and in Korean (UCS-2). Four users: ana
    /// (ko-KR, Asia/Seoul), bo (en-US, America/New_York), cy (en-US, no zone) and dee (en-US, a
    /// zone that does not exist, written to the store directly since an import refuses it).
    static func noticeWorkspace(_ directory: TemporaryDirectory) async throws {
        #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
        try routePushNowhere(inWorkspace: directory.path)
        for sample in ["winter-sale", "weekly-digest", "order-shipped"] {
            try FileManager.default.removeItem(atPath: directory.file("campaigns/\(sample).yml"))
        }
        try directory.write("campaigns/notice.yml", """
            campaign: notice
            category: transactional
            channels: [sms, email]
            delivery: all
            template: notice
            schedule:
              at: 2026-12-01T09:00
              timezone: recipient
            """)
        try directory.write("templates/notice.yml", """
            template: notice
            sms:
              body: "\(englishSMS)"
            email:
              subject: "{{first_name}}, your parcel is on its way"
              html: notice.html
            """)
        try directory.write("templates/notice.ko.yml", """
            template: notice
            sms:
              body: "\(koreanSMS)"
            email:
              subject: "{{first_name}}님, 상품이 출발했습니다"
            """)
        try directory.write("templates/notice.html", "<p>Hello {{first_name}},</p>\n<p>Your parcel is on its way.</p>\n")
        try directory.write("users.jsonl", [
            #"{"id":"ana","email":"ana@example.com","phone":"+821012345678","locale":"ko-KR","timezone":"Asia/Seoul","first_name":"Ana"}"#,
            #"{"id":"bo","email":"bo@example.com","phone":"+12125550100","locale":"en-US","timezone":"America/New_York","first_name":"Bo"}"#,
            #"{"id":"cy","email":"cy@example.com","phone":"+447700900123","locale":"en-US","first_name":"Cy"}"#,
        ].joined(separator: "\n") + "\n")
        let imported = try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path)
        #expect(imported.status == 0, "\(imported.stderr)")
        let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
        _ = try await store.upsertUsers(
            [User(id: "dee", email: "dee@example.com", phone: "+33612345678", locale: "en-US", timezone: "Mars/Olympus_Mons", firstName: "Dee")], at: Date()
        )
    }

    /// 165 characters with "Bo" or "Cy", 166 with "Dee", all GSM-7: two segments of at most 153.
    static let englishSMS = "Dear {{first_name}}, your parcel left our warehouse this morning and should reach you within two working days. "
        + "Track it at any time on our website, or reply HELP for assistance."
    /// 83 characters with "Ana", so UCS-2: two segments of at most 67.
    static let koreanSMS = "{{first_name}}님, 주문하신 상품이 오늘 아침 창고에서 출발했습니다. 영업일 기준 이틀 안에 도착할 예정입니다. 배송 조회는 웹사이트에서 언제든지 가능합니다."

    /// The lines of `text` from the one that starts with `heading` up to the next blank line.
    static func section(_ text: String, startingWith heading: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(heading) }) else { return [] }
        return Array(lines[start...].prefix { !$0.isEmpty })
    }

    @Test func theTableShowsCostSegmentsRecipientsInTheDefaultZoneSamplesAndAnHourlyHistogram() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.noticeWorkspace(directory)
            let plan = try await HeraldBinary.run(["plan", "notice"], in: directory.path)
            #expect(plan.status == 0, "\(plan.stderr)")
            let text = plan.stdout
            // The occurrence fires when the earliest zone (UTC+14) reaches 09:00.
            #expect(text.hasPrefix("notice: its scheduled occurrence, 2026-11-30T19:00:00Z (a dry run: nothing is written)\n"))
            // cy has no zone and dee's does not exist: both are read in default_timezone.
            // (herald.yml says UTC, and so does the plan: not Foundation's name for it, GMT.)
            #expect(Self.section(text, startingWith: "audience:").first == "audience: 4 recipients (2 without a valid time zone: their local times are read in UTC)")
            #expect(text.contains("notifications: 8 to send, 0 skipped\n"))
            // Four SMS of two segments each at 0.0079 USD, and four emails at 0.0004 USD; the
            // Korean one is UCS-2.
            #expect(Self.section(text, startingWith: "sms via") == [
                "sms via twilio: 4 messages, 8 segments; GSM-7: 3 messages in 6 segments, UCS-2: 1 message in 2 segments", "estimated cost: 0.0648 USD",
            ])
            // Due at 09:00 on each clock: 00:00Z in Seoul, 14:00Z in New York, 09:00Z for the two
            // in the default zone (UTC); two notifications each (SMS and email).
            #expect(Self.section(text, startingWith: "due (").first == "due (per hour, UTC):")
            let due = Self.section(text, startingWith: "due (per hour, ")
            #expect(Array(due.dropFirst()) == [
                "2026-12-01 00:00  " + String(repeating: "█", count: 20) + " 2",
                "…  8 hours with nothing due",
                "2026-12-01 09:00  " + String(repeating: "█", count: 40) + " 4",
                "…  4 hours with nothing due",
                "2026-12-01 14:00  " + String(repeating: "█", count: 20) + " 2",
            ], "\(text)")
            // One sample per channel and locale, rendered for the first recipient of each.
            #expect(Self.section(text, startingWith: "sample: sms, locale en-US") == [
                "sample: sms, locale en-US, for bo:",
                "  body: Dear Bo, your parcel left our warehouse this morning and should reach you within two working days. "
                    + "Track it at any time on our website, or reply HELP for assistance.",
            ])
            #expect(Self.section(text, startingWith: "sample: sms, locale ko-KR") == [
                "sample: sms, locale ko-KR, for ana:",
                "  body: Ana님, 주문하신 상품이 오늘 아침 창고에서 출발했습니다. 영업일 기준 이틀 안에 도착할 예정입니다. 배송 조회는 웹사이트에서 언제든지 가능합니다.",
            ])
            #expect(Self.section(text, startingWith: "sample: email, locale en-US") == [
                "sample: email, locale en-US, for bo:", "  subject: Bo, your parcel is on its way", "  | Hello Bo,", "  | Your parcel is on its way.",
            ])
            #expect(Self.section(text, startingWith: "sample: email, locale ko-KR") == [
                "sample: email, locale ko-KR, for ana:", "  subject: Ana님, 상품이 출발했습니다", "  | Hello Ana,", "  | Your parcel is on its way.",
            ])
            #expect(text.components(separatedBy: "\nsample: ").count - 1 == 4)
        }
    }

    @Test func theJSONCountsRecipientsInTheDefaultZoneSegmentsCostAndSamples() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.noticeWorkspace(directory)
            let plan = try await HeraldBinary.run(["plan", "notice", "--format", "json"], in: directory.path)
            #expect(plan.status == 0, "\(plan.stderr)")
            let object = try Self.json(plan.stdout)
            #expect(object["recipients"] as? Int == 4)
            #expect(object["recipients_in_default_zone"] as? Int == 2)
            let sms = try #require((object["sms"] as? [[String: Any]])?.first)
            #expect(sms["provider"] as? String == "twilio" && sms["messages"] as? Int == 4 && sms["segments"] as? Int == 8)
            let encodings = ((sms["encodings"] as? [[String: Any]]) ?? []).map { "\($0["encoding"] ?? "") \($0["messages"] ?? "") \($0["segments"] ?? "")" }
            #expect(encodings == ["GSM-7 3 6", "UCS-2 1 2"])
            let cost = ((object["cost"] as? [[String: Any]]) ?? []).map { "\($0["provider"] ?? "") \($0["amount"] ?? "") \($0["currency"] ?? "")" }.sorted()
            #expect(cost == ["sendgrid 0.0016 USD", "twilio 0.0632 USD"])
            let samples = ((object["samples"] as? [[String: Any]]) ?? []).map { sample -> String in
                let content = sample["content"] as? [String: Any] ?? [:]
                return "\(sample["channel"] ?? "") \(sample["locale"] ?? "") \(sample["user_id"] ?? ""): \(content["body"] ?? content["subject"] ?? "")"
            }
            #expect(samples == [
                "sms en-US bo: Dear Bo, your parcel left our warehouse this morning and should reach you within two working days. "
                    + "Track it at any time on our website, or reply HELP for assistance.",
                "sms ko-KR ana: Ana님, 주문하신 상품이 오늘 아침 창고에서 출발했습니다. 영업일 기준 이틀 안에 도착할 예정입니다. 배송 조회는 웹사이트에서 언제든지 가능합니다.",
                "email en-US bo: Bo, your parcel is on its way",
                "email ko-KR ana: Ana님, 상품이 출발했습니다",
            ])
            let due = ((object["due_by_hour"] as? [[String: Any]]) ?? []).map { "\($0["start"] ?? "") \($0["notifications"] ?? "")" }
            #expect(due == ["2026-12-01T00:00:00+00:00 2", "2026-12-01T09:00:00+00:00 4", "2026-12-01T14:00:00+00:00 2"])
        }
    }
}
