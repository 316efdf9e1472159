import HeraldContent
import HeraldCore
import Testing

/// Bad input never crashes: random template texts and HTML made of the pieces that matter.
@Suite struct RobustnessTests {
    /// A small deterministic generator, so that a failure can be replayed.
    struct Generator {
        var state: UInt64

        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let templatePieces = [
        "{{", "}}", "{{{", "}}}", "{", "}", "#", "^", "/", "!", "&", ">", "<", "$", "=", "%", ".", "(", ")",
        "name", "first_name", "items", "link", " ", "\n", "\r\n", "é", "🎉", "{{#items}}", "{{/items}}", "{{^x}}",
        "{{/x}}", "{{=<% %>=}}", "<%", "%>", "{{% CONTENT_TYPE: TEXT}}", "{{.}}", "{{uppercased(first_name)}}",
        "{{first()}}", "{{> p}}", "{{<p}}", "{{$b}}", "{{/b}}", "{{/p}}", "=x", "x=",
    ]

    static let htmlPieces = [
        "<", ">", "</", "<p>", "</p>", "<a href=\"", "\">", "</a>", "<a href='x'>", "<br>", "<li>", "<ol>", "</ol>",
        "<ul>", "</ul>", "<!--", "-->", "<!", "<?", "<script>", "</script>", "<style>", "&", "&amp;", "&#", "&#x",
        ";", "1", "F", "&nbsp;", "&bogus;", "text", " ", "\n", "\"", "'", "=", "<img alt=\"", "é", "🎉", "<TD>", "<blockquote>",
    ]

    @Test func compilesRendersAndChecksRandomTemplatesWithoutCrashing() throws {
        var generator = Generator(state: 42)
        for round in 0..<400 {
            var source = ""
            for _ in 0..<(1 + generator.next(14)) {
                source += Self.templatePieces[generator.next(Self.templatePieces.count)]
            }
            let template = Template(
                name: "t",
                base: TemplateContent(
                    push: PushTemplate(body: text(source, "templates/t.yml", line: 3, column: 9), url: text(source, "templates/t.yml", line: 4, column: 8)),
                    sms: SMSTemplate(body: text(source, "templates/t.yml", line: 5, column: 9)),
                    email: EmailTemplate(subject: text(source, "templates/t.yml", line: 6, column: 12), html: bodyFile(source, "templates/t.html")),
                    file: "templates/t.yml"
                )
            )
            let renderer = ContentRenderer(templates: ["t": template])
            for channel in Channel.allCases {
                do {
                    _ = try renderer.render(template: "t", channel: channel, locale: nil, variables: ana.merging(["items": .list([.map(["name": .string("x")])])]) { $1 })
                } catch {
                    #expect(error.code == .invalidTemplate, "round \(round): \(error)")
                    for diagnostic in error.diagnostics {
                        let location = try #require(diagnostic.location)
                        #expect(location.line >= 1 && location.column >= 1, "round \(round): \(diagnostic)")
                    }
                }
            }
            let workspace = Workspace(
                root: "/tmp/shop",
                configuration: HeraldConfiguration(),
                campaigns: [Campaign(id: "c", channels: [.push, .sms, .email], template: "t", schedule: .manual, file: "campaigns/c.yml")],
                templates: ["t": template]
            )
            for diagnostic in TemplateChecker.check(workspace) {
                let location = try #require(diagnostic.location)
                #expect(location.line >= 3 || location.file == "templates/t.html", "round \(round): \(diagnostic)")
            }
        }
    }

    @Test func convertsRandomHTMLWithoutCrashing() {
        var generator = Generator(state: 7)
        for _ in 0..<2000 {
            var html = ""
            for _ in 0..<(1 + generator.next(20)) {
                html += Self.htmlPieces[generator.next(Self.htmlPieces.count)]
            }
            let text = HTMLText.plainText(fromHTML: html)
            #expect(!text.hasPrefix(" ") && !text.hasSuffix(" ") && !text.contains("\n\n\n"), "\(html.debugDescription) → \(text.debugDescription)")
        }
    }
}
