import Foundation
import HeraldContent
import HeraldCore
import Testing

/// What recipients read when a template formats dates, numbers and money: exact strings per
/// locale, as Foundation's ICU data on this machine formats them.
@Suite struct FormattingTests {
    /// 2026-12-07, a Monday.
    static let endsOn = TemplateValue.date(CalendarDate(year: 2026, month: 12, day: 7))
    /// 2026-12-07T09:00:00Z.
    static let startsAt = TemplateValue.time(Date(timeIntervalSince1970: 1_796_634_000))
    static let price = TemplateValue.money(Money(amount: Decimal(string: "129.00")!, currency: "USD"))
    static let variables: [String: TemplateValue] = [
        "first_name": .string("Ana"),
        "ends_on": endsOn,
        "starts_at": startsAt,
        "price": price,
        "won": .money(Money(amount: 59_000, currency: "KRW")),
        "count": .number(1_234_567.5),
        "share": .number(0.3),
    ]

    static let helpers = "{{date(ends_on)}}|{{long_date(ends_on)}}|{{short_date(ends_on)}}|{{weekday(ends_on)}}|{{time(starts_at)}}|"
        + "{{number(count)}}|{{currency(price)}}|{{currency(won)}}|{{percent(share)}}"

    /// A template whose SMS is `body` in the base file (English) and in a ko, de and ja file, as a
    /// shop writing in four languages has it.
    static func template(_ body: String, baseLocale: String = "en") -> Template {
        func content(_ file: String) -> TemplateContent {
            TemplateContent(sms: SMSTemplate(body: text(body, file, line: 2, column: 7)), file: file)
        }
        return Template(
            name: "sale",
            base: content("templates/sale.yml"),
            variants: ["ko": content("templates/sale.ko.yml"), "de": content("templates/sale.de.yml"), "ja": content("templates/sale.ja.yml")],
            baseLocale: baseLocale
        )
    }

    func sms(_ template: Template, locale: String?, timeZone: String?, variables: [String: TemplateValue] = FormattingTests.variables) throws -> String {
        let rendered = try ContentRenderer(templates: ["sale": template])
            .render(template: "sale", channel: .sms, locale: locale, timeZone: timeZone, variables: variables)
        guard case .sms(let sms) = rendered.content else {
            Issue.record("expected an sms, got \(rendered.content)")
            return ""
        }
        return sms.body
    }

    @Test(arguments: [
        ("en-US", "America/New_York", "December 7|December 7, 2026|12/7/2026|Monday|4:00 AM|1,234,567.5|$129.00|₩59,000|30%"),
        ("ko-KR", "Asia/Seoul", "12월 7일|2026년 12월 7일|2026. 12. 7.|월요일|오후 6:00|1,234,567.5|US$129.00|₩59,000|30%"),
        ("de-DE", "Europe/Berlin", "7. Dezember|7. Dezember 2026|7.12.2026|Montag|10:00|1.234.567,5|129,00 $|59.000 ₩|30 %"),
        ("ja-JP", "Asia/Tokyo", "12月7日|2026年12月7日|2026/12/7|月曜日|18:00|1,234,567.5|$129.00|₩59,000|30%"),
    ])
    func formatsForTheRecipientsLocaleAndZone(locale: String, timeZone: String, expected: String) throws {
        #expect(try sms(Self.template(Self.helpers), locale: locale, timeZone: timeZone) == expected)
    }

    @Test func writesOrdinarySpacesSoThatAnSMSStaysInGSM7() throws {
        let body = try sms(Self.template(Self.helpers), locale: "en-US", timeZone: "America/New_York")
        #expect(!body.unicodeScalars.contains { $0 == "\u{00A0}" || $0 == "\u{202F}" })
        #expect(try sms(Self.template("{{currency(price)}} {{number(count)}}"), locale: "de-DE", timeZone: nil) == "129,00 $ 1.234.567,5")
    }

    @Test func theKoreanPushOfTheSampleReadsNaturally() throws {
        let template = Template(
            name: "sale",
            base: TemplateContent(push: PushTemplate(body: text("{{first_name}}, everything is {{discount}} off until {{date(ends_on)}}.", line: 3, column: 9)), file: "templates/sale.yml"),
            variants: ["ko": TemplateContent(push: PushTemplate(body: text("{{first_name}}님, {{date(ends_on)}}까지 전 품목 {{discount}} 할인!", "templates/sale.ko.yml", line: 3, column: 9)), file: "templates/sale.ko.yml")]
        )
        let renderer = ContentRenderer(templates: ["sale": template])
        let korean = try renderer.render(
            template: "sale", channel: .push, locale: "ko-KR", timeZone: "Asia/Seoul",
            variables: ["first_name": .string("시우"), "discount": .string("30%"), "ends_on": Self.endsOn]
        )
        #expect(korean.content == .push(PushContent(body: "시우님, 12월 7일까지 전 품목 30% 할인!", variant: TemplateVariant(locale: "ko"))))
        #expect(korean.formattingLocale == "ko-KR")
        let english = try renderer.render(
            template: "sale", channel: .push, locale: "en-US", timeZone: "America/Los_Angeles",
            variables: ["first_name": .string("Ana"), "discount": .string("30%"), "ends_on": Self.endsOn]
        )
        #expect(english.content == .push(PushContent(body: "Ana, everything is 30% off until December 7.", variant: .base)))
    }

    // MARK: - Which locale formats

    @Test func anEnglishFallbackShowsAnEnglishDate() throws {
        // No French file: the French reader gets the English text, with an English date.
        let rendered = try ContentRenderer(templates: ["sale": Self.template("Until {{date(ends_on)}}: {{currency(price)}}")])
            .render(template: "sale", channel: .sms, locale: "fr-FR", timeZone: "Europe/Paris", variables: Self.variables)
        #expect(rendered.content == .sms(SMSContent(body: "Until December 7: $129.00", variant: .base)))
        #expect(rendered.formattingLocale == "en")
        #expect(rendered.variant.isBase)
    }

    @Test func aReaderOfTheBaseLanguageGetsTheirOwnRegionsFormat() throws {
        #expect(try sms(Self.template("{{date(ends_on)}} {{currency(price)}}"), locale: "en-GB", timeZone: "Europe/London") == "7 December US$129.00")
        #expect(try sms(Self.template("{{date(ends_on)}} {{currency(price)}}"), locale: "ko-KP", timeZone: nil) == "12월 7일 US$129.00")
    }

    @Test func theBaseFilesLocaleFormatsForRecipientsWithoutOne() throws {
        #expect(try sms(Self.template("{{date(ends_on)}}"), locale: nil, timeZone: nil) == "December 7")
        #expect(try sms(Self.template("{{date(ends_on)}}", baseLocale: "ko"), locale: nil, timeZone: nil) == "12월 7일")
        #expect(try sms(Self.template("{{date(ends_on)}}", baseLocale: "ko"), locale: "ko-KR", timeZone: nil) == "12월 7일")
        #expect(try sms(Self.template("{{date(ends_on)}}", baseLocale: "ko"), locale: "fr-FR", timeZone: nil) == "12월 7일")
    }

    @Test func aDateIsTheSameDayInEveryZoneAndAnInstantIsTheRecipientsDay() throws {
        let template = Self.template("{{date(ends_on)}} / {{date(late)}} {{time(late)}}")
        // 2026-12-07T20:00:00Z: still the 7th in Los Angeles, already the 8th in Seoul and Kiritimati.
        var variables = Self.variables
        variables["late"] = .time(Date(timeIntervalSince1970: 1_796_673_600))
        #expect(try sms(template, locale: "en-US", timeZone: "America/Los_Angeles", variables: variables) == "December 7 / December 7 12:00 PM")
        #expect(try sms(template, locale: "ko-KR", timeZone: "Asia/Seoul", variables: variables) == "12월 7일 / 12월 8일 오전 5:00")
        #expect(try sms(template, locale: "en-US", timeZone: "Pacific/Kiritimati", variables: variables) == "December 7 / December 8 10:00 AM")
        #expect(try sms(template, locale: "en-US", timeZone: "Pacific/Pago_Pago", variables: variables) == "December 7 / December 7 9:00 AM")
    }

    @Test func aRecipientWithoutAValidZoneGetsTheDefaultOne() throws {
        let template = Self.template("{{time(starts_at)}}")
        let seoul = ContentRenderer(templates: ["sale": template], configuration: ContentRenderer.Configuration(defaultTimeZone: "Asia/Seoul"))
        for zone in [nil, "", "Mars/Olympus_Mons"] {
            let rendered = try seoul.render(template: "sale", channel: .sms, locale: "en-US", timeZone: zone, variables: Self.variables)
            #expect(rendered.content == .sms(SMSContent(body: "6:00 PM", variant: .base)), "zone \(String(describing: zone))")
        }
        #expect(try sms(template, locale: "en-US", timeZone: nil) == "9:00 AM")
    }

    // MARK: - Plain values and other kinds

    @Test func plainValuesPrintAsWrittenAndMoneyAsCurrency() throws {
        let body = "{{ends_on}} {{starts_at}} {{price}} {{price.amount}} {{price.currency}} {{count}}"
        #expect(try sms(Self.template(body), locale: "ko-KR", timeZone: "Asia/Seoul") == "2026-12-07 2026-12-07T09:00:00Z US$129.00 129 USD 1234567.5")
    }

    @Test func aHelperOnAValueOfAnotherKindRendersEmpty() throws {
        // herald validate reports these when the values are known; request data may still differ.
        let body = "[{{date(first_name)}}][{{currency(count)}}][{{time(ends_on)}}][{{number(missing)}}]"
        let rendered = try ContentRenderer(templates: ["sale": Self.template(body)])
            .render(template: "sale", channel: .sms, locale: "en-US", variables: Self.variables)
        #expect(rendered.content == .sms(SMSContent(body: "[][][][]", variant: .base)))
        #expect(rendered.missingVariables == ["missing"])
    }

    @Test func helpersWorkInSectionsAndInsideOtherTransforms() throws {
        let body = "{{#items}}{{name}} {{currency(price)}}; {{/items}}{{uppercased(weekday(ends_on))}} {{plusone(seats)}}"
        var variables = Self.variables
        variables["items"] = .list([
            .map(["name": .string("Coat"), "price": .money(Money(amount: 49, currency: "EUR"))]),
            .map(["name": .string("Boots"), "price": .money(Money(amount: Decimal(string: "89.5")!, currency: "EUR"))]),
        ])
        variables["seats"] = .number(2)
        #expect(try sms(Self.template(body), locale: "de-DE", timeZone: nil, variables: variables) == "Coat 49,00 €; Boots 89,50 €; MONTAG 3")
    }

    // MARK: - Many recipients at once

    @Test(.timeLimit(.minutes(4))) func formattersAreSharedSafelyByConcurrentRenders() async throws {
        let template = Self.template(Self.helpers + "|{{date(seen)}} {{time(seen)}}")
        let locales = ["en-US", "ko-KR", "de-DE", nil]
        let zones = ["Asia/Seoul", nil, "Nowhere/Else"]
        // A distinct instant per recipient: each (locale, zone) formatter remembers two results
        // per render, so 600 renders each fill and empty its memo while other tasks read it.
        let count = 7200
        let seen = (0..<count).map { TemplateValue.time(Date(timeIntervalSince1970: 1_796_000_000 + Double($0) * 3_917)) }
        func variables(_ index: Int) -> [String: TemplateValue] {
            var variables = Self.variables
            variables["seen"] = seen[index % seen.count]
            return variables
        }
        func recipient(_ index: Int) -> (locale: String?, zone: String?) {
            (locales[index % locales.count], zones[(index / locales.count) % zones.count])
        }
        // What one renderer used by one task prints, recipient by recipient.
        let reference = ContentRenderer(templates: ["sale": template])
        var expected: [String] = []
        for index in 0..<count {
            let (locale, zone) = recipient(index)
            let rendered = try reference.render(template: "sale", channel: .sms, locale: locale, timeZone: zone, variables: variables(index))
            expected.append(rendered.content.summary)
        }
        let shared = ContentRenderer(templates: ["sale": template])
        let results = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var results: [(Int, String)] = []
                    for index in stride(from: worker, to: count, by: 8) {
                        let (locale, zone) = recipient(index)
                        let rendered = try shared.render(template: "sale", channel: .sms, locale: locale, timeZone: zone, variables: variables(index))
                        results.append((index, rendered.content.summary))
                    }
                    return results
                }
            }
            var all = [String](repeating: "", count: count)
            for try await results in group {
                for (index, text) in results { all[index] = text }
            }
            return all
        }
        #expect(results == expected)
        #expect(Set(expected).count > 7000)
    }
}
