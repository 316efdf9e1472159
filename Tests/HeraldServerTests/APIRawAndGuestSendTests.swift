import Foundation
import HTTPTypes
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldServer
import HeraldStore
import HeraldTesting
import Testing

/// `POST /v1/notifications` in the raw form (`subject`, `content`, `from`), to people Herald does
/// not know (by `email`, `phone`, `token`), and with content a provider would refuse.
@Suite struct APIRawAndGuestSendTests {
    static let receipt = #"""
        {"to": [{"email": "bo@example.com"}], "from": {"email": "orders@example.com", "name": "Shop Orders"}, "subject": "Receipt {{order}}",
         "content": [{"type": "text/html", "value": "<p>Paid <b>12 EUR</b> {{amount}}</p>"}]}
        """#

    @Test func aRawEmailToAnAddressIsSentAsGivenFromItsSenderToOneGuest() async throws {
        try await APISendTests.run { harness, client, send in
            let response = try await client.call(.post, "/v1/email/send", auth: send, body: Self.receipt)
            #expect(response.status == .accepted, "\(response.text)")
            let notifications = try #require(response.json["notifications"] as? [[String: Any]])
            #expect(notifications.map { "\($0["channel"]!) \($0["state"]!) \($0["recipient"]!) \(($0["guest"] as? Bool) == true)" } == ["email planned 0 true"])
            let guest = try #require(notifications.first?["user_id"] as? String)
            #expect(guest.hasPrefix("guest-") && !guest.contains("bo"), "the id does not show the address")
            #expect(response.json["template"] == nil)

            // Stored as given: nothing substituted, the text part derived from the HTML, the sender kept.
            let stored = try await harness.rows("SELECT campaign_id, address, content FROM notifications WHERE user_id = ?", [guest])
            #expect(stored.first?[0...1] == ["api:(raw)", "bo@example.com"])
            let json = try #require(stored.first?[2])
            let content = try #require(NotificationContent(jsonText: json))
            guard case .email(let email) = content else { Issue.record("not an email: \(content)"); return }
            #expect(email.subject == "Receipt {{order}}")
            #expect(email.html?.hasPrefix("<p>Paid <b>12 EUR</b> {{amount}}</p>") == true, "tracking may add its pixel after the text")
            #expect(email.text.contains("Paid 12 EUR {{amount}}"))
            #expect(email.fromEmail == "orders@example.com" && email.fromName == "Shop Orders")
            #expect(try await harness.rows("SELECT guest, email FROM users WHERE id = ?", [guest]) == [["1", "bo@example.com"]])

            // The same address in other case is the same guest; a known user and a guest in one send.
            let again = try await client.call(.post, "/v1/notifications", auth: send, body: #"""
                {"to": [{"user_id": "u1"}, {"email": "BO@example.com"}], "subject": "Hello", "content": [{"type": "text/plain", "value": "Hi there"}], "channels": ["email"]}
                """#)
            #expect(again.status == .accepted, "\(again.text)")
            let both = try #require(again.json["notifications"] as? [[String: Any]])
            #expect(both.map { "\($0["user_id"]!) \($0["recipient"]!) \($0["state"]!)" } == ["u1 0 planned", "\(guest) 1 planned"])
            #expect(try await harness.rows("SELECT COUNT(*) FROM users WHERE guest = 1") == [["1"]])

            // No campaign audience selects a guest, whatever its rule.
            #expect(try await harness.store.countUsers(matching: .everyone) == 1)
            let rule = RuleSource(text: #"email ends_with "example.com""#, location: SourceLocation(file: "test", line: 1, column: 1))
            #expect(try await harness.store.countUsers(matching: .rule(rule, now: harness.clock.now, campaignID: "c")) == 1)
            #expect(try await harness.store.countUsers(matching: .ids([guest, "u1"])) == 2, "a send that names the guest reaches them")
            // The report counts the guest's notifications under the raw sends' campaign.
            let report = try await harness.store.report(campaignID: DirectSend.rawCampaignID)
            let total = try #require(report.first { $0.occurrenceID == nil })
            #expect(total.pending == 3 && total.recipients == 2, "three emails to two people (Ana and the guest) in all")
        }
    }

    @Test func aGuestWhoUnsubscribesIsSkippedByTheNextMarketingSendToTheAddress() async throws {
        try await APISendTests.run { harness, client, send in
            let body = #"{"to": [{"email": "bo@example.com"}], "subject": "Sale", "content": [{"type": "text/plain", "value": "30% off"}], "category": "marketing"}"#
            let first = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            #expect(first.status == .accepted, "\(first.text)")
            let notification = try #require((first.json["notifications"] as? [[String: Any]])?.first)
            let guest = try #require(notification["user_id"] as? String)
            #expect(notification["channel"] as? String == "email" && notification["state"] as? String == "planned")
            let sendID = try #require(first.json["send_id"] as? Int)
            let key = NotificationKey(occurrenceID: Int64(sendID), userID: guest, channel: .email, device: "")
            let unsubscribe = try await client.call(.post, "/u/" + harness.links.token(for: key), body: "List-Unsubscribe=One-Click")
            #expect(unsubscribe.status == .ok)

            let second = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            let states = try #require(second.json["notifications"] as? [[String: Any]]).map { "\($0["user_id"]!) \($0["state"]!) \($0["reason"] ?? "-")" }
            // Opted out of marketing email; the raw content could also go by push or SMS, for which
            // a guest by email has no address.
            #expect(states == ["\(guest) skipped opted_out", "\(guest) skipped no_address", "\(guest) skipped no_address"])
            // A transactional send still reaches them; erasing the guest works as for any user.
            let receipt = try await client.call(.post, "/v1/notifications", auth: send, body: body.replacingOccurrences(of: "marketing", with: "transactional"))
            #expect((receipt.json["notifications"] as? [[String: Any]])?.first?["state"] as? String == "planned")
            let users = try await harness.key([.users])
            #expect(try await client.call(.delete, "/v1/users/\(guest)", auth: users).status == .ok)
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications WHERE address = 'bo@example.com'") == [["0"]])
        }
    }

    @Test func anOptOutOfAUserHoldsForASendToTheirAddressAndGuestsGetNoEvents() async throws {
        try await APISendTests.run { harness, client, send in
            // Ana (u1, ana@example.com) turned marketing email off.
            let users = try await harness.key([.users])
            _ = try await client.call(.patch, "/v1/users/u1/preferences", auth: users, body: #"{"email:marketing": false}"#)
            let body = #"{"to": [{"email": "ANA@example.com"}], "subject": "Sale", "content": [{"type": "text/plain", "value": "30% off"}], "category": "marketing", "channels": ["email"]}"#
            let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            let states = try #require(response.json["notifications"] as? [[String: Any]]).map { "\($0["state"]!) \($0["reason"] ?? "-")" }
            #expect(states == ["skipped opted_out"], "\(response.text)")
            let receipt = try await client.call(.post, "/v1/notifications", auth: send, body: body.replacingOccurrences(of: "marketing", with: "transactional"))
            #expect((receipt.json["notifications"] as? [[String: Any]])?.first?["state"] as? String == "planned", "a receipt still goes")

            // The other way round: a guest at Ana's number unsubscribes from a marketing SMS, and
            // Ana (u1) is opted out of marketing SMS too.
            let sms = try await client.call(.post, "/v1/sms/send", auth: send, body: #"{"to": [{"phone": "+14155550100"}], "content": [{"type": "text/plain", "value": "30% off"}], "category": "marketing"}"#)
            let smsNotification = try #require((sms.json["notifications"] as? [[String: Any]])?.first)
            #expect(smsNotification["state"] as? String == "planned", "\(sms.text)")
            let smsGuest = try #require(smsNotification["user_id"] as? String)
            let smsKey = NotificationKey(occurrenceID: Int64(try #require(sms.json["send_id"] as? Int)), userID: smsGuest, channel: .sms, device: "")
            #expect(try await client.call(.post, "/u/" + harness.links.token(for: smsKey), body: "List-Unsubscribe=One-Click").status == .ok)
            let preferences = try await client.call(.get, "/v1/users/u1/preferences", auth: users)
            #expect((preferences.json["preferences"] as? [String: Bool])?["sms:marketing"] == false, "\(preferences.text)")

            // Events trigger campaigns, and no campaign is for guests.
            let guest = try #require((response.json["notifications"] as? [[String: Any]])?.first?["user_id"] as? String)
            let events = try await harness.key([.events])
            let event = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "\#(guest)", "name": "order_shipped"}"#)
            #expect(event.status == .notFound && event.errorMessage.contains("is a guest"), "\(event.text)")
            #expect(try await harness.rows("SELECT COUNT(*) FROM received_events") == [["0"]])
        }
    }

    @Test func aPhoneAndAPushTokenReachGuestsOnTheirChannel() async throws {
        try await APISendTests.run { harness, client, send in
            let body = #"""
                {"to": [{"phone": "+14155550199"}, {"token": "fcm-token-0001", "service": "fcm"}, {"subscription": {"endpoint": "https://push.example.net/s/1", "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}}}],
                 "subject": "Code", "content": [{"type": "text/plain", "value": "Your code is 123456"}], "channels": ["sms", "push"]}
                """#
            let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            #expect(response.status == .accepted, "\(response.text)")
            let notifications = try #require(response.json["notifications"] as? [[String: Any]])
            let lines = notifications.map { "\($0["recipient"]!) \($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "-")" }.sorted()
            #expect(lines == [
                "0 push skipped not_needed", "0 sms planned -",
                "1 push planned -", "1 sms skipped no_address",
                "2 push planned -", "2 sms skipped no_address",
            ])
            let devices = try await harness.rows("SELECT service, address FROM devices ORDER BY service")
            #expect(devices == [["fcm", "fcm-token-0001"], ["webpush", "https://push.example.net/s/1"]])
            let push = try await harness.rows("SELECT provider, content FROM notifications WHERE channel = 'push' AND state = 'planned' ORDER BY provider")
            #expect(push.map { $0[0] } == ["fcm", "webpush"])
            #expect(push.allSatisfy { $0[1].contains(#""title":"Code""#) && $0[1].contains("Your code is 123456") })
        }
    }

    @Test func contentAProviderWouldRefuseIsSkippedAsOverLimitAndTheNextChannelTried() async throws {
        try await APISendTests.run { harness, client, send in
            let users = try await harness.key([.users])
            let device = #"{"platform": "android", "token": "fcm-token-ana"}"#
            #expect(try await client.call(.post, "/v1/users/u1/devices", auth: users, body: device).status == .created)
            let long = String(repeating: "x", count: 4100)
            let body = #"{"to": [{"user_id": "u1"}], "template": "order-shipped", "params": {"order_id": "\#(long)"}, "channels": ["push", "sms"]}"#
            let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            #expect(response.status == .accepted, "\(response.text)")
            let notifications = try #require(response.json["notifications"] as? [[String: Any]])
            #expect(notifications.map { "\($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "-")" } == ["push skipped over_limit", "sms skipped over_limit"])
            let details = notifications.compactMap { $0["detail"] as? String }
            #expect(details.count == 2 && details[0].contains("FCM payload") && details[0].contains("at most 4000"), "\(details)")
            #expect(details.last?.contains("at most 1600") == true, "\(details)")
            #expect(try await harness.rows("SELECT COUNT(*) FROM outbox") == [["0"]], "nothing a provider would refuse is queued")

            // Shorter content fits the push, which is then sent (and the SMS not needed).
            let fallback = try await client.call(.post, "/v1/notifications", auth: send, body: body.replacingOccurrences(of: long, with: String(repeating: "y", count: 1000)))
            let states = try #require(fallback.json["notifications"] as? [[String: Any]]).map { "\($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "-")" }
            #expect(states == ["push planned -", "sms skipped not_needed"])
        }
    }

    @Test func aBadRawOrGuestSendIsRefusedWithTheFieldNamedAndWritesNothing() async throws {
        try await APISendTests.run { harness, client, send in
            let text = #""content": [{"type": "text/plain", "value": "Hi"}]"#
            let cases: [(String, String, String)] = [
                (#"{"to": [{"email": "bo@"}], "subject": "S", \#(text)}"#, "request.invalid_field", "to[0].email"),
                (#"{"to": [{"phone": "415 555 0199"}], \#(text)}"#, "request.invalid_field", "to[0].phone"),
                (#"{"to": [{"user_id": "u1", "email": "bo@example.com"}], "subject": "S", \#(text)}"#, "request.invalid_field", "to[0].email"),
                (#"{"to": [{"token": "t", "service": "fax"}], \#(text)}"#, "request.invalid_field", "to[0].service"),
                (#"{"to": [{"name": "Bo"}], \#(text)}"#, "request.invalid_field", "to[0].name"),
                (#"{"to": [{}], \#(text)}"#, "request.missing_field", "to[0].user_id"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "subject": "S"}"#, "request.invalid_field", "subject"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", \#(text), "params": {"a": 1}}"#, "request.invalid_field", "params"),
                (#"{"to": [{"user_id": "u1"}], "subject": "Line\nBreak", \#(text)}"#, "request.invalid_field", "subject"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", "content": [{"type": "text/rtf", "value": "x"}]}"#, "request.invalid_field", "content[0].type"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", "content": [{"type": "text/plain", "value": ""}]}"#, "request.invalid_field", "content[0].value"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", "content": []}"#, "request.invalid_field", "content"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", \#(text), "from": {"email": "not-an-address"}}"#, "request.invalid_field", "from.email"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", \#(text), "from": {"email": "a@example.com", "reply": 1}}"#, "request.invalid_field", "from.reply"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", "content": [{"type": "text/html", "value": "<p>x</p>"}], "channels": ["sms"]}"#, "request.invalid_field", "content"),
                (#"{"to": [{"user_id": "u1"}], "content": [{"type": "text/html", "value": "<p>x</p>"}]}"#, "request.invalid_field", "subject"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", \#(text), "from": {"email": "ceo@other.example.org"}}"#, "request.invalid_field", "from.email"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", \#(text), "from": {"email": "a<b>@example.com"}}"#, "request.invalid_field", "from.email"),
                (#"{"to": [{"user_id": "u1"}], "subject": "S", \#(text), "from": {"email": "a@example.com", "name": "A\r\nBcc: x@y.z"}}"#, "request.invalid_field", "from.name"),
            ]
            for (body, code, field) in cases {
                let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.errorCode == code, "\(body): \(response.text)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            let noSubject = try await client.call(.post, "/v1/email/send", auth: send, body: #"{"to": [{"user_id": "u1"}], \#(text)}"#)
            #expect(noSubject.status == .unprocessableContent && noSubject.errorField == "subject" && noSubject.errorMessage.contains("needs a subject"))
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["0"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM users") == [["1"]], "no guest is stored for a refused send")

            // No user may be written under a guest's id (PUT or import)...
            let users = try await harness.key([.users])
            let first = try await client.call(.post, "/v1/email/send", auth: send, body: #"{"to": [{"email": "cy@example.com"}], "subject": "S", \#(text)}"#)
            let guest = try #require((first.json["notifications"] as? [[String: Any]])?.first?["user_id"] as? String)
            let put = try await client.call(.put, "/v1/users/\(guest)", auth: users, body: #"{"email": "eve@example.net"}"#)
            #expect(put.status == .unprocessableContent && put.errorField == "id" && put.errorMessage.contains("guest-"), "\(put.text)")
            #expect(try await harness.rows("SELECT email, guest FROM users WHERE id = ?", [guest]) == [["cy@example.com", "1"]])
            // ...but one written before that rule (here straight into the store) is never mailed
            // as the guest: the send is refused and writes nothing.
            #expect(try await client.call(.delete, "/v1/users/\(guest)", auth: users).status == .ok)
            _ = try await harness.store.upsertUsers([User(id: guest, email: "eve@example.net")], at: harness.clock.now)
            let before = try await harness.rows("SELECT (SELECT COUNT(*) FROM occurrences), (SELECT COUNT(*) FROM notifications)")
            let taken = try await client.call(.post, "/v1/email/send", auth: send, body: #"{"to": [{"email": "cy@example.com"}], "subject": "S", \#(text)}"#)
            #expect(try await harness.rows("SELECT (SELECT COUNT(*) FROM occurrences), (SELECT COUNT(*) FROM notifications)") == before)
            #expect(taken.status == .conflict && taken.errorField == "to[0]", "\(taken.text)")
        }
    }

    /// Sends of one template in one millisecond take successive occurrence instants to stay
    /// distinct; the report still dates each at its request, not later.
    @Test func theReportDatesEachAPISendAtItsRequestHoweverManyComeAtOnce() async throws {
        try await APISendTests.run { harness, client, send in
            for _ in 0..<5 {
                let response = try await client.call(.post, "/v1/notifications", auth: send, body: APISendTests.order)
                #expect(response.status == .accepted, "\(response.text)")
            }
            let fireInstants = try await harness.rows("SELECT DISTINCT fire_at FROM occurrences WHERE campaign_id = 'api:order-shipped'")
            #expect(fireInstants.count == 5, "five distinct occurrences")
            let report = try await harness.store.report(campaignID: "api:order-shipped")
            let sends = report.filter { $0.occurrenceID != nil }
            #expect(sends.count == 5 * 2, "five sends on two channels")
            #expect(sends.allSatisfy { $0.fireAt == harness.clock.now }, "\(sends.map(\.fireAt))")
        }
    }
}
