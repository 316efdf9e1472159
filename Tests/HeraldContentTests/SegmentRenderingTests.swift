import Foundation
import HeraldContent
import HeraldCore
import Testing

/// Texts of only literal text and plain variables are rendered without swift-mustache's dynamic
/// lookups. A trailing comment makes the same text go through swift-mustache, which is the
/// reference: both must print exactly the same thing.
@Suite struct SegmentRenderingTests {
    static let variables: [String: TemplateValue] = [
        "first_name": .string("Ana <\"O'Neil\"> & co"),
        "empty": .string(""),
        "count": .number(3),
        "big": .number(1e20),
        "price": .number(9.5),
        "negative": .number(-2),
        "beta": .bool(true),
        "off": .bool(false),
        "tags": .list([.string("vip"), .number(2), .string("a&b")]),
        "order": .map(["id": .string("A-7"), "total": .number(42.5), "lines": .list([.string("x")]), "ship": .map(["city": .string("Seoul")])]),
        "emoji": .string("🎉 café"),
        "ends_on": .date(CalendarDate(year: 2026, month: 12, day: 7)),
        "starts_at": .time(Date(timeIntervalSince1970: 1_796_634_000)),
        "coats": .money(Money(amount: Decimal(string: "1249.5")!, currency: "USD")),
        "share": .number(0.125),
    ]

    static let sources = [
        "Hi {{first_name}}, {{{first_name}}} {{&first_name}} {{ first_name }}!",
        "[{{empty}}] [{{missing}}] [{{missing.deep}}] [{{first_name.length}}]",
        "{{count}} {{big}} {{price}} {{negative}} {{beta}} {{off}}",
        "{{tags}} / {{{tags}}} / {{tags.items}} / {{tags.count}}",
        "{{order}} {{order.id}} {{order.total}} {{order.lines}} {{order.ship.city}} {{order.nope}} {{.first_name}}",
        "{{link}} {{{link}}} {{unsubscribe_url}} {{link.x}}",
        "line one {{emoji}}\n  {{first_name}}  \n\n{{count}}\nend",
        "no variables at all <b>&amp;</b>",
        "{{date(ends_on)}} {{{long_date(ends_on)}}} {{ time(starts_at) }} {{&weekday(ends_on)}} {{short_date(starts_at)}}",
        "{{currency(coats)}} {{coats}} {{coats.amount}} {{coats.currency}} {{number(big)}} {{number(count)}} {{percent(share)}}",
        "[{{date(first_name)}}] [{{currency(count)}}] [{{time(ends_on)}}] [{{number(missing)}}] {{ends_on}} {{starts_at}}",
        "",
    ]

    @Test(arguments: sources)
    func printsWhatSwiftMustachePrints(source: String) throws {
        func template(_ body: String) -> Template {
            Template(
                name: "t",
                base: TemplateContent(
                    push: PushTemplate(body: text("x", "templates/t.yml", line: 3, column: 9), url: text("https://s.example/?a=1&b=<2>", "templates/t.yml", line: 4, column: 9)),
                    sms: SMSTemplate(body: text(body, "templates/t.yml", line: 5, column: 9)),
                    email: EmailTemplate(subject: text(body, "templates/t.yml", line: 6, column: 9), html: bodyFile(body, "templates/t.html")),
                    file: "templates/t.yml"
                )
            )
        }
        let fast = ContentRenderer(templates: ["t": template(source)])
        let reference = ContentRenderer(templates: ["t": template(source + "{{! rendered by swift-mustache }}")])
        for channel in [Channel.sms, .email] {
            let rendered = try fast.render(template: "t", channel: channel, locale: nil, variables: Self.variables, unsubscribeURL: "https://t.example/u?x=1&y='2'")
            let expected = try reference.render(template: "t", channel: channel, locale: nil, variables: Self.variables, unsubscribeURL: "https://t.example/u?x=1&y='2'")
            #expect(rendered == expected)
        }
    }

    @Test func escapesAndFormatsValuesInAnHTMLBody() throws {
        let template = Template(
            name: "t",
            base: TemplateContent(
                email: EmailTemplate(
                    subject: text("{{first_name}}", "templates/t.yml", line: 3, column: 13),
                    html: bodyFile("<p>{{first_name}}|{{{first_name}}}|{{tags}}|{{order.total}}|{{big}}</p>", "templates/t.html")
                ),
                file: "templates/t.yml"
            )
        )
        let rendered = try ContentRenderer(templates: ["t": template]).render(template: "t", channel: .email, locale: nil, variables: Self.variables)
        guard case .email(let email) = rendered.content else {
            Issue.record("expected an email, got \(rendered.content)")
            return
        }
        #expect(email.subject == "Ana <\"O'Neil\"> & co")
        #expect(email.html == "<p>Ana &lt;&quot;O&#39;Neil&quot;&gt; &amp; co|Ana <\"O'Neil\"> & co|vip, 2, a&amp;b|42.5|1e+20</p>")
    }
}
