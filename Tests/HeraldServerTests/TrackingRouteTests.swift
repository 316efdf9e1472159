import Foundation
import HTTPTypes
import HeraldContent
import HeraldCore
import HeraldServer
import HeraldStore
import HeraldTesting
import Testing

/// Open and click tracking: the planned email's links and pixel, and the endpoints that count them.
@Suite struct TrackingRouteTests {
    /// Ana and a winter-sale email planned for her; the email's stored HTML.
    static func run(_ body: @Sendable (APIHarness, APIClient, _ html: String, _ key: NotificationKey) async throws -> Void) async throws {
        try await APIHarness.run { harness, client in
            let users = try await harness.key([.users])
            _ = try await client.call(.put, "/v1/users/u1", auth: users, body: APIRouteTests.ana)
            let occurrence = try await harness.send("winter-sale", to: ["u1"])
            let content = try #require(try await harness.rows("SELECT content FROM notifications WHERE channel = 'email'").first?.first)
            guard case .email(let email)? = NotificationContent(jsonText: content), let html = email.html else {
                throw APIHarnessError()
            }
            try await body(harness, client, html, NotificationKey(occurrenceID: occurrence.id, userID: "u1", channel: .email, device: ""))
        }
    }

    static func paths(_ prefix: String, in html: String) -> [String] {
        html.matches(of: /http:\/\/127\.0\.0\.1:8080(\/[oc]\/[A-Za-z0-9_\-.]+)/).map { String($0.1) }.filter { $0.hasPrefix(prefix) }
    }

    @Test func theEmailsLinksGoThroughClickTrackingAndItCarriesAnOpenPixel() async throws {
        try await Self.run { harness, _, html, key in
            #expect(!html.contains("href=\"https://shop.example.com"), "every shop link is tracked")
            let clicks = Self.paths("/c/", in: html)
            #expect(!clicks.isEmpty)
            #expect(Self.paths("/o/", in: html).count == 1)
            // The one-click unsubscribe link stays as it is: a link scanner must not unsubscribe
            // anyone, and it needs no click count.
            #expect(html.contains(harness.links.url(for: key)))
            let firstClick = try #require(clicks.first)
            let target = try #require(harness.tracking.target(ofToken: String(firstClick.dropFirst(3))))
            #expect(target.kind == .click && target.key == key && target.url?.hasPrefix("https://shop.example.com") == true)
        }
    }

    @Test func opensAreCountedFirstRepeatAndMachineAndClicksRedirectToTheSignedURLOnly() async throws {
        try await Self.run { harness, client, html, key in
            let pixel = try #require(Self.paths("/o/", in: html).first)
            let first = try await client.call(.get, pixel)
            #expect(first.status == .ok && first.headers[.contentType] == "image/gif")
            _ = try await client.call(.get, pixel)
            _ = try await client.call(.get, pixel, headers: ["User-Agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"])
            #expect(try await harness.rows("SELECT reason FROM events WHERE type = 'opened' ORDER BY id") == [["first"], ["repeat"], ["machine"]])

            let click = try #require(Self.paths("/c/", in: html).first)
            let target = try #require(harness.tracking.target(ofToken: String(click.dropFirst(3))))
            let redirect = try await client.call(.get, click)
            #expect(redirect.status == .found && redirect.headers[.location] == target.url)
            #expect(try await harness.rows("SELECT reason, detail FROM events WHERE type = 'clicked'") == [["first", "herald: \(target.url!)"]])

            // A token for another URL that Herald did not sign is refused: no open redirect.
            let evil = harness.tracking.token(.click, for: key, url: "https://evil.example.com")
            var forged = String(click.dropFirst(3)).split(separator: ".")
            forged[0] = evil.split(separator: ".")[0]
            let refused = try await client.call(.get, "/c/" + forged.joined(separator: "."))
            #expect(refused.status == .notFound && refused.headers[.location] == nil)
            let other = TrackingLinks(baseURL: "x", secret: "another secret").token(.click, for: key, url: "https://evil.example.com")
            #expect(try await client.call(.get, "/c/\(other)").status == .notFound)
            // An unsubscribe token is not a click token.
            #expect(try await client.call(.get, "/c/" + harness.links.token(for: key)).status == .notFound)
            // A forged pixel still answers an image, and counts nothing.
            let bogus = try await client.call(.get, "/o/abc.def")
            #expect(bogus.status == .ok && bogus.headers[.contentType] == "image/gif")
            #expect(try await harness.rows("SELECT COUNT(*) FROM events WHERE type IN ('opened', 'clicked')") == [["4"]])

            // The report counts the notification once as opened and once as clicked.
            let row = try #require(try await harness.store.report(campaignID: "winter-sale").first { $0.channel == .email })
            let counts: [Int] = [row.opened, row.machineOpened, row.clicked]
            #expect(counts == [1, 1, 1])
            // Two more clicks on the link, by the same person: one person, three clicks.
            _ = try await client.call(.get, click)
            _ = try await client.call(.get, click)
            #expect(try await harness.store.topLinks(campaignID: "winter-sale", limit: 10) == [
                LinkClicks(campaignID: "winter-sale", url: target.url!, clicks: 3, notifications: 1),
            ])

            // A pixel fetched in a loop: the trail keeps at most 50 opens of one notification.
            for _ in 0..<60 { _ = try await client.call(.get, pixel) }
            #expect(try await harness.rows("SELECT COUNT(*) FROM events WHERE type = 'opened'") == [["50"]])
            let again = try #require(try await harness.store.report(campaignID: "winter-sale").first { $0.channel == .email })
            #expect(again.opened == 1, "still one person's open")
        }
    }
}
