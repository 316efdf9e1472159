import HeraldContent
import HeraldCore
import Testing

@Suite struct ContentRendererTests {
    let renderer = ContentRenderer(templates: ["restock": restockTemplate()])

    @Test func rendersPushWithURLAndData() throws {
        let rendered = try renderer.render(template: "restock", channel: .push, locale: nil, variables: ana)
        #expect(
            rendered.content
                == .push(
                    PushContent(
                        title: "Air Max 90 is back",
                        body: "Order by 2026-12-01, Ana.",
                        url: "https://shop.example.com/items/sku-123",
                        data: ["sku": "sku-123", "campaign": "restock"],
                        variant: .base
                    )
                )
        )
        #expect(rendered.missingVariables == [])
    }

    @Test func pushSettingsAreRenderedAndAnEmptyOneIsLeftOut() throws {
        var template = restockTemplate()
        template.base.push?.badge = 2
        template.base.push?.sound = text("default", line: 7, column: 10)
        template.base.push?.threadID = text("restock-{{sku}}", line: 8, column: 14)
        template.base.push?.collapseKey = text("{{sku}}", line: 9, column: 17)
        template.base.push?.image = text("{{image_url}}", line: 10, column: 10)
        template.base.push?.ttl = 3600
        template.base.push?.priority = .normal
        template.variants["ko"]?.push?.badge = 5
        let renderer = ContentRenderer(templates: ["restock": template])
        let rendered = try renderer.render(template: "restock", channel: .push, locale: nil, variables: ana)
        guard case .push(let push) = rendered.content else {
            Issue.record("expected a push, got \(rendered.content)")
            return
        }
        #expect(push.badge == 2)
        #expect(push.sound == "default")
        #expect(push.threadID == "restock-sku-123")
        #expect(push.collapseKey == "sku-123")
        #expect(push.ttl == 3600)
        #expect(push.priority == .normal)
        // {{image_url}} is not set for Ana: no image, rather than an empty URL.
        #expect(push.image == nil)
        #expect(rendered.missingVariables == ["image_url"])
        let korean = try renderer.render(template: "restock", channel: .push, locale: "ko-KR", variables: ana)
        guard case .push(let koreanPush) = korean.content else { return }
        #expect(koreanPush.badge == 5)
        #expect(koreanPush.sound == "default")
    }

    @Test func rendersSMSWithLinkFromThePushURL() throws {
        let rendered = try renderer.render(template: "restock", channel: .sms, locale: "en-US", variables: ana)
        #expect(rendered.content == .sms(SMSContent(body: "Air Max 90 is back. Order: https://shop.example.com/items/sku-123 Reply STOP to opt out", variant: .base)))
        #expect(rendered.missingVariables == [])
    }

    @Test func rendersEmailWithDerivedText() throws {
        let rendered = try renderer.render(
            template: "restock",
            channel: .email,
            locale: nil,
            variables: ana,
            unsubscribeURL: "https://t.example.com/u/abc"
        )
        let html = """
            <html><head><title>Restock</title><style>p { color: red; }</style></head>
            <body>
            <h1>Air Max 90 is back</h1>
            <p>Hi Ana,</p>
            <p>Good news: the <b>Air Max 90</b> is in stock again.
            Order by 2026-12-01 &mdash; stock is limited.</p>
            <p><a href="https://shop.example.com/items/sku-123">Shop now</a></p>
            <p><a href="https://t.example.com/u/abc">Unsubscribe</a></p>
            </body></html>
            """
        let text = """
            Air Max 90 is back

            Hi Ana,

            Good news: the Air Max 90 is in stock again. Order by 2026-12-01 \u{2014} stock is limited.

            Shop now (https://shop.example.com/items/sku-123)

            Unsubscribe (https://t.example.com/u/abc)
            """
        #expect(rendered.content == .email(EmailContent(subject: "Air Max 90 is back in stock", html: html, text: text, variant: .base)))
    }

    @Test func rendersTheEmailTextPartWhenTheTemplateHasOne() throws {
        let template = restockTemplate(
            html: "<p>Hi {{first_name}}</p>",
            emailText: bodyFile("Hi {{first_name}} & welcome to {{item_name}}.\n", "templates/restock.txt")
        )
        let renderer = ContentRenderer(templates: ["restock": template])
        var variables = ana
        variables["first_name"] = .string("Ana & <Bo>")
        let rendered = try renderer.render(template: "restock", channel: .email, locale: nil, variables: variables)
        #expect(
            rendered.content
                == .email(
                    EmailContent(
                        subject: "Air Max 90 is back in stock",
                        html: "<p>Hi Ana &amp; &lt;Bo&gt;</p>",
                        text: "Hi Ana & <Bo> & welcome to Air Max 90.\n",
                        variant: .base
                    )
                )
        )
    }

    @Test func rendersATextOnlyEmail() throws {
        let template = Template(
            name: "receipt",
            base: TemplateContent(
                email: EmailTemplate(
                    subject: text("Receipt {{order_id}}", "templates/receipt.yml", line: 3, column: 13),
                    text: bodyFile("Thanks, {{first_name}}!", "templates/receipt.txt")
                ),
                file: "templates/receipt.yml"
            )
        )
        let renderer = ContentRenderer(templates: ["receipt": template])
        let rendered = try renderer.render(
            template: "receipt",
            channel: .email,
            locale: nil,
            variables: ["first_name": .string("Ana"), "order_id": .number(1042)]
        )
        #expect(rendered.content == .email(EmailContent(subject: "Receipt 1042", html: nil, text: "Thanks, Ana!", variant: .base)))
    }

    @Test func escapesHTMLOnlyInTheEmailHTMLBody() throws {
        let template = restockTemplate(html: "<p>Hi {{first_name}}, {{{first_name}}}</p>")
        let renderer = ContentRenderer(templates: ["restock": template])
        var variables = ana
        variables["first_name"] = .string("<script>alert('x')</script>")
        variables["item_name"] = .string("\"Air\" & <Max>")

        let email = try renderer.render(template: "restock", channel: .email, locale: nil, variables: variables)
        #expect(
            email.content
                == .email(
                    EmailContent(
                        subject: "\"Air\" & <Max> is back in stock",
                        html: "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;, <script>alert('x')</script></p>",
                        text: "Hi <script>alert('x')</script>,",
                        variant: .base
                    )
                )
        )

        let sms = try renderer.render(template: "restock", channel: .sms, locale: nil, variables: variables)
        #expect(sms.content == .sms(SMSContent(body: "\"Air\" & <Max> is back. Order: https://shop.example.com/items/sku-123 Reply STOP to opt out", variant: .base)))

        let push = try renderer.render(template: "restock", channel: .push, locale: nil, variables: variables)
        guard case .push(let content) = push.content else {
            Issue.record("expected a push, got \(push.content)")
            return
        }
        #expect(content.title == "\"Air\" & <Max> is back")
        #expect(content.body == "Order by 2026-12-01, <script>alert('x')</script>.")
    }

    /// Each character that HTML escaping covers, alone in a value: a value with only `'` (an
    /// apostrophe in a name) must be escaped as surely as one that also has `<` or `&`.
    @Test(arguments: [
        ("O'Neil", "O&#39;Neil"), ("say \"hi\"", "say &quot;hi&quot;"), ("Tom & Jerry", "Tom &amp; Jerry"),
        ("1 < 2", "1 &lt; 2"), ("2 > 1", "2 &gt; 1"),
    ])
    func escapesEachSpecialCharacterOfTheHTMLBodyEvenAlone(value: String, escaped: String) throws {
        var variables = ana
        variables["first_name"] = .string(value)
        // A body of plain variables and one with a section are rendered by different code.
        for (html, expected) in [
            ("<p title=\"{{first_name}}\">{{first_name}}</p>", "<p title=\"\(escaped)\">\(escaped)</p>"),
            ("{{#item_name}}<p>{{first_name}}</p>{{/item_name}}", "<p>\(escaped)</p>"),
        ] {
            let renderer = ContentRenderer(templates: ["restock": restockTemplate(html: html)])
            let email = try renderer.render(template: "restock", channel: .email, locale: nil, variables: variables)
            #expect(email.content == .email(EmailContent(subject: "Air Max 90 is back in stock", html: expected, text: value, variant: .base)), "\(html)")
        }
    }

    @Test func picksTheLanguageVariantForARegionalLocale() throws {
        let rendered = try renderer.render(template: "restock", channel: .push, locale: "ko-KR", variables: ana)
        // The ko file overrides title and body; url and data come from the base file.
        #expect(
            rendered.content
                == .push(
                    PushContent(
                        title: "Air Max 90 재입고",
                        body: "Ana님, 2026-12-01까지 주문하세요.",
                        url: "https://shop.example.com/items/sku-123",
                        data: ["sku": "sku-123", "campaign": "restock"],
                        variant: TemplateVariant(locale: "ko")
                    )
                )
        )
    }

    @Test func fallsBackToTheBaseFileWhenNoVariantMatches() throws {
        // pt-BR has only an sms variant; there is no pt variant: the push is the base one.
        let push = try renderer.render(template: "restock", channel: .push, locale: "pt-BR", variables: ana)
        #expect(push.content == .push(PushContent(title: "Air Max 90 is back", body: "Order by 2026-12-01, Ana.", url: "https://shop.example.com/items/sku-123", data: ["sku": "sku-123", "campaign": "restock"], variant: .base)))
        let sms = try renderer.render(template: "restock", channel: .sms, locale: "pt-BR", variables: ana)
        #expect(sms.content == .sms(SMSContent(body: "Air Max 90 voltou! https://shop.example.com/items/sku-123", variant: TemplateVariant(locale: "pt-BR"))))
        let portuguese = try renderer.render(template: "restock", channel: .sms, locale: "pt-PT", variables: ana)
        #expect(portuguese.content == .sms(SMSContent(body: "Air Max 90 is back. Order: https://shop.example.com/items/sku-123 Reply STOP to opt out", variant: .base)))
    }

    @Test(arguments: ["ko", "KO-kr", "ko-KR", "pt-br", "pt", "en", "", "-", "ko-"])
    func matchesTemplateContentForAnyLocale(locale: String) throws {
        let template = restockTemplate()
        let renderer = ContentRenderer(templates: ["restock": template])
        let expected = ContentRenderer(templates: ["restock": Template(name: "restock", base: template.content(for: locale))])
        for channel in Channel.allCases {
            var rendered = try renderer.render(template: "restock", channel: channel, locale: locale, variables: ana).content
            var reference = try expected.render(template: "restock", channel: channel, locale: nil, variables: ana).content
            // The flattened template has no variants: only the file the content names differs.
            #expect(reference.variant == .base)
            rendered.variant = nil
            reference.variant = nil
            #expect(rendered == reference, "\(channel) for locale '\(locale)'")
        }
    }

    @Test func rendersMissingVariablesAsEmptyAndReportsThem() throws {
        let rendered = try renderer.render(
            template: "restock",
            channel: .push,
            locale: nil,
            variables: ["item_name": .string("Air Max 90")]
        )
        #expect(
            rendered.content
                == .push(
                    PushContent(
                        title: "Air Max 90 is back",
                        body: "Order by , .",
                        url: "https://shop.example.com/items/",
                        data: ["sku": "", "campaign": "restock"],
                        variant: .base
                    )
                )
        )
        #expect(rendered.missingVariables == ["sku", "order_by", "first_name"])
    }

    @Test func reportsMissingDottedNamesButNotSectionsOrBuiltIns() throws {
        let template = Template(
            name: "order",
            base: TemplateContent(
                sms: SMSTemplate(
                    body: text(
                        "{{order.id}} {{order.total}}{{#coupon}} code {{coupon}}{{/coupon}}{{^vip}} (not vip){{/vip}}{{#items}} {{name}}{{/items}} {{unsubscribe_url}}{{link}}",
                        "templates/order.yml", line: 3, column: 10
                    )
                ),
                file: "templates/order.yml"
            )
        )
        let renderer = ContentRenderer(templates: ["order": template])
        let rendered = try renderer.render(
            template: "order",
            channel: .sms,
            locale: nil,
            variables: ["order": .map(["id": .string("A-7")]), "items": .list([.map(["name": .string("Cap")]), .map(["price": .number(3)])])]
        )
        #expect(rendered.content == .sms(SMSContent(body: "A-7  (not vip) Cap  ", variant: .base)))
        #expect(rendered.missingVariables == ["order.total"])
    }

    @Test func rendersValuesOfEveryKind() throws {
        let template = Template(
            name: "kinds",
            base: TemplateContent(
                sms: SMSTemplate(
                    body: text(
                        "{{count}} {{price}} {{beta}} {{tags}} [{{#tags}}<{{.}}>{{/tags}}] {{#beta}}beta{{/beta}}{{^empty}}none{{/empty}} {{uppercased(first_name)}} {{#address}}{{city}}/{{first_name}}{{/address}}",
                        "templates/kinds.yml", line: 3, column: 10
                    )
                ),
                file: "templates/kinds.yml"
            )
        )
        let renderer = ContentRenderer(templates: ["kinds": template])
        let rendered = try renderer.render(
            template: "kinds",
            channel: .sms,
            locale: nil,
            variables: [
                "count": .number(3), "price": .number(9.5), "beta": .bool(true),
                "tags": .list([.string("vip"), .string("new")]), "empty": .string(""),
                "first_name": .string("Ana"), "address": .map(["city": .string("Seoul")]),
            ]
        )
        #expect(rendered.content == .sms(SMSContent(body: "3 9.5 true vip, new [<vip><new>] betanone ANA Seoul/Ana", variant: .base)))
        #expect(rendered.missingVariables == [])
    }

    @Test func builtInsWinOverVariablesOfTheSameName() throws {
        let rendered = try renderer.render(
            template: "restock",
            channel: .sms,
            locale: nil,
            variables: ana.merging(["link": .string("https://evil.example")]) { _, new in new }
        )
        #expect(rendered.content == .sms(SMSContent(body: "Air Max 90 is back. Order: https://shop.example.com/items/sku-123 Reply STOP to opt out", variant: .base)))
    }

    @Test func linkIsEmptyWithoutAPushURL() throws {
        let template = Template(
            name: "promo",
            base: TemplateContent(sms: SMSTemplate(body: text("Sale! {{link}}", "templates/promo.yml", line: 3, column: 10)), file: "templates/promo.yml")
        )
        let rendered = try ContentRenderer(templates: ["promo": template]).render(template: "promo", channel: .sms, locale: nil, variables: [:])
        #expect(rendered.content == .sms(SMSContent(body: "Sale! ", variant: .base)))
        #expect(rendered.missingVariables == [])
    }

    @Test func keepsLinesAndStandaloneSectionsInTextBodies() throws {
        let template = Template(
            name: "digest",
            base: TemplateContent(
                email: EmailTemplate(
                    subject: text("Your picks", "templates/digest.yml", line: 3, column: 13),
                    text: bodyFile("{{#items}}\n- {{name}}\n{{/items}}\r\nBye {{first_name}}\n", "templates/digest.txt")
                ),
                file: "templates/digest.yml"
            )
        )
        let rendered = try ContentRenderer(templates: ["digest": template]).render(
            template: "digest",
            channel: .email,
            locale: nil,
            variables: ["first_name": .string("<Ana>"), "items": .list([.map(["name": .string("Cap")]), .map(["name": .string("Tee")])])]
        )
        #expect(rendered.content == .email(EmailContent(subject: "Your picks", text: "- Cap\n- Tee\nBye <Ana>\n", variant: .base)))
    }

    @Test func throwsForAnUnknownTemplate() {
        #expect {
            try renderer.render(template: "restok", channel: .push, locale: nil, variables: [:])
        } throws: { error in
            let error = error as? RenderError
            return error?.code == .unknownTemplate && error?.description == "unknown template 'restok' (did you mean 'restock'?)"
        }
    }

    @Test func throwsForAChannelTheTemplateLacks() {
        let template = Template(name: "promo", base: TemplateContent(sms: SMSTemplate(body: text("Sale", "templates/promo.yml", line: 3, column: 10)), file: "templates/promo.yml"))
        let renderer = ContentRenderer(templates: ["promo": template])
        #expect {
            try renderer.render(template: "promo", channel: .email, locale: "ko", variables: [:])
        } throws: { error in
            let error = error as? RenderError
            return error?.code == .missingChannel
                && error?.description == "template 'promo' has no email content (an email needs a subject and an html or text body)"
        }
    }

    @Test func throwsCompileErrorsWithFilePositions() {
        let template = Template(
            name: "broken",
            base: TemplateContent(
                sms: SMSTemplate(body: text("Hi {{first_name}", "templates/broken.yml", line: 3, column: 10)),
                email: EmailTemplate(
                    subject: text("Hello {{#vip}}VIP", "templates/broken.yml", line: 5, column: 13),
                    html: bodyFile("<p>\n  {{#items}}{{name}}{{/itemz}}\n</p>", "templates/broken.html")
                ),
                file: "templates/broken.yml"
            )
        )
        let renderer = ContentRenderer(templates: ["broken": template])
        #expect {
            try renderer.render(template: "broken", channel: .email, locale: nil, variables: [:])
        } throws: { error in
            (error as? RenderError)?.description == """
                templates/broken.yml:5:19: invalid Mustache in email.subject: section 'vip' is never closed (expected '{{/vip}}')
                templates/broken.html:2:21: invalid Mustache in email.html: '{{/itemz}}' does not close the open section 'items' (expected '{{/items}}')
                """
        }
        #expect {
            try renderer.render(template: "broken", channel: .sms, locale: nil, variables: [:])
        } throws: { error in
            (error as? RenderError)?.description == "templates/broken.yml:3:13: invalid Mustache in sms.body: a tag is not closed (expected '}}')"
        }
    }

    @Test func rendersConcurrently() async throws {
        let renderer = renderer
        let locales = ["ko-KR", "pt-BR", nil]
        let results = try await withThrowingTaskGroup(of: (Int, NotificationContent).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let rendered = try renderer.render(
                        template: "restock",
                        channel: index.isMultiple(of: 2) ? .sms : .push,
                        locale: locales[index % 3],
                        variables: ana
                    )
                    return (index, rendered.content)
                }
            }
            var results: [Int: NotificationContent] = [:]
            for try await (index, content) in group { results[index] = content }
            return results
        }
        // Each locale and channel gets its own content, whichever task compiled it first.
        let basePush = NotificationContent.push(PushContent(
            title: "Air Max 90 is back", body: "Order by 2026-12-01, Ana.", url: "https://shop.example.com/items/sku-123",
            data: ["sku": "sku-123", "campaign": "restock"], variant: .base
        ))
        let koreanPush = NotificationContent.push(PushContent(
            title: "Air Max 90 재입고", body: "Ana님, 2026-12-01까지 주문하세요.", url: "https://shop.example.com/items/sku-123",
            data: ["sku": "sku-123", "campaign": "restock"], variant: TemplateVariant(locale: "ko")
        ))
        let baseSMS = NotificationContent.sms(SMSContent(body: "Air Max 90 is back. Order: https://shop.example.com/items/sku-123 Reply STOP to opt out", variant: .base))
        let brazilianSMS = NotificationContent.sms(SMSContent(body: "Air Max 90 voltou! https://shop.example.com/items/sku-123", variant: TemplateVariant(locale: "pt-BR")))
        let expected: [String: NotificationContent] = [
            "sms ko-KR": baseSMS, "sms pt-BR": brazilianSMS, "sms -": baseSMS,
            "push ko-KR": koreanPush, "push pt-BR": basePush, "push -": basePush,
        ]
        #expect(results.count == 200)
        for (index, content) in results.sorted(by: { $0.key < $1.key }) {
            let key = "\(index.isMultiple(of: 2) ? "sms" : "push") \(locales[index % 3] ?? "-")"
            #expect(content == expected[key], "render \(index): \(key)")
        }
    }
}
