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
