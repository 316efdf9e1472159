import Foundation
@testable import HeraldContent
import HeraldCore
import Testing

@Suite struct UnsubscribeLinksTests {
    let links = UnsubscribeLinks(baseURL: "https://t.example.com", secret: "a-long-tracking-secret")
    let key = NotificationKey(occurrenceID: 12, userID: "user:with.dots/and spaces", channel: .email)

    @Test func aLinkCarriesItsNotificationAndVerifiesWithTheSecret() throws {
        let url = links.url(for: key)
        #expect(url.hasPrefix("https://t.example.com/u/"))
        let token = String(url.dropFirst("https://t.example.com/u/".count))
        // URL-safe: nothing to escape in a path segment.
        #expect(token.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) })
        #expect(links.key(fromToken: token) == key)
        #expect(links.token(for: key) == token)
    }

    @Test func aTokenSignedWithAnotherSecretOrAlteredDoesNotVerify() throws {
        let token = links.token(for: key)
        #expect(UnsubscribeLinks(baseURL: "https://t.example.com", secret: "another-secret-entirely").key(fromToken: token) == nil)
        let other = links.token(for: NotificationKey(occurrenceID: 13, userID: key.userID, channel: .email))
        let forged = String(other.split(separator: ".")[0]) + "." + String(token.split(separator: ".")[1])
        #expect(links.key(fromToken: forged) == nil)
        for bad in ["", ".", "abc", "a.b.c", String(repeating: "A", count: 10_000), token + "x"] {
            #expect(links.key(fromToken: bad) == nil)
        }
    }

    @Test func theRendererPutsTheLinkInUnsubscribeURL() throws {
        let template = Template(
            name: "digest",
            base: TemplateContent(
                email: EmailTemplate(subject: bodyFile("News", "templates/digest.yml"), html: bodyFile("<a href=\"{{unsubscribe_url}}\">stop</a>", "templates/digest.yml")),
                file: "templates/digest.yml"
            )
        )
        let rendered = try ContentRenderer(templates: ["digest": template])
            .render(template: "digest", channel: .email, locale: nil, variables: [:], unsubscribeURL: links.url(for: key))
        guard case .email(let email) = rendered.content else { Issue.record("not an email"); return }
        #expect(email.html == "<a href=\"\(links.url(for: key))\">stop</a>")
        #expect(email.text.contains(links.url(for: key)))
    }
}

@Suite struct Base64URLTests {
    /// Every length around the three-byte groups, and every byte value, against Foundation's
    /// base64 with RFC 4648 §5's alphabet and no padding.
    @Test func matchesFoundationsBase64WithTheURLAlphabetAndNoPadding() {
        var generator = SplitMix64(seed: 3)
        let inputs = (0..<70).map { length in Data((0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }) } + [Data(0...255)]
        for data in inputs {
            let expected = data.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(UnsubscribeLinks.base64URL(data) == expected, "\(data.count) bytes")
            #expect(UnsubscribeLinks.data(base64URL: Substring(UnsubscribeLinks.base64URL(data))) == data)
        }
    }
}
