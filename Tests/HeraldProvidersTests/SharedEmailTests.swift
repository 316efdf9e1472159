import Foundation
import HeraldContent
import HeraldCore
@testable import HeraldProviders
import HeraldSandbox
import Testing

/// Tracked mail of one template: the same text, with links signed for each notification, as the
/// planner renders it (`TrackingLinks` and `UnsubscribeLinks` with one secret).
enum TrackedMail {
    static let base = "https://t.example.com"
    static let unsubscribe = UnsubscribeLinks(baseURL: base, secret: "0123456789abcdef-secret")
    static let tracking = TrackingLinks(baseURL: base, secret: "0123456789abcdef-secret")

    static func message(_ id: Int64, subject: String = "Winter sale", html: String? = nil, text: String? = nil) -> OutboundMessage {
        let key = NotificationKey(occurrenceID: 7, userID: "u-\(id)", channel: .email)
        let unsubscribeURL = unsubscribe.url(for: key)
        let page = html ?? """
            <html><body><p>Hello!</p><a href="https://shop.example.com/sale?from=mail&amp;x=1">Shop</a> \
            <a href='https://shop.example.com/boots'>Boots</a> <a href="mailto:help@example.com">Help</a> \
            <a href="\(unsubscribeURL)">Unsubscribe</a></body></html>
            """
        let tracked = tracking.tracked(html: page, for: key, keeping: unsubscribeURL)
        return OutboundMessage(
            notificationID: id, occurrenceID: 7, campaignID: "winter-sale", userID: key.userID, channel: .email, category: "marketing",
            provider: "sendgrid", address: "user\(id)@example.com",
            content: .email(EmailContent(subject: subject, html: tracked, text: text ?? "Sale! Unsubscribe: \(unsubscribeURL)")), attempt: 1,
            unsubscribeURL: unsubscribeURL
        )
    }

    static func content(_ message: OutboundMessage) -> EmailContent {
        guard case .email(let content) = message.content else { fatalError("not an email") }
        return content
    }

    /// What SendGrid makes of the shared content for one recipient.
    static func substituted(_ text: String, _ email: SharedEmail) -> String {
        var out = text
        for (tag, value) in email.substitutions { out = out.replacingOccurrences(of: tag, with: value) }
        return out
    }
}

@Suite struct SharedEmailTests {
    @Test func trackedMailOfOneTemplateSharesItsContentAndEachGetsItsOwnLinksBack() throws {
        let messages = (1...3).map { TrackedMail.message($0) }
        let shared = messages.map { SharedEmail($0, content: TrackedMail.content($0)) }
        // The pixel, two rewritten links and the unsubscribe link (in the HTML and the text, one value).
        #expect(shared.allSatisfy { $0.values.count == 4 }, "\(shared.map(\.values))")
        #expect(Set(shared.map(\.content)).count == 1)
        let html = try #require(shared[0].content.html)
        #expect(html.contains(#"<img src="https://t.example.com/o/%herald"#))
        #expect(html.contains(#"href="https://t.example.com/c/%herald"#) && html.contains(#"href="mailto:help@example.com""#))
        #expect(shared[0].content.text.hasPrefix("Sale! Unsubscribe: https://t.example.com/u/%herald"))
        for (message, email) in zip(messages, shared) {
            let original = TrackedMail.content(message)
            #expect(TrackedMail.substituted(email.content.html ?? "", email) == original.html)
            #expect(TrackedMail.substituted(email.content.text, email) == original.text)
            #expect(email.content.subject == original.subject)
            // The values are the tokens themselves, each one signed for this notification.
            #expect(email.values.allSatisfy { !$0.contains("/") && $0.contains(".") })
        }
        #expect(Set(shared.flatMap(\.values)).count == 12)
    }

    /// Without a tracking base, with text that already holds a tag, or with more than SendGrid's
    /// 10,000 bytes of values, the content is kept whole.
    @Test func contentIsKeptWholeWhenTakingLinksOutCouldChangeIt() {
        var untracked = TrackedMail.message(1)
        untracked.unsubscribeURL = nil
        #expect(SharedEmail(untracked, content: TrackedMail.content(untracked)) == SharedEmail(content: TrackedMail.content(untracked), values: []))

        let tagged = TrackedMail.message(2, subject: "50% off, code %herald0%")
        #expect(SharedEmail(tagged, content: TrackedMail.content(tagged)).values.isEmpty)

        let links = (1...120).map { #"<a href="https://shop.example.com/product/\#($0)?utm_source=newsletter&amp;utm_medium=email">p\#($0)</a>"# }
        let long = TrackedMail.message(3, html: "<html><body>\(links.joined())</body></html>")
        let whole = SharedEmail(long, content: TrackedMail.content(long))
        #expect(whole.values.isEmpty && whole.content == TrackedMail.content(long))

        let plain = email(4, to: "a@example.com", html: "<p>No links</p>", text: "None")
        #expect(SharedEmail(plain, content: TrackedMail.content(plain)).values.isEmpty)
    }

    /// Another site's `/c/…` or `/u/…` links and Herald's base without a token are left alone.
    @Test func onlyHeraldsOwnSignedLinksAreTakenOut() throws {
        var message = TrackedMail.message(1)
        let html = #"<a href="https://other.example.com/c/abc.def">x</a> https://t.example.com/c/ https://t.example.com/x/abc.def"#
        message.content = .email(EmailContent(subject: "s", html: html, text: "end https://t.example.com/u/Ab-_9.x"))
        let email = SharedEmail(message, content: TrackedMail.content(message))
        #expect(email.values == ["Ab-_9.x"])
        #expect(email.content.text == "end https://t.example.com/u/%herald0%")
        #expect(email.content.html == html)
    }

    @Test func theBatchKeyOfTrackedMailIsTheSameForEveryRecipient() {
        let transport = SendGridTransport(name: "sendgrid", configuration: .init(apiKey: "k", from: EmailAddress(email: "news@example.com")), http: ProviderHTTPClient())
        let keys = (1...5).map { transport.batchKey(for: TrackedMail.message($0)) }
        #expect(Set(keys.compactMap { $0 }).count == 1)
        #expect(transport.batchKey(for: TrackedMail.message(6, subject: "Other")) != keys[0])
    }
}

@Suite(.timeLimit(.minutes(3)))
struct SharedEmailDeliveryTests {
    static func sendGrid(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient) -> SendGridTransport {
        SendGridTransport(name: "sendgrid", configuration: SendGridTransport.Configuration(
            apiKey: sandbox.accounts.sendGridAPIKey, from: EmailAddress(email: "news@example.com"), baseURL: sandbox.baseURL(for: .sendgrid)
        ), http: http)
    }

    /// 1,500 tracked emails of one template: two requests, and each recipient receives exactly
    /// the content rendered for them, signed links included.
    @Test func trackedMailGoesOutAThousandARequestAndEachRecipientGetsTheirOwnLinks() async throws {
        try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let transport = Self.sendGrid(sandbox, http)
            let messages = (1...1500).map { TrackedMail.message($0) }
            let outcomes = await transport.send(messages)
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes.first { kind(of: $0) != "accepted" } as Any)")
            #expect(sandbox.log.requests.count == 2)
            #expect(Set(outcomes.map { reason(of: $0) }).count == 2)
            let received = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0) })
            #expect(received.count == 1500)
            for message in messages {
                let content = TrackedMail.content(message)
                let record = try #require(received[message.address])
                #expect(record.html == content.html && record.text == content.text && record.subject == content.subject)
                #expect(record.headers["List-Unsubscribe"] == "<\(message.unsubscribeURL!)>")
            }
            // The links a recipient got verify as theirs.
            let html = try #require(received["user1500@example.com"]?.html)
            let token = try #require(html.components(separatedBy: "https://t.example.com/o/").last?.components(separatedBy: "\"").first)
            #expect(TrackedMail.tracking.target(ofToken: token)?.key.userID == "u-1500")
        }
    }

    /// Three API sends of one template to one person (signed links apart, the same email) and
    /// two to others: SendGrid refuses an address twice in a request, so they go in three
    /// requests, and each one is accepted.
    @Test func mailToOneAddressTwiceGoesInSeparateRequestsAndIsAccepted() async throws {
        try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let transport = Self.sendGrid(sandbox, http)
            var messages = (1...5).map { TrackedMail.message($0) }
            for index in 0..<3 { messages[index].address = index == 1 ? "Ana@example.com" : "ana@example.com" }
            let outcomes = await transport.send(messages)
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes)")
            #expect(sandbox.log.requests.count == 3)
            #expect(sandbox.log.messages.filter { $0.to.lowercased() == "ana@example.com" }.count == 3)
            #expect(Set(sandbox.log.messages.compactMap { $0.metadata[SendGridTransport.notificationArgument] }) == ["1", "2", "3", "4", "5"])
        }
    }

    @Test func requestsNeverNameAnAddressTwiceAndKeepTheirLimit() {
        let addresses = ["a", "b", "a", "A", "c", "d", "a", "e", "f"]
        let requests = distinctAddressRequests(Array(addresses.indices), limit: 3) { addresses[$0] }
        #expect(requests == [[0, 1, 4], [2, 5, 7], [3, 8], [6]])
        #expect(distinctAddressRequests([], limit: 3) { addresses[$0] } == [])
    }

    /// The sandbox checks substitutions as SendGrid documents them: an object of strings of at
    /// most 10,000 bytes.
    @Test func substitutionsThatAreNotStringsOrTooLargeAreRefusedWithTheirField() async throws {
        try await withSandbox { sandbox, http in
            func post(_ substitutions: String) async throws -> (status: Int, body: String) {
                let body = #"{"personalizations":[{"to":[{"email":"a@example.com"}],"substitutions":\#(substitutions)}],"from":{"email":"n@example.com"},"subject":"s","content":[{"type":"text/plain","value":"Hi %n%"}]}"#
                let answer = try await withRawClient { client in
                    try await raw(client, sandbox.baseURL(for: .sendgrid) + "/v3/mail/send", headers: [
                        ("Authorization", "Bearer \(sandbox.accounts.sendGridAPIKey)"), ("Content-Type", "application/json"),
                    ], body: Data(body.utf8))
                }
                return (answer.status, answer.body)
            }
            let number = try await post(#"{"%n%": 1}"#)
            #expect(number.status == 400 && number.body.contains(#""field":"personalizations.0.substitutions""#) && number.body.contains("must be strings"))
            let large = try await post(#"{"%n%": "\#(String(repeating: "x", count: 10_001))"}"#)
            #expect(large.status == 400 && large.body.contains("may not exceed 10,000 bytes"))
            let list = try await post(#"["%n%"]"#)
            #expect(list.status == 400 && list.body.contains("Expected: object, given: array"))
            #expect(sandbox.log.messages.isEmpty)
            let good = try await post(#"{"%n%": "Ann"}"#)
            #expect(good.status == 202)
            #expect(sandbox.log.messages.map(\.text) == ["Hi Ann"])
        }
    }
}
