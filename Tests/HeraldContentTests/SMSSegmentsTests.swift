import HeraldContent
import HeraldCore
import Testing

@Suite struct SMSSegmentsTests {
    static func a(_ count: Int) -> String { String(repeating: "a", count: count) }
    static func ga(_ count: Int) -> String { String(repeating: "가", count: count) }

    @Test(arguments: [
        ("", SMSSegments.Encoding.gsm7, 0, 0),
        ("Your order A-1042 has shipped", .gsm7, 29, 1),
        (a(160), .gsm7, 160, 1),
        (a(161), .gsm7, 161, 2),
        (a(306), .gsm7, 306, 2),
        (a(307), .gsm7, 307, 3),
        (a(459), .gsm7, 459, 3),
        (a(460), .gsm7, 460, 4),
        // The extension table costs two septets each.
        (String(repeating: "€", count: 80), .gsm7, 160, 1),
        (String(repeating: "{", count: 81), .gsm7, 162, 2),
        (a(159) + "€", .gsm7, 161, 2),
        (a(158) + "€", .gsm7, 160, 1),
        // An escape pair is never split: with 152 septets in the first part, `[` (2 septets)
        // starts the second part, which then holds 2 + 152 = 154 > 153 septets: a third part.
        (a(152) + "[" + a(152), .gsm7, 306, 3),
        // The same 306 septets with the pair inside the first part fit in two.
        (a(151) + "[" + a(153), .gsm7, 306, 2),
        (a(150) + "~" + a(153), .gsm7, 305, 2),
        // GSM-7's own accented letters and Greek capitals stay GSM-7; CR LF is two septets.
        ("Çà é ΔΣ\r\n", .gsm7, 9, 1),
        // One character outside GSM-7 makes the whole message UCS-2: here û (GSM-7 has ù only).
        ("Ça coûte 5€", .ucs2, 11, 1),
        (a(69) + "가", .ucs2, 70, 1),
        (a(159) + "가", .ucs2, 160, 3),
        (ga(70), .ucs2, 70, 1),
        (ga(71), .ucs2, 71, 2),
        (ga(134), .ucs2, 134, 2),
        (ga(135), .ucs2, 135, 3),
        // An emoji is two UTF-16 code units and turns plain text into UCS-2.
        ("😀", .ucs2, 2, 1),
        (a(68) + "😀", .ucs2, 70, 1),
        (a(69) + "😀", .ucs2, 71, 2),
        // An emoji at a part boundary moves whole into the next part: 66 + 2 does not fit 67,
        // so 134 units take three parts where 134 / 67 would say two.
        (a(66) + "😀" + a(66), .ucs2, 134, 3),
        (a(65) + "😀" + a(67), .ucs2, 134, 2),
    ])
    func countsAsCarriersDo(text: String, encoding: SMSSegments.Encoding, units: Int, count: Int) {
        let segments = SMSSegments(text: text)
        #expect(segments.encoding == encoding)
        #expect(segments.units == units)
        #expect(segments.count == count)
    }

    @Test func charactersCountWhatPeopleSee() {
        #expect(SMSSegments(text: "👍🏽 ok").characters == 4)
        #expect(SMSSegments(text: "👍🏽 ok").units == 7)
        #expect(SMSSegments(text: "line\r\nnext").characters == 9)
        #expect(SMSSegments(text: "").characters == 0)
    }

    @Test func capacities() {
        #expect(SMSSegments.capacity(of: .gsm7) == SMSSegments.Capacity(single: 160, perPart: 153))
        #expect(SMSSegments.capacity(of: .ucs2) == SMSSegments.Capacity(single: 70, perPart: 67))
    }

    @Test func renderedContent() {
        let sms = SMSSegments(content: .sms(SMSContent(body: "Sale ends tonight 🎉")))
        #expect(sms == SMSSegments(text: "Sale ends tonight 🎉"))
        #expect(sms?.encoding == .ucs2)
        #expect(sms?.count == 1)
        #expect(SMSSegments(content: .push(PushContent(title: "Hi", body: "Sale"))) == nil)
        #expect(SMSSegments(content: .email(EmailContent(subject: "Hi", text: "Sale"))) == nil)
    }

    @Test func providerLimits() throws {
        let twilio = try #require(SMSProviderRules(kind: .twilio))
        #expect(twilio.maximumCharacters == 1600)
        #expect(SMSProviderRules(kind: .vonage)?.maximumCharacters == 1600)
        #expect(SMSProviderRules(kind: .sendgrid) == nil)
        #expect(SMSProviderRules(kind: .apns) == nil)
        #expect(twilio.problem(with: SMSSegments(text: Self.a(1600)), provider: "twilio") == nil)
        #expect(
            twilio.problem(with: SMSSegments(text: Self.a(1601)), provider: "twilio")
                == "the SMS body has 1601 characters; twilio takes at most 1600"
        )
        #expect(twilio.problem(with: SMSSegments(text: ""), provider: "twilio") == "the SMS body rendered empty")
        // The limit counts characters, not units: 1,600 emoji are 3,200 units and still accepted.
        let emoji = SMSSegments(text: String(repeating: "😀", count: 1600))
        #expect(emoji.units == 3200)
        // 33 emoji (66 units) per part: 49 parts, where 3,200 / 67 would say 48.
        #expect(emoji.count == 49)
        #expect(twilio.problem(with: emoji, provider: "twilio") == nil)
    }
}
