import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

struct CampaignParserTests {
    static let file = "campaigns/flash-sale.yml"
    static let head = "campaign: flash-sale\nchannels: [push]\ntemplate: sale\n"

    func parse(_ text: String, defaultTimezone: String = "UTC") -> (campaign: Campaign?, messages: [String]) {
        let (campaign, diagnostics) = CampaignParser(defaultTimezone: defaultTimezone).parse(text: text, file: Self.file)
        return (campaign, diagnostics.map(\.description))
    }

    // MARK: audience

    @Test(arguments: [
        // A plain scalar starts at its node.
        ("audience:\n  where: country == \"KR\"\n", "country == \"KR\"", 5, 10),
        // A quoted one starts after the quote.
        ("audience:\n  where: 'country == \"KR\"'\n", "country == \"KR\"", 5, 11),
        ("audience: {where: \"beta\"}\n", "beta", 4, 20),
        // A block scalar starts on its first line of content, at its indentation.
        ("audience:\n  where: |\n    beta\n    and country == \"KR\"\n", "beta\nand country == \"KR\"\n", 6, 5),
        // Blank lines before the content are dropped so that the text starts at the location.
        ("audience:\n  where: >-\n\n      beta\n", "beta", 7, 7),
    ])
    func audienceRuleIsLocatedAtItsFirstCharacter(yaml: String, text: String, line: Int, column: Int) throws {
        let campaign = try #require(parse(Self.head + yaml).campaign)
        #expect(campaign.audience == .rule(RuleSource(text: text, location: SourceLocation(file: Self.file, line: line, column: column))))
    }

    @Test func audienceNeedsExactlyOneOfWhereAndSegment() {
        #expect(parse(Self.head + "audience: {where: beta, segment: vips}\n").messages == [
            "campaigns/flash-sale.yml:4:11: audience has both 'where' and 'segment' (keep one of them)",
        ])
        #expect(parse(Self.head + "audience:\n  wher: beta\n").messages == [
            "campaigns/flash-sale.yml:5:3: unknown field 'wher' (did you mean 'where'?)",
            "campaigns/flash-sale.yml:5:3: audience has neither 'where' nor 'segment' (expected {where: <rule>} or {segment: <name>}; leave out 'audience' to reach every user)",
        ])
        #expect(parse(Self.head + "audience:\n  where: \"  \"\n").messages == [
            "campaigns/flash-sale.yml:5:10: empty audience rule for 'where' (expected an audience rule such as country == \"KR\" and last_seen_at > now() - 30d)",
        ])
    }

    // MARK: params

    @Test func paramsKeepTextAsWrittenAndTypeOnlyPlainNumbersBooleansDatesAndMoney() throws {
        let yaml = """
        params:
          count: 3
          negative: -12.50
          big: 1e3
          flag: true
          off: False
          country: NO
          answer: yes
          date: 2026-12-01
          quoted_date: "2026-12-01"
          instant: 2026-12-07T18:00:00+09:00
          utc: 2026-12-07T09:00:00Z
          price: {amount: 129.00, currency: USD}
          not_money: {amount: 1, currency: USD, note: x}
          time: 21:00
          phone: +15005550006
          zip: 01234
          quoted: "3"
          list: [1, two, false]
          nested: {a: {b: c}}
          block: |
            line one

        """
        let campaign = try #require(parse(Self.head + yaml).campaign)
        #expect(campaign.params == [
            "count": .number(3),
            "negative": .number(-12.5),
            "big": .number(1000),
            "flag": .bool(true),
            "off": .bool(false),
            "country": .string("NO"),
            "answer": .string("yes"),
            "date": .date(CalendarDate(year: 2026, month: 12, day: 1)),
            "quoted_date": .string("2026-12-01"),
            "instant": .time(Date(timeIntervalSince1970: 1_796_634_000)),
            "utc": .time(Date(timeIntervalSince1970: 1_796_634_000)),
            "price": .money(Money(amount: Decimal(string: "129.00")!, currency: "USD")),
            "not_money": .map(["amount": .number(1), "currency": .string("USD"), "note": .string("x")]),
            "time": .string("21:00"),
            "phone": .string("+15005550006"),
            "zip": .string("01234"),
            "quoted": .string("3"),
            "list": .list([.number(1), .string("two"), .bool(false)]),
            "nested": .map(["a": .map(["b": .string("c")])]),
            "block": .string("line one\n"),
        ])
    }

    @Test func localeParamsGiveSomeParamsAnotherValueForALocale() throws {
        let yaml = """
        params:
          headline: Winter sale
          ends_on: 2026-12-07
          price: {amount: 129.00, currency: USD}
        locale_params:
          ko: {headline: 겨울 세일, price: {amount: 169000, currency: KRW}}
          ko-KR:
            headline: 겨울 세일 (한국)
          pt-BR: {ends_on: "7 de dezembro"}

        """
        let campaign = try #require(parse(Self.head + yaml).campaign)
        let won = TemplateValue.money(Money(amount: 169_000, currency: "KRW"))
        #expect(campaign.localeParams == [
            "ko": ["headline": .string("겨울 세일"), "price": won],
            "ko-KR": ["headline": .string("겨울 세일 (한국)")],
            "pt-BR": ["ends_on": .string("7 de dezembro")],
        ])
        // Param by param: the exact locale, then the language, then the campaign-wide value.
        #expect(campaign.params(for: "ko-KR") == ["headline": .string("겨울 세일 (한국)"), "ends_on": campaign.params["ends_on"]!, "price": won])
        #expect(campaign.params(for: "ko-KP") == ["headline": .string("겨울 세일"), "ends_on": campaign.params["ends_on"]!, "price": won])
        #expect(campaign.params(for: "KO") == campaign.params(for: "ko-KP"))
        #expect(campaign.params(for: "pt-PT") == campaign.params)
        #expect(campaign.params(for: "en-US") == campaign.params)
        #expect(campaign.params(for: nil) == campaign.params)
        #expect(campaign.paramSource(of: "headline", for: "ko-KR") == "ko-KR")
        #expect(campaign.paramSource(of: "price", for: "ko-KR") == "ko")
        #expect(campaign.paramSource(of: "ends_on", for: "ko-KR") == nil)
    }

    @Test func localeParamsErrorsAreReportedWhereTheyAreWritten() {
        let yaml = """
        params:
          headline: Winter sale
          price: {amount: 129.00, currency: USD}
        locale_params:
          ko_KR: {headline: x}
          ko: {hedline: x, coupon: y}
          KO: {headline: y}
          english: {headline: z}
          ja: 3

        """
        #expect(parse(Self.head + yaml).messages == [
            "campaigns/flash-sale.yml:8:3: invalid locale 'ko_KR' in 'locale_params' (did you mean 'ko-KR'?)",
            "campaigns/flash-sale.yml:9:8: unknown parameter 'hedline' in 'locale_params.ko' (did you mean 'headline'?)",
            "campaigns/flash-sale.yml:9:20: unknown parameter 'coupon' in 'locale_params.ko' "
                + "(a locale can only give another value to a param of 'params', which holds the value for every other locale)",
            "campaigns/flash-sale.yml:10:3: locale 'KO' is given twice in 'locale_params' (also as 'ko'; keep one entry per locale)",
            "campaigns/flash-sale.yml:11:3: invalid locale 'english' in 'locale_params' (expected a BCP 47 language tag such as ko, ko-KR, pt-BR or zh-Hant-TW)",
            "campaigns/flash-sale.yml:12:7: wrong type for 'locale_params.ja': found '3' (expected a mapping of params for ja, e.g. item_name: 에어 맥스 90)",
        ])
    }

    @Test func datesInstantsAndMoneyErrors() {
        let yaml = """
        params:
          ends_on: 2026-13-07
          starts_at: 2026-12-07T18:00
          opens_at: 2026-12-07T25:00:00Z
          price: {amount: "12.50", currency: usd}
          fee: {amount: 3, currency: DOLLARS}

        """
        #expect(parse(Self.head + yaml).messages == [
            "campaigns/flash-sale.yml:5:12: invalid date '2026-13-07' for parameter 'ends_on' (a date is YYYY-MM-DD, e.g. 2026-12-07; quote it to keep it as text)",
            "campaigns/flash-sale.yml:6:14: invalid instant '2026-12-07T18:00' for parameter 'starts_at' "
                + "(an instant needs a zone: add Z for UTC or an offset such as +09:00; quote it to keep it as text)",
            "campaigns/flash-sale.yml:7:13: invalid instant '2026-12-07T25:00:00Z' for parameter 'opens_at' "
                + "(expected an instant such as 2026-12-07T18:00:00+09:00; quote it to keep it as text)",
            "campaigns/flash-sale.yml:8:19: the amount of 'price' is not a number (write money as {amount: 129.00, currency: USD})",
            "campaigns/flash-sale.yml:8:38: unknown currency 'usd' in 'price' (did you mean 'USD'?)",
            "campaigns/flash-sale.yml:9:30: unknown currency 'DOLLARS' in 'fee' (expected an ISO 4217 code such as USD, EUR or KRW)",
        ])
    }

    @Test func paramErrors() {
        #expect(parse(Self.head + "params:\n  empty:\n  list: [a, ~]\n").messages == [
            "campaigns/flash-sale.yml:5:9: no value for parameter 'empty' (write \"\" for empty text, or remove the parameter)",
            "campaigns/flash-sale.yml:6:13: no value for parameter an item of 'list' (write \"\" for empty text, or remove the parameter)",
        ])
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(parse(Self.head + "params: {p: \(deep)}\n").messages == [
            "campaigns/flash-sale.yml:4:45: params are nested too deeply (at most 32 levels)",
        ])
        #expect(parse(Self.head + "params: [a, b]\n").messages == [
            "campaigns/flash-sale.yml:4:9: wrong type for 'params': found a list (expected a mapping of template parameters, e.g. item_name: Air Max 90)",
        ])
    }

    // MARK: schedule

    @Test func scheduleForms() throws {
        #expect(parse(Self.head + "schedule: {at: 2026-12-01 09:30:15, timezone: America/New_York}\n").campaign?.schedule
            == .at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 9, minute: 30, second: 15), zone: .fixed("America/New_York")))
        #expect(parse(Self.head + "schedule: {at: 2026-12-01T09:00}\n", defaultTimezone: "Asia/Seoul").campaign?.schedule
            == .at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 9), zone: .fixed("Asia/Seoul")))
        // With an explicit offset, `at` is an instant: the same moment for everyone.
        #expect(parse(Self.head + "schedule: {at: 2026-12-01T09:00:00Z}\n").campaign?.schedule == .instant(ISO8601.date(from: "2026-12-01T09:00:00Z")!))
        #expect(parse(Self.head + "schedule:\n  at: \"2026-12-01T09:00:00+09:00\"\n", defaultTimezone: "America/New_York").campaign?.schedule
            == .instant(ISO8601.date(from: "2026-12-01T00:00:00Z")!))
        #expect(parse(Self.head + "schedule: {at: 2026-12-01T09:00-05:00}\n").campaign?.schedule == .instant(ISO8601.date(from: "2026-12-01T14:00:00Z")!))
        #expect(parse(Self.head + "schedule: {trigger: {event: order.shipped}}\n").campaign?.schedule
            == .trigger(event: "order.shipped", delay: nil))
        let cron = try #require(parse(Self.head + "schedule: {cron: 0 9 * * 1-5, timezone: recipient, between: {end: 2027-01-01}}\n").campaign)
        guard case .cron(let schedule) = cron.schedule else {
            Issue.record("expected a cron schedule, got \(cron.schedule)")
            return
        }
        #expect(schedule.expression.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(schedule.zone == .recipient)
        #expect(schedule.start == nil)
        #expect(schedule.end == LocalDateTime(year: 2027, month: 1, day: 1))
    }

    @Test(arguments: [
        ("schedule: {}\n", "campaigns/flash-sale.yml:4:11: schedule has none of 'at', 'cron' or 'trigger' (expected one of {at: 2026-12-01T09:00}, {cron: \"0 9 * * MON\"} or {trigger: {event: cart_abandoned}})"),
        ("schedule:\n  at: 2026-12-01T09:00\n  trigger: {event: x}\n", "campaigns/flash-sale.yml:6:3: schedule has 'at' and 'trigger' (give exactly one of 'at', 'cron' or 'trigger')"),
        ("schedule: {at: 2026-02-30T09:00}\n", "campaigns/flash-sale.yml:4:16: invalid date and time '2026-02-30T09:00' for 'at' (expected a wall-clock time such as 2026-12-01T09:00 (read in 'timezone:'), or an instant with an offset such as 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+09:00)"),
        ("schedule: {at: 2026-12-01T24:00:00Z}\n", "campaigns/flash-sale.yml:4:16: invalid date and time '2026-12-01T24:00:00Z' for 'at' (expected a wall-clock time such as 2026-12-01T09:00 (read in 'timezone:'), or an instant with an offset such as 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+09:00)"),
        ("schedule: {at: 2026-12-01T09:00:00+0900x}\n", "campaigns/flash-sale.yml:4:16: invalid date and time '2026-12-01T09:00:00+0900x' for 'at' (expected a wall-clock time such as 2026-12-01T09:00 (read in 'timezone:'), or an instant with an offset such as 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+09:00)"),
        ("schedule: {at: 2026-12-01T09:00:00+09:00, timezone: Asia/Seoul}\n", "campaigns/flash-sale.yml:4:43: 'timezone' does not apply to an instant with an offset: '2026-12-01T09:00:00+09:00' is already the same moment everywhere (remove 'timezone', or write at: 2026-12-01T09:00:00 without the offset to read it in 'timezone')"),
        ("schedule:\n  timezone: recipient\n  at: 2026-12-01T09:00Z\n", "campaigns/flash-sale.yml:5:3: 'timezone' does not apply to an instant with an offset: '2026-12-01T09:00Z' is already the same moment everywhere (remove 'timezone', or write at: 2026-12-01T09:00 without the offset to read it in 'timezone')"),
        ("schedule: {trigger: {event: x}, timezone: UTC}\n", "campaigns/flash-sale.yml:4:33: 'timezone' does not apply to a trigger (a trigger is sent when its event arrives; remove 'timezone')"),
        ("schedule: {at: 2026-12-01T09:00, between: {start: 2026-12-01}}\n", "campaigns/flash-sale.yml:4:34: 'between' applies only to a cron schedule (remove 'between', or use 'cron')"),
        ("schedule: {cron: \"0 9 * * *\", between: {start: 2027-01-01, end: 2026-01-01}}\n", "campaigns/flash-sale.yml:4:65: 'between' ends (2026-01-01T00:00) before it starts (2027-01-01T00:00) (make end later than start)"),
        ("schedule: {cron: \"0 9 * *\"}\n", "campaigns/flash-sale.yml:4:19: invalid cron expression: a cron expression has 5 fields (minute hour day-of-month month day-of-week), found 4 (expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\")"),
        ("schedule: {cron: \"0 0 30 2 *\"}\n", "campaigns/flash-sale.yml:4:19: cron expression '0 0 30 2 *' never matches a date (February has at most 29 days; use a day of month from 1 to 29)"),
        ("schedule: {cron: \"0 9 31 FEB,APR,JUN *\"}\n", "campaigns/flash-sale.yml:4:19: cron expression '0 9 31 FEB,APR,JUN *' never matches a date (February, April and June have at most 30 days; use a day of month from 1 to 30)"),
        ("schedule: {cron: \"0 9 30-31 2 *\"}\n", "campaigns/flash-sale.yml:4:19: cron expression '0 9 30-31 2 *' never matches a date (February has at most 29 days; use a day of month from 1 to 29)"),
        ("schedule: {trigger: {event: \"cart abandoned\", delay: soon}}\n", "campaigns/flash-sale.yml:4:29: invalid event name 'cart abandoned' (use letters, digits, '_', '-' and '.', e.g. cart_abandoned)"),
        ("schedule: {trigger: {delay: 1h}}\n", "campaigns/flash-sale.yml:4:21: missing field 'event' (expected the event name the API receives, e.g. event: cart_abandoned)"),
    ])
    func scheduleErrors(yaml: String, message: String) {
        let (campaign, messages) = parse(Self.head + yaml)
        #expect(campaign == nil)
        #expect(messages.first == message)
    }

    /// Only day-of-month values that no listed month has are refused: February 29 comes in leap
    /// years, and with a day of week also given, cron fires on either day.
    @Test(arguments: ["0 0 29 2 *", "0 0 31 * *", "0 0 30 2 MON", "0 0 30,31 2,3 *", "0 0 * 2 *"])
    func cronThatMatchesSomeDateIsAccepted(cron: String) throws {
        let (campaign, messages) = parse(Self.head + "schedule: {cron: \"\(cron)\"}\n")
        #expect(messages == [])
        guard case .cron(let schedule) = try #require(campaign).schedule else {
            Issue.record("expected a cron schedule")
            return
        }
        #expect(schedule.expression.source == cron)
    }

    // MARK: limits

    @Test func capsAndQuietHours() throws {
        let campaign = try #require(parse(Self.head + """
        frequency_caps:
          - {max: 2, per: 12h, channel: push}
          - {max: 5, per: calendar_day}
        quiet_hours: {from: "23:30", to: "07:00", then: drop}

        """).campaign)
        #expect(campaign.frequencyCaps == [
            FrequencyCap(max: 2, per: .rolling(DurationLiteral(amount: 12, unit: .hours)), channel: .push),
            FrequencyCap(max: 5, per: .calendarDay),
        ])
        #expect(campaign.quietHours == QuietHours(from: TimeOfDay(hour: 23, minute: 30), to: TimeOfDay(hour: 7, minute: 0), then: .drop))
    }

    @Test func capAndQuietHourErrorsAreAllReported() {
        let (campaign, messages) = parse(Self.head + """
        frequency_caps:
          - {max: 0, per: 0d, channel: fax}
          - {per: 1d}
        quiet_hours: {from: "25:00", to: 08:00, then: later}
        expires_after: 0s
        throttle: 10/s

        """)
        #expect(campaign == nil)
        #expect(messages == [
            "campaigns/flash-sale.yml:5:11: 'max' must be at least 1, found 0 (expected a whole number of at least 1)",
            "campaigns/flash-sale.yml:5:19: invalid window '0d' for 'per' (expected a duration such as 1d or 7d, or calendar_day or calendar_week)",
            "campaigns/flash-sale.yml:5:32: unknown channel 'fax' (expected one of: push, sms, email)",
            "campaigns/flash-sale.yml:6:5: missing field 'max' (expected the most notifications per window, e.g. max: 3)",
            "campaigns/flash-sale.yml:7:21: invalid time of day '25:00' for 'from' (expected HH:MM from 00:00 to 23:59, e.g. \"21:00\")",
            "campaigns/flash-sale.yml:7:47: unknown quiet hours action 'later' (expected one of: delay, drop)",
            "campaigns/flash-sale.yml:8:16: 'expires_after' must be longer than zero (expected a duration such as 30s, 15m, 12h, 7d or 2w)",
        ])
    }

    // MARK: shape

    @Test func everyMissingFieldIsReported() {
        #expect(parse("description: nothing else\n").messages == [
            "campaigns/flash-sale.yml:1:1: missing field 'campaign' (expected the campaign id, equal to the file name: campaign: flash-sale)",
            "campaigns/flash-sale.yml:1:1: missing field 'channels' (expected a list of channels: push, sms, email)",
            "campaigns/flash-sale.yml:1:1: missing field 'template' (expected the name of a template in templates/, e.g. template: restock)",
        ])
    }

    @Test func shapeErrors() {
        #expect(parse("").messages == [
            "campaigns/flash-sale.yml:1:1: file is empty (expected a campaign such as {campaign: restock, channels: [push], template: restock, …})",
        ])
        #expect(parse("- campaign: flash-sale\n").messages == [
            "campaigns/flash-sale.yml:1:1: expected a mapping of fields, found a list (expected a campaign such as {campaign: restock, channels: [push], template: restock, …})",
        ])
        #expect(parse("campaign: Flash_Sale\nchannels: []\ntemplate: sale\n").messages == [
            "campaigns/flash-sale.yml:1:11: invalid campaign id 'Flash_Sale': 'F' is not allowed (use at most 64 lowercase letters, digits and '-', e.g. restock-air-max)",
            "campaigns/flash-sale.yml:2:11: 'channels' is empty (expected at least one of: push, sms, email)",
        ])
        #expect(parse("campaign: flash-sale\nchannels: [push, sms, push]\ntemplate: sale\n").messages == [
            "campaigns/flash-sale.yml:2:23: channel 'push' is listed twice (list each channel once)",
        ])
        #expect(parse("campaign: flash-sale\ncampaign: again\n").messages == [
            "campaigns/flash-sale.yml:1:1: field 'campaign' appears more than once (give each field once)",
        ])
        #expect(parse(Self.head + "description: [a]\n").messages == [
            "campaigns/flash-sale.yml:4:14: wrong type for 'description': found a list (expected a sentence describing the campaign)",
        ])
    }

    @Test(arguments: [
        ("campaign: a\n  channels: [push]\n", "campaigns/flash-sale.yml:2:11: invalid YAML: mapping values are not allowed here (quote a value that contains ': ', or check the indentation)"),
        ("campaign: a\ndescription: \"unclosed\n", "campaigns/flash-sale.yml:3:1: invalid YAML: a quoted value is not closed (the quote that starts at line 2, column 14 needs a closing quote)"),
        ("campaign: a\nparams: {a: 1\n", "campaigns/flash-sale.yml:3:1: invalid YAML: a mapping is not closed (the mapping that starts at line 2, column 9 needs a '}')"),
        ("campaign: a\n- b\n", "campaigns/flash-sale.yml:2:1: invalid YAML: this line does not line up with the fields above it (check the indentation against the mapping at line 1, column 1)"),
        ("campaign: a\n---\ncampaign: b\n", "campaigns/flash-sale.yml:2:1: invalid YAML: a second document in the file (a file holds one document; remove the '---')"),
        ("campaign: *a\n", "campaigns/flash-sale.yml:1:11: invalid YAML: aliases are not supported (write the value out in full; Herald files do not use &anchors and *aliases)"),
        ("campaign: a\u{7}\n", "campaigns/flash-sale.yml:1:12: invalid YAML: control characters are not allowed (remove the control character U+0007)"),
        ("description: \"\\q\"\n", "campaigns/flash-sale.yml:1:15: invalid YAML: unknown escape sequence in double quotes (write \\\\ for a backslash, or use single quotes)"),
        ("campaign: @a\n", "campaigns/flash-sale.yml:1:11: invalid YAML: a value cannot start with '@' (put the value in quotes)"),
    ])
    func yamlSyntaxErrorsAreSentences(yaml: String, message: String) {
        #expect(parse(yaml).messages == [message])
    }

    @Test func definitionHashIsFNV1aOfTheBytes() throws {
        let campaign = try #require(parse(Self.head).campaign)
        #expect(campaign.definitionHash == DefinitionHash.fnv1a64(Array(Self.head.utf8)))
        #expect(DefinitionHash.fnv1a64([UInt8]()) == "cbf29ce484222325")
        #expect(DefinitionHash.fnv1a64(Array("a".utf8)) == "af63dc4c8601ec8c")
        #expect(DefinitionHash.fnv1a64(Array("foobar".utf8)) == "85944171f73967e8")
    }
}

@Suite struct CapScopeTests {
    @Test func capsTakeACategoryAndCalendarWeeks() throws {
        let text = """
            campaign: flash-sale
            channels: [push]
            template: sale
            frequency_caps:
              - {max: 2, per: calendar_week, category: newsletter}
              - {max: 1, per: 1d, category: transactional}
              - {max: 1, per: 1d, category: "Big Sale"}

            """
        let details = CampaignParser(defaultTimezone: "UTC").parse(text: text, file: "campaigns/flash-sale.yml")
        #expect(details.diagnostics.map(\.description) == [
            "campaigns/flash-sale.yml:6:33: transactional notifications are never capped (cap another category, or leave 'category' out)",
            "campaigns/flash-sale.yml:7:33: invalid category 'Big Sale' (use lowercase letters, digits, '-' and '_', e.g. marketing)",
        ])
        let valid = CampaignParser(defaultTimezone: "UTC").parse(
            text: "campaign: flash-sale\nchannels: [push]\ntemplate: sale\nfrequency_caps:\n  - {max: 2, per: calendar_week, category: newsletter}\n",
            file: "campaigns/flash-sale.yml"
        )
        #expect(valid.campaign?.frequencyCaps == [FrequencyCap(max: 2, per: .calendarWeek, category: "newsletter")])
    }
}
