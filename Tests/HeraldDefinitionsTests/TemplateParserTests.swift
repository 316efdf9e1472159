import HeraldCore
import HeraldDefinitions
import Testing

struct TemplateParserTests {
    let parser = TemplateParser(bodyFiles: [
        "templates/welcome.html": "<h1>Hi {{first_name}}</h1>",
        "templates/mail/welcome.txt": "Hi {{first_name}}",
    ])

    func parse(_ text: String, file: String = "templates/welcome.yml") -> (content: TemplateContent?, messages: [String]) {
        let (content, diagnostics) = parser.parse(text: text, file: file)
        return (content, diagnostics.map(\.description))
    }

    @Test func baseTemplateWithBodiesFromFiles() throws {
        let content = try #require(parse("""
        template: welcome
        email:
          subject: Welcome, {{first_name}}
          html: welcome.html
          text: mail/welcome.txt
        push:
          body: >
            Welcome
            aboard
          data: {screen: home, count: 3}

        """).content)
        #expect(content.file == "templates/welcome.yml")
        #expect(content.email == EmailTemplate(
            subject: TemplateText("Welcome, {{first_name}}", at: SourceLocation(file: "templates/welcome.yml", line: 3, column: 12)),
            html: TemplateText("<h1>Hi {{first_name}}</h1>", at: SourceLocation(file: "templates/welcome.html", line: 1, column: 1)),
            text: TemplateText("Hi {{first_name}}", at: SourceLocation(file: "templates/mail/welcome.txt", line: 1, column: 1))
        ))
        #expect(content.push == PushTemplate(
            body: TemplateText("Welcome aboard\n", at: SourceLocation(file: "templates/welcome.yml", line: 8, column: 5)),
            data: [
                "screen": TemplateText("home", at: SourceLocation(file: "templates/welcome.yml", line: 10, column: 18)),
                "count": TemplateText("3", at: SourceLocation(file: "templates/welcome.yml", line: 10, column: 31)),
            ]
        ))
        #expect(content.supports(.email))
        #expect(content.supports(.push))
        #expect(!content.supports(.sms))
    }

    @Test func variantMayGiveAnyFieldAlone() throws {
        let content = try #require(parse("email: {subject: 환영합니다}\n", file: "templates/welcome.ko-KR.yml").content)
        #expect(content.email == EmailTemplate(subject: TemplateText("환영합니다", at: SourceLocation(file: "templates/welcome.ko-KR.yml", line: 1, column: 18))))
        #expect(content.push == nil)
    }

    @Test func templateErrors() {
        #expect(parse("push: {body: Hi}\n").messages == [
            "templates/welcome.yml:1:1: missing field 'template' (expected the template's name, equal to the file name: template: welcome)",
        ])
        #expect(parse("template: welcom\nsms: {body: Hi}\n").messages == [
            "templates/welcome.yml:1:11: template name 'welcom' does not match the file name 'welcome' (write template: welcome)",
        ])
        #expect(parse("template: welcome\n").messages == [
            "templates/welcome.yml:1:1: template has no content (expected at least one of the sections push, sms, email)",
        ])
        #expect(parse("template: welcome\npush: {url: \"https://x\"}\nsms: {}\nemail: {subject: Hi}\n").messages == [
            "templates/welcome.yml:2:7: push has neither a title nor a body (add title: or body: (or silent: true for a data-only push))",
            "templates/welcome.yml:3:6: missing field 'body' (expected the text of the message, e.g. body: \"{{item_name}} is back\")",
            "templates/welcome.yml:4:8: email has neither an html nor a text body (add html: <file>.html or text: <file>.txt, files beside the template)",
        ])
        #expect(parse("template: welcome\nemail: {subject: Hi, html: ../secrets.html, text: missing.txt}\npush: {titel: Hi, data: {a: [1]}}\n").messages == [
            "templates/welcome.yml:2:28: 'html' must name a file inside templates/, found '../secrets.html' (e.g. restock.html)",
            "templates/welcome.yml:2:51: file 'templates/missing.txt' not found ('text' names a file beside the template)",
            "templates/welcome.yml:3:8: unknown field 'titel' (did you mean 'title'?)",
            "templates/welcome.yml:3:29: wrong type for 'a': found a list (expected text)",
        ])
    }

    @Test func aPushCarriesBadgeSoundGroupingImageLifetimeCollapseKeyPriorityAndSilence() throws {
        let content = try #require(parse("""
        template: welcome
        push:
          title: Hi
          badge: 3
          sound: default
          category: ORDER
          thread_id: "order-{{order_id}}"
          image: "https://cdn.example.com/{{sku}}.png"
          ttl: 4h
          collapse_key: welcome
          priority: normal

        """).content)
        let push = try #require(content.push)
        let file = "templates/welcome.yml"
        #expect(push.badge == 3)
        #expect(push.sound == TemplateText("default", at: SourceLocation(file: file, line: 5, column: 10)))
        #expect(push.category?.text == "ORDER")
        #expect(push.threadID?.text == "order-{{order_id}}")
        #expect(push.image?.text == "https://cdn.example.com/{{sku}}.png")
        #expect(push.ttl == 4 * 3600)
        #expect(push.collapseKey?.text == "welcome")
        #expect(push.priority == .normal)
        #expect(push.silent == nil)

        // A silent push has data and no text; a variant overrides a setting alone.
        let silent = try #require(parse("template: welcome\npush: {silent: true, data: {sync: inbox}}\n").content)
        #expect(silent.push?.silent == true)
        #expect(silent.supports(.push))
        let variant = try #require(parse("push: {badge: 0}\n", file: "templates/welcome.ko.yml").content)
        let overlaid = content.overlaid(with: variant)
        #expect(overlaid.push?.badge == 0)
        #expect(overlaid.push?.sound?.text == "default")
    }

    @Test func pushSettingsAreCheckedWhereTheyAreWritten() {
        #expect(parse("template: welcome\npush: {body: Hi, badge: -1, ttl: 5w, priority: urgent, silent: maybe}\n").messages == [
            "templates/welcome.yml:2:25: 'badge' must be at least 0, found -1 (expected a whole number of at least 0)",
            "templates/welcome.yml:2:34: 'ttl' is at most 4 weeks (28d), found 5w (push services keep an undelivered push 4 weeks at most)",
            "templates/welcome.yml:2:48: unknown priority 'urgent' (expected one of: high, normal)",
            "templates/welcome.yml:2:64: 'maybe' is not true or false for 'silent' (expected true or false)",
        ])
        #expect(parse("template: welcome\npush: {title: Hi, silent: true}\n").messages == [
            "templates/welcome.yml:2:15: a silent push shows nothing: it has no title or body (remove it, or remove silent: true)",
        ])
        #expect(parse("template: welcome\npush: {body: Hi, colapse_key: x}\n").messages == [
            "templates/welcome.yml:2:18: unknown field 'colapse_key' (did you mean 'collapse_key'?)",
        ])
    }

    @Test func unreadableBodyIsReportedInItsOwnFile() {
        let parser = TemplateParser { path in
            .unreadable(Diagnostic("file is not valid UTF-8: byte 0xFF at offset 0", at: SourceLocation(file: path, line: 1, column: 1), hint: "save the file as UTF-8"))
        }
        let (content, diagnostics) = parser.parse(text: "template: welcome\nemail: {subject: Hi, html: welcome.html}\n", file: "templates/welcome.yml")
        #expect(content == nil)
        #expect(diagnostics.map(\.description) == ["templates/welcome.html:1:1: file is not valid UTF-8: byte 0xFF at offset 0 (save the file as UTF-8)"])
    }

    @Test(arguments: ["ko", "ko-KR", "pt-BR", "zh-Hant-TW", "es-419", "sr-Latn", "de-CH-1996", "en-US-x-twain", "zh-yue-HK", "en-a-bbb-x-a-ccc", "EN-us"])
    func wellFormedLocales(tag: String) {
        #expect(LocaleTag.isWellFormed(tag))
    }

    @Test(arguments: ["", "korean", "ko_KR", "k", "ko-", "-KR", "ko--KR", "ko-KR-", "ko-Hant-Hant-TW", "ko-a", "ko-x", "한국어", "ko KR", "en-US-toolongvariant"])
    func malformedLocales(tag: String) {
        #expect(!LocaleTag.isWellFormed(tag))
    }

    @Test func templateFileNames() {
        #expect(TemplateFileName(fileName: "templates/restock.yml") == TemplateFileName(name: "restock"))
        #expect(TemplateFileName(fileName: "restock.zh-Hant-TW.yml") == TemplateFileName(name: "restock", locale: "zh-Hant-TW"))
        #expect(TemplateFileName(fileName: "restock.html") == nil)
        #expect(TemplateFileName(fileName: ".yml") == nil)
        #expect(TemplateFileName(fileName: ".ko.yml") == nil)
    }
}

@Suite struct TemplateLocaleFieldTests {
    let parser = TemplateParser(bodyFiles: [:])

    func parse(_ text: String, file: String) -> (content: TemplateContent?, messages: [String]) {
        let (content, diagnostics) = parser.parse(text: text, file: file)
        return (content, diagnostics.map(\.description))
    }

    @Test func aBaseFileSaysWhichLanguageItIsWrittenIn() throws {
        let korean = try #require(parse("template: welcome\nlocale: ko\nsms: {body: 안녕하세요}\n", file: "templates/welcome.yml").content)
        #expect(korean.locale == "ko")
        let unsaid = try #require(parse("template: welcome\nsms: {body: Hi}\n", file: "templates/welcome.yml").content)
        #expect(unsaid.locale == nil)
    }

    @Test func localeErrors() {
        #expect(parse("template: welcome\nlocale: en_US\nsms: {body: Hi}\n", file: "templates/welcome.yml").messages == [
            "templates/welcome.yml:2:9: invalid locale 'en_US' (did you mean 'en-US'?)"
        ])
        #expect(parse("template: welcome\nlocale: english\nsms: {body: Hi}\n", file: "templates/welcome.yml").messages == [
            "templates/welcome.yml:2:9: invalid locale 'english' (expected a BCP 47 language tag such as en, en-US or ko)"
        ])
        #expect(parse("locale: ko\nsms: {body: 안녕}\n", file: "templates/welcome.ko.yml").messages == [
            "templates/welcome.ko.yml:1:1: 'locale' is given by the file name of a variant (remove it: welcome.ko.yml is the ko variant)"
        ])
    }
}
