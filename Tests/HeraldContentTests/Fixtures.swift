import HeraldContent
import HeraldCore
import Testing

extension Tag {
    @Tag static var slow: Self
}

/// A template text written at a position of a file, as HeraldDefinitions reports it: the
/// position of the text's first character.
func text(_ value: String, _ file: String = "templates/restock.yml", line: Int, column: Int) -> TemplateText {
    TemplateText(value, at: SourceLocation(file: file, line: line, column: column))
}

/// A body file: its text starts at line 1, column 1.
func bodyFile(_ value: String, _ file: String) -> TemplateText {
    TemplateText(value, at: SourceLocation(file: file, line: 1, column: 1))
}

/// `templates/restock.yml` from the spec, with its Korean and Portuguese variants:
///
/// ```yaml
/// template: restock
/// push:
///   title: "{{item_name}} is back"
///   body: "Order by {{order_by}}, {{first_name}}."
///   url: "https://shop.example.com/items/{{sku}}"
///   data: {sku: "{{sku}}", campaign: restock}
/// sms:
///   body: "{{item_name}} is back. Order: {{link}} Reply STOP to opt out"
/// email:
///   subject: "{{item_name}} is back in stock"
///   html: restock.html
/// ```
func restockTemplate(html: String = restockHTML, emailText: TemplateText? = nil) -> Template {
    let base = TemplateContent(
        push: PushTemplate(
            title: text("{{item_name}} is back", line: 3, column: 11),
            body: text("Order by {{order_by}}, {{first_name}}.", line: 4, column: 10),
            url: text("https://shop.example.com/items/{{sku}}", line: 5, column: 9),
            data: ["sku": text("{{sku}}", line: 6, column: 15), "campaign": text("restock", line: 6, column: 34)]
        ),
        sms: SMSTemplate(body: text("{{item_name}} is back. Order: {{link}} Reply STOP to opt out", line: 8, column: 10)),
        email: EmailTemplate(
            subject: text("{{item_name}} is back in stock", line: 10, column: 13),
            html: bodyFile(html, "templates/restock.html"),
            text: emailText
        ),
        file: "templates/restock.yml"
    )
    let korean = TemplateContent(
        push: PushTemplate(
            title: text("{{item_name}} 재입고", "templates/restock.ko.yml", line: 3, column: 11),
            body: text("{{first_name}}님, {{order_by}}까지 주문하세요.", "templates/restock.ko.yml", line: 4, column: 10)
        ),
        file: "templates/restock.ko.yml"
    )
    let brazilian = TemplateContent(
        sms: SMSTemplate(body: text("{{item_name}} voltou! {{link}}", "templates/restock.pt-BR.yml", line: 3, column: 10)),
        file: "templates/restock.pt-BR.yml"
    )
    return Template(name: "restock", base: base, variants: ["ko": korean, "pt-BR": brazilian])
}

let restockHTML = """
    <html><head><title>Restock</title><style>p { color: red; }</style></head>
    <body>
    <h1>{{item_name}} is back</h1>
    <p>Hi {{first_name}},</p>
    <p>Good news: the <b>{{item_name}}</b> is in stock again.
    Order by {{order_by}} &mdash; stock is limited.</p>
    <p><a href="{{{link}}}">Shop now</a></p>
    <p><a href="{{{unsubscribe_url}}}">Unsubscribe</a></p>
    </body></html>
    """

let ana: [String: TemplateValue] = [
    "id": .string("u-1"),
    "first_name": .string("Ana"),
    "item_name": .string("Air Max 90"),
    "order_by": .string("2026-12-01"),
    "sku": .string("sku-123"),
]
