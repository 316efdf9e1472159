import Foundation
import HeraldCore
import HeraldImport
import HeraldTesting
import Testing

@Suite struct UserJSONLinesWriterTests {
    let schema = AttributeSchema([
        AttributeDefinition(name: "country", type: .string),
        AttributeDefinition(name: "score", type: .number),
        AttributeDefinition(name: "beta", type: .bool),
        AttributeDefinition(name: "seen", type: .time),
        AttributeDefinition(name: "tags", type: .list(.string)),
    ])

    @Test func writesTheImportFormatWithStableKeyOrder() {
        let user = User(
            id: "u-1", email: "a@example.com", firstName: "Ana",
            attributes: ["tags": .list([.string("vip")]), "score": .number(2.5), "beta": .bool(false), "seen": .time(Date(timeIntervalSince1970: 0))],
            devices: [Device(platform: .ios, token: "t1", isActive: false)],
            preferences: Preferences(["sms": false, "email": true])
        )
        #expect(UserJSONLinesWriter.line(for: user) == #"""
            {"id":"u-1","email":"a@example.com","first_name":"Ana","attributes":{"beta":false,"score":2.5,"seen":"1970-01-01T00:00:00Z","tags":["vip"]},"devices":[{"platform":"ios","token":"t1","active":false}],"preferences":{"email":true,"sms":false}}
            """#)
    }

    @Test func hostileTextRoundTripsThroughTheImporter() async throws {
        // Names refuse control characters on import; string attributes allow tabs and line breaks.
        let names = ["quote \" and \\ backslash", "한국어 ✓ emoji 🎉", "</script>"]
        let texts = names + ["tab\tnew\nline\r\n"]
        let users = texts.enumerated().map { index, text in
            User(id: "u-\(index)", firstName: names[index % names.count], attributes: ["country": .string(text), "score": .number(Double(index) * 1.5)])
        }
        try await withTemporaryDirectory { directory in
            let path = try directory.write("users.jsonl", users.map(UserJSONLinesWriter.line(for:)).joined(separator: "\n") + "\n")
            var reader = try UserImportReader(path: path, schema: schema)
            let rows = try reader.next(maxCount: 100)
            let imported = rows.compactMap { try? $0.result.get() }
            #expect(imported.count == users.count, "\(rows.map(\.result))")
            #expect(imported.map(\.firstName) == users.map(\.firstName))
            #expect(imported.map { $0.attributes["country"] } == texts.map { .string($0) })
            #expect(imported.map { $0.attributes["score"] } == users.map { $0.attributes["score"] })
            // Every line is valid JSON as another program would read it.
            for line in users.map(UserJSONLinesWriter.line(for:)) {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
            }
        }
    }
}

@Suite struct JSONStringTests {
    /// Text mixing plain runs, every character JSON escapes, and multi-byte characters, at
    /// every position (first, last, side by side), as another JSON parser reads it back.
    @Test func everyEscapeAtEveryPositionReadsBackAsTheText() throws {
        let pieces = ["", "a", "plain run ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "한", "🎉", "</", "<a href=\"x\">"]
        var random = SplitMix64(seed: 7)
        var texts = pieces + pieces.flatMap { first in pieces.map { first + $0 } }
        for _ in 0..<500 {
            texts.append((0..<random.next() % 12).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined())
        }
        for text in texts {
            var json = ""
            JSONText.appendString(text, to: &json)
            let read = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed) as? String
            #expect(read == text, "\(Array(text.utf8)) was written as \(json)")
            #expect(!json.utf8.dropFirst().dropLast().contains { $0 < 0x20 }, "a control character left raw in \(json)")
        }
    }
}

@Suite struct AttributeJSONTests {
    let schema = AttributeSchema([
        AttributeDefinition(name: "country", type: .string),
        AttributeDefinition(name: "score", type: .number),
        AttributeDefinition(name: "beta", type: .bool),
        AttributeDefinition(name: "seen", type: .time),
        AttributeDefinition(name: "tags", type: .list(.string)),
        AttributeDefinition(name: "sizes", type: .list(.number)),
    ])

    @Test func encodesSortedAndReadsBackEveryType() {
        let attributes: [String: AttributeValue] = [
            "tags": .list([.string("vip"), .string("q\"uote")]), "score": .number(120.5), "beta": .bool(true),
            "seen": .time(Date(timeIntervalSince1970: 1_795_000_000.25)), "country": .string("KR\n"), "sizes": .list([.number(1e-5), .number(3)]),
        ]
        let text = AttributeJSON.encode(attributes)
        #expect(text == #"{"beta":true,"country":"KR\n","score":120.5,"seen":1795000000.25,"sizes":[1e-05,3.0],"tags":["vip","q\"uote"]}"#)
        #expect(AttributeJSON.decode(text, schema: schema) == attributes)
        #expect(AttributeJSON.encode([:]) == "{}")
    }

    @Test func valuesThatDoNotFitTheSchemaAreLeftOut() {
        let decoded = AttributeJSON.decode(#"{"country":3,"score":"x","beta":true,"undeclared":1,"tags":["a",2]}"#, schema: schema)
        #expect(decoded == ["beta": .bool(true)])
        #expect(AttributeJSON.decode("not json", schema: schema) == [:])
    }
}

@Suite struct WebPushSubscriptionJSONTests {
    @Test func roundTripsAndRejectsIncompleteObjects() {
        let subscription = WebPushSubscription(endpoint: "https://push.example.com/a?b=\"c\"", p256dh: "BPk", auth: "au")
        #expect(subscription.jsonText == #"{"auth":"au","endpoint":"https://push.example.com/a?b=\"c\"","p256dh":"BPk"}"#)
        #expect(WebPushSubscription(jsonText: subscription.jsonText) == subscription)
        #expect(WebPushSubscription(jsonText: #"{"auth":"au","endpoint":"e"}"#) == nil)
        #expect(WebPushSubscription(jsonText: "[]") == nil)
    }
}

@Suite struct NotificationContentJSONTests {
    static let contents: [NotificationContent] = [
        .push(PushContent(title: "T \"1\"", body: "B\n", url: "https://x/y", data: ["z": "1", "a": "é"])),
        .push(PushContent(body: "only body")),
        .sms(SMSContent(body: "Hi 👋")),
        .email(EmailContent(subject: "S", html: "<p>a &amp; b</p>", text: "a & b")),
        .email(EmailContent(subject: "S", text: "text only")),
        .push(PushContent(title: "겨울 세일", body: "시우님", data: ["campaign": "winter-sale"], variant: TemplateVariant(locale: "ko"))),
        .sms(SMSContent(body: "Hi", variant: .base)),
        .email(EmailContent(subject: "S", html: "<p>x</p>", text: "x", variant: TemplateVariant(locale: "pt-BR"))),
        .push(PushContent(
            title: "Sale", body: "50% off", badge: 3, sound: "default", category: "SALE", threadID: "sales", image: "https://x/i.png",
            ttl: 3600, collapseKey: "sale", priority: .normal, silent: false
        )),
        .push(PushContent(body: "", data: ["sync": "1"], silent: true)),
    ]

    @Test(arguments: contents)
    func theHandWrittenFormMatchesTheCodableOneBothWays(content: NotificationContent) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let codable = String(decoding: try encoder.encode(content), as: UTF8.self)
        #expect(content.jsonText == codable)
        #expect(NotificationContent(jsonText: codable) == content)
        #expect(try JSONDecoder().decode(NotificationContent.self, from: Data(content.jsonText.utf8)) == content)
    }

    @Test func storesWhichTemplateFileTheTextCameFrom() throws {
        let korean = NotificationContent.push(PushContent(body: "시우님", data: ["campaign": "winter-sale"], variant: TemplateVariant(locale: "ko")))
        #expect(korean.jsonText == #"{"body":"시우님","channel":"push","data":{"campaign":"winter-sale"},"variant":"ko"}"#)
        let base = NotificationContent.sms(SMSContent(body: "Hi", variant: .base))
        #expect(base.jsonText == #"{"body":"Hi","channel":"sms","variant":"base"}"#)
        #expect(NotificationContent(jsonText: base.jsonText)?.variant == .base)
        #expect(NotificationContent(jsonText: korean.jsonText)?.variant?.locale == "ko")
    }

    @Test func namesTheVariantForPeople() {
        let korean = TemplateVariant(locale: "ko")
        #expect(korean.label(for: "ko-KR", baseLocale: "en") == "ko variant")
        #expect(TemplateVariant.base.label(for: "ko-KR", baseLocale: "en") == "base (en) fallback for ko-KR")
        #expect(TemplateVariant.base.label(for: "en-GB", baseLocale: "en") == "base (en)")
        #expect(TemplateVariant.base.label(for: nil, baseLocale: "en") == "base (en)")
        #expect(TemplateVariant.base.label(for: "ja-JP") == "base fallback for ja-JP")
    }

    @Test(arguments: [
        #"{"body":"Order A-1042 has shipped","channel":"sms"}"#,
        #"{"body":"Hi","channel":"push","data":{"campaign":"winter-sale"},"title":"Winter sale","url":"https://shop.example.com/sale"}"#,
        #"{"channel":"email","html":"<p>x</p>","subject":"S","text":"x"}"#,
    ])
    func contentStoredBeforeVariantsStillReads(stored: String) throws {
        // Rows written before Herald recorded the variant: it is unknown, not the base file.
        let content = try #require(NotificationContent(jsonText: stored))
        #expect(content.variant == nil)
        #expect(content.jsonText == stored)
        #expect(try JSONDecoder().decode(NotificationContent.self, from: Data(stored.utf8)) == content)
    }

    @Test func somethingElseIsNotContent() {
        #expect(NotificationContent(jsonText: #"{"channel":"fax","body":"x"}"#) == nil)
        #expect(NotificationContent(jsonText: #"{"channel":"email","subject":"no text"}"#) == nil)
    }
}
