import Foundation
import HeraldCore
import Testing

/// Every view of `herald report` beyond the counts per send (``InsightStore``), on a SQLite file
/// and a PostgreSQL schema seeded the same way: the counts by provider and by day, the recipients
/// list, the most clicked links, the activity by hour, the locales, the conversions and the
/// experiment's groups. Where SQLite's functions and PostgreSQL's differ (a truncating CAST, text
/// sorted by bytes, `instr` without a match), the seed makes the difference show.
@Suite struct InsightStoreConformanceTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z, an hour's start
    var now: Date { Self.now }
    var tomorrow: Date { now.addingTimeInterval(86_400) }

    /// Two campaigns planned, sent and engaged with through the roles, and clicks and opens
    /// written as tracking links and webhooks write them:
    /// - spring (conversion: purchase within 1d; variants a and b and a holdout), sent at `now`:
    ///   u-1 email a (sent at +0.5 s: opened twice, clicked sale twice and boots an hour later),
    ///   u-2 email b (sent through mandrill: a machine open, a sale click from SendGrid's webhook),
    ///   u-3 email a (dead), u-4 holdout, u-5 email b (opted out), u-6 SMS a (sent at +10.25 s:
    ///   clicked boots), u-1 push a (planned).
    /// - autumn (no conversion), due tomorrow: u-1 email (planned; three clicks, one detail
    ///   without `: `), u-2 no address (no provider), u-7 and u-8 opted out.
    /// - purchases: u-1 at `now` (the second of its send), u-3 at +50 s, u-4 at +100 s, u-2 two
    ///   days on (outside the window), u-6 10 s before its SMS.
    static func seed(_ role: RoleStore) async throws {
        let store = role.store
        let now = Self.now, tomorrow = now.addingTimeInterval(86_400)
        _ = try await store.upsertUsers([
            User(id: "u-1", locale: "en-US"), User(id: "u-2", locale: "ko-KR"), User(id: "u-3", locale: "en-US"), User(id: "u-4"),
            User(id: "u-5", locale: "ko-KR"), User(id: "u-6", locale: "en-US"), User(id: "u-7", locale: "FR"), User(id: "u-8", locale: "de"),
        ], at: now)
        try await store.saveCampaign(id: "spring", definitionHash: "h", conversion: Conversion(event: "purchase", within: DurationLiteral("1d")!), at: now)
        try await store.saveCampaign(id: "autumn", definitionHash: "h", conversion: nil, at: now)

        let spring = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
        func variant(_ planned: PlannedNotification, _ group: String) -> PlannedNotification {
            var planned = planned
            planned.variant = group
            return planned
        }
        var holdout = plannedEmail(user: "u-4", occurrence: spring.id, due: now, skip: .holdout)
        holdout.provider = nil
        var sms = plannedEmail(user: "u-6", occurrence: spring.id, due: now)
        sms.channel = .sms
        sms.provider = "twilio"
        sms.address = "+821012345678"
        sms.decision = .send(.sms(SMSContent(body: "Hi")))
        _ = try await store.savePlanned([
            variant(plannedEmail(user: "u-1", occurrence: spring.id, due: now), "a"),
            variant(plannedEmail(user: "u-2", occurrence: spring.id, due: now), "b"),
            variant(plannedEmail(user: "u-3", occurrence: spring.id, due: now), "a"),
            variant(holdout, "holdout"),
            variant(plannedEmail(user: "u-5", occurrence: spring.id, due: now, skip: .optedOut), "b"),
            variant(sms, "a"),
            variant(plannedPush(user: "u-1", token: "t1", occurrence: spring.id, due: now), "a"),
        ], at: now)
        let emails = try await store.claim(channel: .email, limit: 10, leaseOwner: "w", lease: .seconds(60), at: now)
        try await store.resolve([
            (emails[0], .sent(providerMessageID: "m-1", provider: "sendgrid")), (emails[1], .sent(providerMessageID: "m-2", provider: "mandrill")),
            (emails[2], .dead(reason: "gave up")),
        ], at: now.addingTimeInterval(0.5))
        let texts = try await store.claim(channel: .sms, limit: 10, leaseOwner: "w", lease: .seconds(60), at: now.addingTimeInterval(10))
        try await store.resolve([(texts[0], .sent(providerMessageID: "s-1", provider: "twilio"))], at: now.addingTimeInterval(10.25))

        let autumn = try await store.beginOccurrence(campaignID: "autumn", fireAt: tomorrow, definitionHash: "h", at: now)
        var noAddress = plannedEmail(user: "u-2", occurrence: autumn.id, campaign: "autumn", due: tomorrow, skip: .noAddress)
        noAddress.provider = nil
        _ = try await store.savePlanned([
            plannedEmail(user: "u-1", occurrence: autumn.id, campaign: "autumn", due: tomorrow), noAddress,
            plannedEmail(user: "u-7", occurrence: autumn.id, campaign: "autumn", due: tomorrow, skip: .optedOut),
            plannedEmail(user: "u-8", occurrence: autumn.id, campaign: "autumn", due: tomorrow, skip: .optedOut),
        ], at: now)

        func id(_ user: String, _ campaign: String, _ channel: Channel) async throws -> String {
            try #require(try await role.rows(
                "SELECT id FROM notifications WHERE user_id = '\(user)' AND campaign_id = '\(campaign)' AND channel = '\(channel.rawValue)'"
            ).first?.first)
        }
        let trail: [(String, String, Channel, String, String?, Double, String?)] = [
            ("u-1", "spring", .email, "opened", "first", 60, nil), ("u-1", "spring", .email, "opened", "first", 70, nil),
            ("u-1", "spring", .email, "clicked", nil, 120, "link: https://shop.example.com/sale"),
            ("u-1", "spring", .email, "clicked", nil, 130, "link: https://shop.example.com/sale"),
            ("u-1", "spring", .email, "clicked", nil, 3700, "link: https://shop.example.com/boots"),
            ("u-2", "spring", .email, "opened", "machine", 65, nil),
            ("u-2", "spring", .email, "clicked", nil, 200, "sendgrid: https://shop.example.com/sale"),
            ("u-6", "spring", .sms, "clicked", nil, 300, "link: https://shop.example.com/boots"),
            ("u-1", "autumn", .email, "clicked", nil, 86_410, "link: https://shop.example.com/a"),
            ("u-1", "autumn", .email, "clicked", nil, 86_420, "link: https://shop.example.com/B"),
            ("u-1", "autumn", .email, "clicked", nil, 86_430, "nourl"),
        ]
        for (user, campaign, channel, type, reason, offset, detail) in trail {
            try await role.execute("""
                INSERT INTO events (notification_id, campaign_id, channel, type, reason, at, detail)
                VALUES (\(try await id(user, campaign, channel)), '\(campaign)', '\(channel.rawValue)', '\(type)',
                    \(reason.map { "'\($0)'" } ?? "NULL"), \(now.timeIntervalSince1970 + offset), \(detail.map { "'\($0)'" } ?? "NULL"))
                """)
        }
        for (user, offset) in [("u-1", 0.0), ("u-3", 50), ("u-4", 100), ("u-2", 2 * 86_400 + 1), ("u-6", -10)] {
            _ = try await store.recordEvent(
                ReceivedEvent(userID: user, name: "purchase", receivedAt: now.addingTimeInterval(offset)), triggering: [], at: now
            )
        }
    }

    func withSeededStore(_ kind: StoreKind, _ body: (any InsightStore, RoleStore) async throws -> Void) async throws {
        try await withRoleStores(kind) { stores in
            try await Self.seed(stores[0])
            try await body(try #require(stores[0].store as? any InsightStore), stores[0])
        }
    }

    func row(
        _ campaign: String, _ group: String, _ channel: Channel, people: Int, skipped: [String: Int] = [:], pending: Int = 0, sent: Int = 0,
        dead: Int = 0, opened: Int = 0, machineOpened: Int = 0, clicked: Int = 0
    ) -> ReportRow {
        var row = ReportRow(
            campaignID: campaign, channel: channel, recipients: people, targeted: people, skipped: skipped, pending: pending, sent: sent, dead: dead
        )
        row.group = group
        row.opened = opened
        row.machineOpened = machineOpened
        row.clicked = clicked
        return row
    }

    @Test(arguments: StoreKind.allCases)
    func theReportByProviderAndByDayCountsEachGroupWithItsEngagement(_ kind: StoreKind) async throws {
        try await withSeededStore(kind) { store, _ in
            let byProvider = try await store.report(campaignID: nil, by: .provider)
            #expect(try await store.campaignIDs() == ["autumn", "spring"])
            #expect(byProvider == [
                row("autumn", "none", .email, people: 1, skipped: ["no_address": 1]),
                row("autumn", "sendgrid", .email, people: 3, skipped: ["opted_out": 2], pending: 1, clicked: 1),
                row("spring", "apns", .push, people: 1, pending: 1),
                row("spring", "mandrill", .email, people: 1, sent: 1, machineOpened: 1, clicked: 1),
                row("spring", "none", .email, people: 1, skipped: ["holdout": 1]),
                row("spring", "sendgrid", .email, people: 3, skipped: ["opted_out": 1], sent: 1, dead: 1, opened: 1, clicked: 1),
                row("spring", "twilio", .sms, people: 1, sent: 1, clicked: 1),
            ])
            // By the UTC day the notifications were due.
            #expect(try await store.report(campaignID: nil, by: .day) == [
                row("autumn", "2027-01-16", .email, people: 4, skipped: ["no_address": 1, "opted_out": 2], pending: 1, clicked: 1),
                row("spring", "2027-01-15", .push, people: 1, pending: 1),
                row("spring", "2027-01-15", .sms, people: 1, sent: 1, clicked: 1),
                row("spring", "2027-01-15", .email, people: 5, skipped: ["holdout": 1, "opted_out": 1], sent: 2, dead: 1, opened: 1, machineOpened: 1, clicked: 2),
            ])
            #expect(try await store.report(campaignID: "autumn", by: .provider).map(\.group) == ["none", "sendgrid"])
            // By send, as the report role counts it.
            #expect(try await store.report(campaignID: "spring", by: .send).map(\.channel) == [.push, .sms, .email])
            #expect(try await store.report(campaignID: "winter", by: .day).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theRecipientsListPagesInIdOrderAndFiltersByStateReasonAndChannel(_ kind: StoreKind) async throws {
        try await withSeededStore(kind) { store, _ in
            let all = try await store.recipients(matching: RecipientFilter(), after: nil, limit: 100)
            #expect(all.map(\.notificationID) == all.map(\.notificationID).sorted())
            #expect(all.map { "\($0.campaignID)/\($0.userID)/\($0.channel.rawValue)" } == [
                "spring/u-1/email", "spring/u-2/email", "spring/u-3/email", "spring/u-4/email", "spring/u-5/email", "spring/u-6/sms",
                "spring/u-1/push", "autumn/u-1/email", "autumn/u-2/email", "autumn/u-7/email", "autumn/u-8/email",
            ])
            let sent = all[1]
            #expect(sent.fireAt == now && sent.state == .sent && sent.provider == "mandrill" && sent.address == "u-2@example.com")
            #expect(sent.reason == nil && sent.updatedAt == now.addingTimeInterval(0.5))
            #expect(all[7].fireAt == tomorrow && all[7].state == .planned && all[7].updatedAt == now)

            let page = try await store.recipients(matching: RecipientFilter(), after: all[2].notificationID, limit: 2)
            #expect(page == Array(all[3...4]))
            let skipped = try await store.recipients(matching: RecipientFilter(state: .skipped), after: nil, limit: 100)
            #expect(skipped.map { "\($0.userID):\($0.reason ?? "")" } == ["u-4:holdout", "u-5:opted_out", "u-2:no_address", "u-7:opted_out", "u-8:opted_out"])
            let optedOut = try await store.recipients(matching: RecipientFilter(campaignID: "autumn", reason: "opted_out"), after: nil, limit: 100)
            #expect(optedOut.map(\.userID) == ["u-7", "u-8"])
            let texts = try await store.recipients(matching: RecipientFilter(channel: .sms), after: nil, limit: 100)
            #expect(texts.map(\.provider) == ["twilio"] && texts.map(\.address) == ["+821012345678"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theMostClickedLinksRankByPeopleThenClicksThenURLBytes(_ kind: StoreKind) async throws {
        try await withSeededStore(kind) { store, _ in
            let links = try await store.topLinks(campaignID: nil, limit: 10)
            // Ties by URL in byte order ("B" before "a"); a detail without ": " loses its first
            // character, as SQLite's instr and substr leave it.
            #expect(links == [
                LinkClicks(campaignID: "autumn", url: "https://shop.example.com/B", clicks: 1, notifications: 1),
                LinkClicks(campaignID: "autumn", url: "https://shop.example.com/a", clicks: 1, notifications: 1),
                LinkClicks(campaignID: "autumn", url: "ourl", clicks: 1, notifications: 1),
                LinkClicks(campaignID: "spring", url: "https://shop.example.com/sale", clicks: 3, notifications: 2),
                LinkClicks(campaignID: "spring", url: "https://shop.example.com/boots", clicks: 2, notifications: 2),
            ])
            #expect(try await store.topLinks(campaignID: "spring", limit: 1).map(\.url) == ["https://shop.example.com/sale"])
            #expect(try await store.topLinks(campaignID: "winter", limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func activityLocalesAndConversionsAreWhatTheHTMLReportDraws(_ kind: StoreKind) async throws {
        try await withSeededStore(kind) { store, _ in
            let hour = 3600.0
            let activity = try await store.activity(campaignID: nil)
            #expect(activity == [
                ActivityCount(campaignID: "autumn", hour: now.addingTimeInterval(24 * hour), sent: 0, opened: 0, clicked: 3),
                ActivityCount(campaignID: "spring", hour: now, sent: 3, opened: 2, clicked: 4),
                ActivityCount(campaignID: "spring", hour: now.addingTimeInterval(hour), sent: 0, opened: 0, clicked: 1),
            ])
            #expect(try await store.activity(campaignID: "autumn").count == 1)
            // Most people first, then the locale in byte order ("FR" before "de").
            #expect(try await store.localeBreakdown(campaignID: nil) == [
                LocaleCount(campaignID: "autumn", locale: "FR", people: 1, sent: 0, opened: 0, clicked: 0),
                LocaleCount(campaignID: "autumn", locale: "de", people: 1, sent: 0, opened: 0, clicked: 0),
                LocaleCount(campaignID: "autumn", locale: "en-US", people: 1, sent: 0, opened: 0, clicked: 1),
                LocaleCount(campaignID: "autumn", locale: "ko-KR", people: 1, sent: 0, opened: 0, clicked: 0),
                LocaleCount(campaignID: "spring", locale: "en-US", people: 3, sent: 2, opened: 1, clicked: 2),
                LocaleCount(campaignID: "spring", locale: "ko-KR", people: 2, sent: 1, opened: 0, clicked: 1),
                LocaleCount(campaignID: "spring", locale: "", people: 1, sent: 0, opened: 0, clicked: 0),
            ])
            // u-1 bought in the second of the send (sent at +0.5 s): it counts; u-2 too late, u-6
            // before its SMS.
            #expect(try await store.conversionsByChannel(campaignID: nil) == [
                ChannelConversions(campaignID: "spring", channel: .email, people: 2, converted: 1),
                ChannelConversions(campaignID: "spring", channel: .sms, people: 1, converted: 0),
            ])
            #expect(try await store.conversionsByChannel(campaignID: "autumn").isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theExperimentHasEachGroupsPeopleSendsEngagementAndConversions(_ kind: StoreKind) async throws {
        try await withSeededStore(kind) { store, _ in
            // Group a: u-1 (its first send is the push, due at `now`: the purchase then counts),
            // u-3 (dead, from its due time), u-6 (bought before its SMS).
            let groups = try await store.experimentReport(campaignID: nil)
            #expect(groups == [
                ExperimentGroupCounts(
                    campaignID: "spring", group: "a", people: 3, sent: 2, opened: 1, clicked: 2, converted: 2, conversionEvent: "purchase",
                    conversionWindowSeconds: 86_400
                ),
                ExperimentGroupCounts(
                    campaignID: "spring", group: "b", people: 1, sent: 1, opened: 0, clicked: 1, converted: 0, conversionEvent: "purchase",
                    conversionWindowSeconds: 86_400
                ),
                ExperimentGroupCounts(
                    campaignID: "spring", group: "holdout", people: 1, sent: 0, opened: 0, clicked: 0, converted: 1, conversionEvent: "purchase",
                    conversionWindowSeconds: 86_400
                ),
            ])
            #expect(try await store.experimentReport(campaignID: "spring") == groups)
            #expect(try await store.experimentReport(campaignID: "autumn").isEmpty)
        }
    }

    /// Both stores seeded alike give the same answer to every view, to the row: what the report's
    /// text, JSON, CSV and HTML are made of.
    @Test func bothStoresGiveTheSameAnswerToEveryView() async throws {
        guard TestPostgres.url != nil else { return TestPostgres.skip() }
        var answers: [String] = []
        for kind in StoreKind.allCases {
            try await withSeededStore(kind) { store, _ in
                var text = ""
                for campaign in [nil, "spring", "autumn"] as [String?] {
                    for grouping in ReportGrouping.allCases {
                        text += ReportFormatter.format(try await store.report(campaignID: campaign, by: grouping), as: .csv, width: nil, by: grouping)
                    }
                    text += "\(try await store.recipients(matching: RecipientFilter(campaignID: campaign), after: nil, limit: 100))"
                    text += "\(try await store.topLinks(campaignID: campaign, limit: 10))\(try await store.activity(campaignID: campaign))"
                    text += "\(try await store.localeBreakdown(campaignID: campaign))\(try await store.conversionsByChannel(campaignID: campaign))"
                    text += "\(try await store.experimentReport(campaignID: campaign))"
                }
                answers.append(text)
            }
        }
        #expect(answers[0] == answers[1])
    }
}
