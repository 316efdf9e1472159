import Foundation
import HeraldContent
import HeraldCore
import Testing

@Suite struct TemplateCheckerTests {
    static let restockHTMLWithMistakes = """
        <h1>{{item_name}}</h1>
        <p>Hi {{first_name}}, your plan: {{plan}}.</p>
        {{#picks}}
          <li>{{name}}: {{pric}} {{first_name}} {{cupon}}</li>
        {{/picks}}
        {{#wishlist}}<li>{{title}}</li>{{/wishlist}}
        {{^beta}}Join {{lifetime_valeu}}{{/beta}}
        <a href="{{{unsubscribe_url}}}">Unsubscribe</a> {{order.id}}
        {{#tags}}{{.}} {{taggs}}{{/tags}}
        """

    static func workspace() -> Workspace {
        let restock = Template(
            name: "restock",
            base: TemplateContent(
                push: PushTemplate(
                    title: text("{{item_name}} is back", line: 3, column: 11),
                    body: text("Order by {{order_by}}, {{frist_name}}.", line: 4, column: 10),
                    url: text("https://shop.example.com/items/{{sku}}", line: 5, column: 9)
                ),
                sms: SMSTemplate(body: text("{{item_name}} is back. Order: {{link}} Reply STOP to opt out", line: 8, column: 10)),
                email: EmailTemplate(
                    subject: text("{{item_name}} is back for {{first_name}} in {{country}}", line: 10, column: 13),
                    html: bodyFile(restockHTMLWithMistakes, "templates/restock.html")
                ),
                file: "templates/restock.yml"
            ),
            variants: [
                "ko": TemplateContent(
                    push: PushTemplate(
                        title: text("{{item_nam}} 재입고", "templates/restock.ko.yml", line: 3, column: 11),
                        body: text("{{first_name}}님, {{order_by}}까지 주문하세요.", "templates/restock.ko.yml", line: 4, column: 10)
                    ),
                    file: "templates/restock.ko.yml"
                )
            ]
        )
        let cart = Template(
            name: "cart",
            base: TemplateContent(
                sms: SMSTemplate(body: text("Your cart: {{cart_total}} {{first_name}}", "templates/cart.yml", line: 3, column: 10)),
                file: "templates/cart.yml"
            )
        )
        let broken = Template(
            name: "broken",
            base: TemplateContent(
                sms: SMSTemplate(body: text("Hi {{#vip}}there", "templates/broken.yml", line: 3, column: 10)),
                email: EmailTemplate(html: bodyFile("<p>{{> footer}}</p>", "templates/broken.html")),
                file: "templates/broken.yml"
            )
        )
        let promo = Template(
            name: "promo",
            base: TemplateContent(sms: SMSTemplate(body: text("Sale! {{link}}", "templates/promo.yml", line: 3, column: 10)), file: "templates/promo.yml")
        )
        let configuration = HeraldConfiguration(
            attributes: AttributeSchema([
                AttributeDefinition(name: "country", type: .string),
                AttributeDefinition(name: "plan", type: .string, allowedValues: ["free", "pro"]),
                AttributeDefinition(name: "tags", type: .list(.string)),
                AttributeDefinition(name: "beta", type: .bool),
                AttributeDefinition(name: "lifetime_value", type: .number),
            ])
        )
        let sharedParams: [String: TemplateValue] = ["item_name": .string("Air Max 90"), "order_by": .string("2026-12-01")]
        var airMaxParams = sharedParams
        airMaxParams["sku"] = .string("sku-123")
        airMaxParams["picks"] = .list([.map(["name": .string("Cap"), "price": .number(20)]), .map(["name": .string("Tee")])])
        return Workspace(
            root: "/tmp/shop",
            configuration: configuration,
            campaigns: [
                Campaign(id: "cart-reminder", channels: [.sms], template: "cart", schedule: .trigger(event: "cart_abandoned", delay: nil), file: "campaigns/cart-reminder.yml"),
                Campaign(id: "promo-blast", channels: [.sms], template: "promo", schedule: .manual, file: "campaigns/promo-blast.yml"),
                Campaign(id: "receipt", category: "transactional", channels: [.sms], template: "cart", schedule: .manual, file: "campaigns/receipt.yml"),
                Campaign(
                    id: "restock-air-max",
                    channels: [.push, .email],
                    template: "restock",
                    params: airMaxParams,
                    schedule: .at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 9), zone: .recipient),
                    file: "campaigns/restock-air-max.yml"
                ),
                Campaign(id: "restock-weekly", channels: [.sms], template: "restock", params: sharedParams, schedule: .manual, file: "campaigns/restock-weekly.yml"),
            ],
            templates: ["restock": restock, "cart": cart, "broken": broken, "promo": promo]
        )
    }

    @Test func reportsEveryTemplateProblemAtItsFilePosition() {
        let diagnostics = TemplateChecker.check(Self.workspace())
        let unknown = "not a user field, declared attribute, campaign param or built-in variable"
        #expect(
            diagnostics.map(\.description) == [
                "templates/broken.html:1:4: unsupported partial '{{> footer}}' in email.html (a template cannot include another template)",
                "templates/broken.yml:3:13: invalid Mustache in sms.body: section 'vip' is never closed (expected '{{/vip}}')",
                "templates/cart.yml:3:21: warning: unknown variable 'cart_total' in sms.body (renders empty unless the send request supplies it)",
                "templates/promo.yml:3:16: warning: variable 'link' in sms.body renders empty (template 'promo' has no push url)",
                "templates/restock.html:4:17: unknown variable 'pric' in email.html (did you mean 'price'?)",
                "templates/restock.html:4:41: unknown variable 'cupon' in email.html (\(unknown))",
                "templates/restock.html:6:1: unknown variable 'wishlist' in email.html (\(unknown))",
                "templates/restock.html:7:15: unknown variable 'lifetime_valeu' in email.html (did you mean 'lifetime_value'?)",
                "templates/restock.html:8:49: unknown variable 'order' in email.html (\(unknown))",
                "templates/restock.html:9:16: unknown variable 'taggs' in email.html (did you mean 'tags'?)",
                "templates/restock.ko.yml:3:11: unknown variable 'item_nam' in push.title (did you mean 'item_name'?)",
                "templates/restock.yml:4:33: unknown variable 'frist_name' in push.body (did you mean 'first_name'?)",
                "templates/restock.yml:5:40: unknown variable 'sku' in push.url for campaign 'restock-weekly' (\(unknown))",
            ]
        )
        #expect(diagnostics.filter { $0.severity == .warning }.count == 2)
    }

    @Test func acceptsACleanWorkspace() {
        let template = restockTemplate()
        let workspace = Workspace(
            root: "/tmp/shop",
            configuration: HeraldConfiguration(),
            campaigns: [
                Campaign(
                    id: "restock-air-max",
                    channels: [.push, .sms, .email],
                    template: "restock",
                    params: ["item_name": .string("Air Max 90"), "order_by": .string("2026-12-01"), "sku": .string("sku-123")],
                    schedule: .manual,
                    file: "campaigns/restock-air-max.yml"
                )
            ],
            templates: ["restock": template]
        )
        #expect(TemplateChecker.check(workspace) == [])
    }

    @Test func checksOnlyTheChannelsACampaignSends() {
        var workspace = Self.workspace()
        workspace.campaigns = workspace.campaigns.filter { $0.id == "restock-weekly" }
        workspace.templates = ["restock": workspace.templates["restock"]!]
        // restock-weekly sends sms only: the push.url is checked because the sms uses {{link}};
        // the push title and body and the email are not.
        #expect(
            TemplateChecker.check(workspace).map(\.description) == [
                "templates/restock.yml:5:40: unknown variable 'sku' in push.url (not a user field, declared attribute, campaign param or built-in variable)"
            ]
        )
    }

    @Test func reportsAnUnknownVariableOnceForCampaignsThatShareATemplate() {
        var workspace = Self.workspace()
        for index in workspace.campaigns.indices {
            workspace.campaigns[index].schedule = .manual
            workspace.campaigns[index].category = Campaign.marketingCategory
        }
        let cart = TemplateChecker.check(workspace).filter { $0.location?.file == "templates/cart.yml" }
        #expect(
            cart.map(\.description) == [
                "templates/cart.yml:3:21: unknown variable 'cart_total' in sms.body (not a user field, declared attribute, campaign param or built-in variable)"
            ]
        )
        #expect(cart.first?.location == SourceLocation(file: "templates/cart.yml", line: 3, column: 21))
    }

    @Test(arguments: [
        ("Hi {{/vip}}", "templates/x.yml:3:13: invalid Mustache in sms.body: '{{/vip}}' closes a section that is not open"),
        ("{{#a}}{{#b}}{{/a}}{{/b}}", "templates/x.yml:3:22: invalid Mustache in sms.body: '{{/a}}' does not close the open section 'b' (expected '{{/b}}')"),
        ("Hi {{first name}}", "templates/x.yml:3:13: invalid Mustache in sms.body: badly formed tag (a name is letters, digits, '_', '-' or '.', closed by '}}')"),
        ("Hi {{{first_name}}", "templates/x.yml:3:13: invalid Mustache in sms.body: a tag is not closed (expected '}}')"),
        ("{{% FOO: bar}}", "templates/x.yml:3:10: invalid Mustache in sms.body: unknown pragma (expected 'CONTENT_TYPE: TEXT' or 'CONTENT_TYPE: HTML')"),
        ("{{=<% %>=}}<%first_name%> <%#vip%>", "templates/x.yml:3:36: invalid Mustache in sms.body: section 'vip' is never closed (expected '{{/vip}}')"),
    ])
    func reportsCompileErrors(source: String, expected: String) {
        let workspace = Workspace(
            root: "/tmp/shop",
            configuration: HeraldConfiguration(),
            templates: ["x": Template(name: "x", base: TemplateContent(sms: SMSTemplate(body: text(source, "templates/x.yml", line: 3, column: 10)), file: "templates/x.yml"))]
        )
        #expect(TemplateChecker.check(workspace).map(\.description) == [expected])
    }

    @Test func placesVariablesInBlockScalarsByTheirLine() {
        // body: |
        //   Hi {{first_name}},
        //   your {{itm}} is back.
        // The text starts at line 6, column 3; its second line is indented like the first.
        let template = Template(
            name: "note",
            base: TemplateContent(sms: SMSTemplate(body: text("Hi {{first_name}},\nyour {{itm}} is back.\n", "templates/note.yml", line: 6, column: 3)), file: "templates/note.yml")
        )
        let workspace = Workspace(
            root: "/tmp/shop",
            configuration: HeraldConfiguration(),
            campaigns: [Campaign(id: "note", channels: [.sms], template: "note", params: ["item": .string("Cap")], schedule: .manual, file: "campaigns/note.yml")],
            templates: ["note": template]
        )
        #expect(
            TemplateChecker.check(workspace).map(\.description) == [
                "templates/note.yml:7:8: unknown variable 'itm' in sms.body (did you mean 'item'?)"
            ]
        )
    }

    @Test func listsTheBuiltInsThatValidateAccepts() {
        #expect(BuiltInVariable.all.map(\.name) == ["link", "unsubscribe_url"])
        #expect(User.templateFieldNames == ["id", "email", "phone", "locale", "timezone", "first_name", "last_name", "created_at"])
    }
}

/// The checks of transforms: names that exist, applied to values they format.
@Suite struct TransformCheckTests {
    static let configuration = HeraldConfiguration(
        attributes: AttributeSchema([
            AttributeDefinition(name: "plan", type: .string),
            AttributeDefinition(name: "last_seen_at", type: .time),
            AttributeDefinition(name: "lifetime_value", type: .number),
        ])
    )

    static let params: [String: TemplateValue] = [
        "discount": .string("30%"),
        "ends_on": .date(CalendarDate(year: 2026, month: 12, day: 7)),
        "price": .money(Money(amount: 129, currency: "USD")),
        "items": .list([.map(["name": .string("Coat"), "price": .money(Money(amount: 49, currency: "USD"))])]),
    ]

    /// A workspace with one campaign sending `sms` (templates/sale.yml, line 3, column 10) and,
    /// when given, a ko file's sms (templates/sale.ko.yml, line 2, column 10).
    static func workspace(
        sms: String, korean: String? = nil, params: [String: TemplateValue] = params,
        localeParams: [String: [String: TemplateValue]] = [:], schedule: Schedule = .manual
    ) -> Workspace {
        var variants: [String: TemplateContent] = [:]
        if let korean {
            variants["ko"] = TemplateContent(sms: SMSTemplate(body: text(korean, "templates/sale.ko.yml", line: 2, column: 10)), file: "templates/sale.ko.yml")
        }
        let template = Template(
            name: "sale",
            base: TemplateContent(sms: SMSTemplate(body: text(sms, "templates/sale.yml", line: 3, column: 10)), file: "templates/sale.yml"),
            variants: variants
        )
        return Workspace(
            root: "/tmp/shop",
            configuration: configuration,
            campaigns: [
                Campaign(
                    id: "winter-sale", channels: [.sms], template: "sale", params: params, localeParams: localeParams,
                    schedule: schedule, file: "campaigns/winter-sale.yml"
                )
            ],
            templates: ["sale": template]
        )
    }

    func check(_ workspace: Workspace) -> [String] {
        TemplateChecker.check(workspace).map(\.description)
    }

    @Test func acceptsHelpersOnTheValuesTheyFormat() {
        let sms = "{{date(ends_on)}} {{long_date(last_seen_at)}} {{time(created_at)}} {{currency(price)}} {{number(lifetime_value)}} "
            + "{{uppercased(weekday(ends_on))}} {{#items}}{{currency(price)}}{{/items}} {{count(items)}} {{number(price.amount)}} {{uppercased(plan)}}"
        #expect(check(Self.workspace(sms: sms)) == [])
    }

    @Test func reportsAnUnknownTransformWithASuggestion() {
        #expect(check(Self.workspace(sms: "Ends {{dat(ends_on)}}, {{upercased(first_name)}} {{formatted(price)}}")) == [
            "templates/sale.yml:3:15: unknown transform 'dat' in sms.body (did you mean 'date'?)",
            "templates/sale.yml:3:33: unknown transform 'upercased' in sms.body (did you mean 'uppercased'?)",
            "templates/sale.yml:3:59: unknown transform 'formatted' in sms.body (expected one of: date, long_date, short_date, weekday, time, number, percent, currency, "
                + "capitalized, lowercased, uppercased, reversed, empty, first, last, count, plusone, minusone, equalzero, even, odd)",
        ])
    }

    @Test func reportsAHelperAppliedToAParamOfAnotherKind() {
        #expect(check(Self.workspace(sms: "{{percent(discount)}} off until {{time(ends_on)}}; from {{date(price)}}")) == [
            "templates/sale.yml:3:10: transform 'percent' does not apply to 'discount' in sms.body: it is text, not a number "
                + "('discount' is '30%' in params; write a number without quotes)",
            "templates/sale.yml:3:42: transform 'time' does not apply to 'ends_on' in sms.body: it is a date, not an instant "
                + "('ends_on' is '2026-12-07' in params; write an instant such as 2026-12-07T18:00:00+09:00, without quotes)",
            "templates/sale.yml:3:66: transform 'date' does not apply to 'price' in sms.body: it is money, not a date or an instant "
                + "('price' is '129 USD' in params; write a date such as 2026-12-07, or an instant such as 2026-12-07T18:00:00+09:00, without quotes)",
        ])
    }

    @Test func reportsAHelperAppliedToAnAttributeOrUserFieldOfAnotherKind() {
        #expect(check(Self.workspace(sms: "{{date(plan)}} {{currency(lifetime_value)}} {{number(first_name)}}")) == [
            "templates/sale.yml:3:10: transform 'date' does not apply to 'plan' in sms.body: it is text, not a date or an instant ('plan' is a string attribute in herald.yml)",
            "templates/sale.yml:3:25: transform 'currency' does not apply to 'lifetime_value' in sms.body: it is a number, not money ('lifetime_value' is a number attribute in herald.yml)",
            "templates/sale.yml:3:54: transform 'number' does not apply to 'first_name' in sms.body: it is text, not a number ('first_name' is a user field)",
        ])
    }

    @Test func checksWhatEachTransformOfAChainIsGiven() {
        #expect(check(Self.workspace(sms: "{{date(uppercased(ends_on))}} {{plusone(date(ends_on))}}")) == [
            "templates/sale.yml:3:10: transform 'uppercased' does not apply to 'ends_on' in sms.body: it is a date, not text ('ends_on' is '2026-12-07' in params)",
            "templates/sale.yml:3:40: transform 'plusone' does not apply to the result of 'date' in sms.body: it is text, not a number "
                + "('ends_on' is '2026-12-07' in params; write a number without quotes)",
        ])
    }

    @Test func checksEveryLocaleOfLocaleParamsWithTheFileThatLocaleReads() {
        let localeParams: [String: [String: TemplateValue]] = ["ko": ["ends_on": .string("12월 7일")]]
        // Korean readers get the base text, with a text ends_on: date() would render empty.
        #expect(check(Self.workspace(sms: "Until {{date(ends_on)}}", localeParams: localeParams)) == [
            "templates/sale.yml:3:16: transform 'date' does not apply to 'ends_on' in sms.body: for ko it is text, not a date or an instant "
                + "('ends_on' is '12월 7일' in locale_params.ko; write a date such as 2026-12-07, or an instant such as 2026-12-07T18:00:00+09:00, without quotes)"
        ])
        // With a Korean file that prints it as written, every reader gets what they should.
        #expect(check(Self.workspace(sms: "Until {{date(ends_on)}}", korean: "{{ends_on}}까지", localeParams: localeParams)) == [])
        // A Korean file that formats it is wrong for Korean readers only.
        #expect(check(Self.workspace(sms: "Until {{date(ends_on)}}", korean: "{{date(ends_on)}}까지", localeParams: localeParams)) == [
            "templates/sale.ko.yml:2:10: transform 'date' does not apply to 'ends_on' in sms.body: for ko it is text, not a date or an instant "
                + "('ends_on' is '12월 7일' in locale_params.ko; write a date such as 2026-12-07, or an instant such as 2026-12-07T18:00:00+09:00, without quotes)"
        ])
    }

    @Test func namesTheCampaignWhenCampaignsThatShareATemplateDisagree() {
        var workspace = Self.workspace(sms: "{{percent(discount)}} off")
        var fraction = workspace.campaigns[0]
        fraction.id = "spring-sale"
        fraction.file = "campaigns/spring-sale.yml"
        fraction.params["discount"] = .number(0.3)
        workspace.campaigns.append(fraction)
        #expect(check(workspace) == [
            "templates/sale.yml:3:10: transform 'percent' does not apply to 'discount' in sms.body for campaign 'winter-sale': it is text, not a number "
                + "('discount' is '30%' in params; write a number without quotes)"
        ])
    }

    @Test func leavesValuesThatOnlyTheRequestKnowsToSendTime() {
        // A triggered campaign may get order_date from the event: only the unknown name is a warning.
        #expect(check(Self.workspace(sms: "{{date(order_date)}}", schedule: .trigger(event: "order_shipped", delay: nil))) == [
            "templates/sale.yml:3:10: warning: unknown variable 'order_date' in sms.body (renders empty unless the send request supplies it)"
        ])
    }
}
