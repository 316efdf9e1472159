import Foundation
import HeraldContent
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// Tracked marketing mail of one template, planned and sent by `herald send` to the sandbox's
/// SendGrid: it shares requests (a thousand a request, not one each, which is what open and click
/// tracking once made of it unnoticed), and each recipient still gets links signed for them.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct TrackedMailBatchingTests {
    static let secret = "sample-tracking-secret-change-me"

    @Test func trackedMailOfOneTemplateGoesOutInSharedRequestsWithEachRecipientsOwnLinks() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            #expect(try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8).contains(Self.secret))
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            try """
                campaign: hours
                description: New opening hours, the same for everyone
                category: marketing
                channels: [email]
                template: hours
                """.write(toFile: directory.file("campaigns/hours.yml"), atomically: true, encoding: .utf8)
            try """
                template: hours
                email:
                  subject: "Our new opening hours"
                  html: hours.html
                  text: hours.txt
                """.write(toFile: directory.file("templates/hours.yml"), atomically: true, encoding: .utf8)
            try """
                <html><body><p>From Monday we open at 9:00. <a href="https://shop.example.com/hours">All hours</a></p>
                <p><a href="{{unsubscribe_url}}">Unsubscribe</a></p></body></html>
                """.write(toFile: directory.file("templates/hours.html"), atomically: true, encoding: .utf8)
            try "From Monday we open at 9:00.\nUnsubscribe: {{unsubscribe_url}}\n".write(toFile: directory.file("templates/hours.txt"), atomically: true, encoding: .utf8)
            let generate = try await HeraldBinary.run(["users", "generate", "--count", "2500", "--seed", "11"], in: directory.path)
            #expect(generate.status == 0, "\(generate.stderr)")
            try await withSandbox(workspace: directory.path) { sandbox in
                let send = try await HeraldBinary.run(["send", "hours", "--now"], in: directory.path)
                #expect(send.status == 0, "\(send.stdout)\n\(send.stderr)")
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
                let sent = try await store.rows(sql: "SELECT id, user_id, provider FROM notifications WHERE channel = 'email' AND state = 'sent'")
                let users = Dictionary(uniqueKeysWithValues: sent.map { ($0[0], $0[1]) })
                #expect(sent.count > 1000, "\(sent.count) sent")
                #expect(sent.allSatisfy { $0[2] == "sendgrid" })
                let received = sandbox.log.messages.filter { $0.provider == .sendgrid }
                #expect(received.count == sent.count)
                // Shared requests: one X-Message-Id per request. The lane's first claims are
                // small (it learns that the rows share their content as it goes), so a few more
                // requests than a thousand a request, and far fewer than one each.
                let requests = Set(received.map(\.providerMessageID)).count
                #expect(requests <= sent.count / 50, "\(requests) requests for \(sent.count) emails")

                let tracking = TrackingLinks(baseURL: "http://127.0.0.1:8080", secret: Self.secret)
                let unsubscribe = UnsubscribeLinks(baseURL: "http://127.0.0.1:8080", secret: Self.secret)
                var pixels: Set<String> = []
                for message in received {
                    let notification = try #require(message.notificationID)
                    let user = try #require(users[notification])
                    let html = try #require(message.html)
                    #expect(!html.contains("%herald") && !(message.text ?? "").contains("%herald") && message.subject == "Our new opening hours")
                    func tokens(after prefix: String, in text: String) -> [String] {
                        text.components(separatedBy: "http://127.0.0.1:8080/\(prefix)/").dropFirst().map { String($0.prefix { $0 != "\"" && $0 != "\n" }) }
                    }
                    let opens = tokens(after: "o", in: html).compactMap { tracking.target(ofToken: $0) }
                    let clicks = tokens(after: "c", in: html).compactMap { tracking.target(ofToken: $0) }
                    let unsubscribes = (tokens(after: "u", in: html) + tokens(after: "u", in: message.text ?? "")).map { unsubscribe.key(fromToken: $0) }
                    #expect(opens.count == 1 && opens.allSatisfy { $0.key.userID == user && $0.kind == .open }, "\(html)")
                    #expect(clicks.map(\.url) == ["https://shop.example.com/hours"] && clicks.allSatisfy { $0.key.userID == user })
                    #expect(unsubscribes.count == 2 && unsubscribes.allSatisfy { $0?.userID == user })
                    #expect(message.headers["List-Unsubscribe"]?.contains("http://127.0.0.1:8080/u/") == true)
                    pixels.insert(tokens(after: "o", in: html).first ?? "")
                }
                #expect(pixels.count == received.count)
            }
        }
    }
}
