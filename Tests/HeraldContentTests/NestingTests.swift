import HeraldContent
import HeraldCore
import Testing

/// Deeply nested sections are refused with a position instead of overflowing the parser's stack.
@Suite struct NestingTests {
    func render(_ html: String) throws(RenderError) -> RenderedNotification {
        let template = Template(name: "deep", base: TemplateContent(
            email: EmailTemplate(subject: text("Hi", "templates/deep.yml", line: 2, column: 12), html: bodyFile(html, "templates/deep.html")),
            file: "templates/deep.yml"
        ))
        return try ContentRenderer(templates: ["deep": template])
            .render(template: "deep", channel: .email, locale: nil, variables: ["a": .bool(true)])
    }

    @Test(arguments: [700, 80_000])
    func aDeepNestIsAnErrorAtTheFirstTagTooDeep(depth: Int) {
        let html = "<p>\n" + String(repeating: "{{#a}}", count: depth) + "x" + String(repeating: "{{/a}}", count: depth)
        #expect {
            try render(html)
        } throws: { error in
            (error as? RenderError)?.diagnostics.map(\.description) == [
                "templates/deep.html:2:193: sections nest too deeply in email.html (at most 32 sections inside one another)",
            ]
        }
    }

    @Test func anUnclosedDeepNestIsRefusedToo() {
        // Refused for its depth at the 33rd section, not for the first one never being closed.
        #expect {
            try render(String(repeating: "{{^a}}", count: 1000))
        } throws: { error in
            (error as? RenderError)?.diagnostics.map(\.description) == [
                "templates/deep.html:1:193: sections nest too deeply in email.html (at most 32 sections inside one another)",
            ]
        }
    }

    @Test func thirtyTwoLevelsRender() throws {
        let html = String(repeating: "{{#a}}", count: 32) + "x" + String(repeating: "{{/a}}", count: 32)
        #expect(try render(html).content == .email(EmailContent(subject: "Hi", html: "x", text: "x", variant: .base)))
    }
}
