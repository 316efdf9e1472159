import Crypto
import Foundation
import HTTPTypes
import HeraldCore
import HeraldEngine
import HeraldServer
import HeraldStore
import HeraldTesting
import Testing

/// Provider webhooks: signed by the test as each provider signs (with its own code, not the
/// server's), applied once, and refused with 403 when unsigned, badly signed or stale.
@Suite struct WebhookRouteTests {
    static let sendGridKey = P256.Signing.PrivateKey()
    static let twilioToken = "twilio-auth-token"
    static let twilioURL = "https://t.example.com/webhooks/twilio"
    static let mandrillKey = "mandrill-webhook-key"
    static let mandrillURL = "https://t.example.com/webhooks/mandrill"
    static let secrets = WebhookSecrets(
        twilio: [.init(authToken: twilioToken, url: twilioURL)], sendGrid: [sendGridKey.publicKey.derRepresentation.base64EncodedString()],
        mandrill: [.init(key: mandrillKey, url: mandrillURL)]
    )

    /// Ana (u1), an SMS accepted by "twilio" as SM1 and a marketing email accepted by
    /// "sendgrid" as sg-1, both sent through a real dispatcher.
    static func run(_ body: @Sendable (APIHarness, APIClient, _ sms: Int64, _ email: Int64) async throws -> Void) async throws {
        try await APIHarness.run(webhooks: secrets) { harness, client in
            let users = try await harness.key([.users])
            #expect(try await client.call(.put, "/v1/users/u1", auth: users, body: APIRouteTests.ana).status == .created)
            let sms = try await harness.send("order-shipped", to: ["u1"])
            let email = try await harness.send("winter-sale", to: ["u1"])
            let transports: [any Transport] = [
                ScriptedTransport(name: "twilio", scripts: ["+14155550100": [.accepted(providerMessageID: "SM1")]]),
                ScriptedTransport(name: "sendgrid", scripts: ["ana@example.com": [.accepted(providerMessageID: "sg-1")]]),
            ]
            for channel in [Channel.sms, .email] {
                let dispatcher = Dispatcher(channel: channel, store: harness.store, transports: transports, retryPolicy: RetryPolicy(), clock: harness.clock)
                _ = try await dispatcher.drain()
            }
            let ids = try await harness.rows("SELECT id FROM notifications WHERE state = 'sent' AND occurrence_id IN (?, ?) ORDER BY channel DESC", [String(sms.id), String(email.id)])
            #expect(ids.count == 2, "both sent")
            try await body(harness, client, Int64(ids[0][0])!, Int64(ids[1][0])!)
        }
    }

    static func form(_ parameters: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return parameters.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
            .joined(separator: "&")
    }

    static func hmacSHA1(_ text: String, key: String) -> String {
        Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(key.utf8)))).base64EncodedString()
    }

    static func twilio(_ parameters: [(String, String)]) -> (body: String, signature: String) {
        let signed = twilioURL + parameters.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        return (form(parameters), hmacSHA1(signed, key: twilioToken))
    }

    static func sendGrid(_ events: [[String: Any]], at timestamp: Int) throws -> (body: String, headers: [String: String]) {
        let body = try JSONSerialization.data(withJSONObject: events)
        let signature = try sendGridKey.signature(for: Data(String(timestamp).utf8) + body).derRepresentation.base64EncodedString()
        return (String(decoding: body, as: UTF8.self), [
            "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": String(timestamp),
        ])
    }

    @Test func twilioCallbacksKeepTheFurthestStatusAndAStopReplyOptsOut() async throws {
        try await Self.run { harness, client, sms, _ in
            let delivered = Self.twilio([("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("AccountSid", "AC1")])
            let first = try await client.call(.post, "/webhooks/twilio", body: delivered.body, headers: ["X-Twilio-Signature": delivered.signature])
            #expect(first.status == .ok && first.json["applied"] as? Int == 1, "\(first.text)")
            // A late `sent` changes nothing; the same `delivered` again is a repeat.
            let late = Self.twilio([("MessageSid", "SM1"), ("MessageStatus", "sent"), ("AccountSid", "AC1")])
            _ = try await client.call(.post, "/webhooks/twilio", body: late.body, headers: ["X-Twilio-Signature": late.signature])
            let again = try await client.call(.post, "/webhooks/twilio", body: delivered.body, headers: ["X-Twilio-Signature": delivered.signature])
            #expect(again.json["repeated"] as? Int == 1)
            #expect(try await harness.rows("SELECT state FROM notifications WHERE id = ?", [String(sms)]) == [["delivered"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM events WHERE type = 'delivered'") == [["1"]])

            let stop = Self.twilio([("MessageSid", "SM9"), ("From", "+14155550100"), ("To", "+15005550006"), ("Body", " stop ")])
            let reply = try await client.call(.post, "/webhooks/twilio", body: stop.body, headers: ["X-Twilio-Signature": stop.signature])
            #expect(reply.status == .ok && reply.text == "<Response></Response>")
            #expect(try await harness.rows("SELECT key, opted_in FROM preferences WHERE user_id = 'u1'") == [["sms", "0"]])
        }
    }

    @Test func unsignedForgedOrStaleWebhooksGet403AndRecordNothing() async throws {
        try await Self.run { harness, client, sms, email in
            let delivered = Self.twilio([("MessageSid", "SM1"), ("MessageStatus", "delivered")])
            let unsigned = try await client.call(.post, "/webhooks/twilio", body: delivered.body)
            #expect(unsigned.status == .forbidden && unsigned.errorCode == "webhook.bad_signature")
            let tampered = try await client.call(
                .post, "/webhooks/twilio", body: delivered.body.replacingOccurrences(of: "SM1", with: "SM2"), headers: ["X-Twilio-Signature": delivered.signature]
            )
            #expect(tampered.status == .forbidden)
            let stop = Self.twilio([("From", "+14155550100"), ("Body", "STOP")])
            let forgedStop = try await client.call(.post, "/webhooks/twilio", body: stop.body, headers: ["X-Twilio-Signature": Self.hmacSHA1("x", key: "guess")])
            #expect(forgedStop.status == .forbidden)

            let now = Int(harness.clock.now.timeIntervalSince1970)
            let event: [String: Any] = ["event": "delivered", "sg_event_id": "e1", "sg_message_id": "sg-1.filter", "herald_notification_id": String(email), "timestamp": now]
            let stale = try Self.sendGrid([event], at: now - 600)
            let old = try await client.call(.post, "/webhooks/sendgrid", body: stale.body, headers: stale.headers)
            #expect(old.status == .forbidden && old.errorMessage.contains("at most 300 s"))
            let other = P256.Signing.PrivateKey()
            let body = try JSONSerialization.data(withJSONObject: [event])
            let wrongKey = try await client.call(.post, "/webhooks/sendgrid", body: String(decoding: body, as: UTF8.self), headers: [
                "X-Twilio-Email-Event-Webhook-Signature": try other.signature(for: Data(String(now).utf8) + body).derRepresentation.base64EncodedString(),
                "X-Twilio-Email-Event-Webhook-Timestamp": String(now),
            ])
            #expect(wrongKey.status == .forbidden)
            // A timestamp at the edge of Int64 is refused, not an arithmetic overflow.
            let extreme = try await client.call(.post, "/webhooks/sendgrid", body: "[]", headers: [
                "X-Twilio-Email-Event-Webhook-Signature": "AAAA", "X-Twilio-Email-Event-Webhook-Timestamp": "-9223372036854775808",
            ])
            #expect(extreme.status == .forbidden && extreme.errorMessage.contains("far"))
            let mandrill = try await client.call(.post, "/webhooks/mandrill", body: "mandrill_events=%5B%5D", headers: ["X-Mandrill-Signature": "AAAA"])
            #expect(mandrill.status == .forbidden)

            #expect(try await harness.rows("SELECT state FROM notifications WHERE id IN (?, ?) ORDER BY id", [String(sms), String(email)]) == [["sent"], ["sent"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM preferences") == [["0"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM webhook_receipts") == [["0"]])
        }
    }

    @Test func aSendGridBatchAppliesEachEventOnceAndHardBouncesAndComplaintsOptOut() async throws {
        try await Self.run { harness, client, _, email in
            let now = Int(harness.clock.now.timeIntervalSince1970)
            func event(_ name: String, _ id: String, _ extra: [String: Any] = [:]) -> [String: Any] {
                ["event": name, "sg_event_id": id, "sg_message_id": "sg-1.filterdrecv", "herald_notification_id": String(email), "timestamp": now]
                    .merging(extra) { $1 }
            }
            let batch = try Self.sendGrid([
                event("processed", "e0"), event("delivered", "e1"), event("open", "e2", ["sg_machine_open": true]), event("open", "e3"),
                event("open", "e4"), event("click", "e5", ["url": "https://shop.example.com/sale"]), event("spamreport", "e6"),
                event("group_resubscribe", "e7"),
            ], at: now)
            let response = try await client.call(.post, "/webhooks/sendgrid", body: batch.body, headers: batch.headers)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["applied"] as? Int == 7 && response.json["unknown"] as? Int == 0)
            #expect(try await harness.rows("SELECT state FROM notifications WHERE id = ?", [String(email)]) == [["delivered"]])
            #expect(try await harness.rows("SELECT type, reason FROM events WHERE type IN ('opened', 'clicked', 'unsubscribed') ORDER BY id") == [
                ["opened", "machine"], ["opened", "first"], ["opened", "repeat"], ["clicked", "first"], ["unsubscribed", "spam_report"],
            ])
            #expect(try await harness.rows("SELECT key, opted_in FROM preferences") == [["email:marketing", "0"]])
            // The report counts each notification once per kind.
            let row = try #require(try await harness.store.report(campaignID: "winter-sale").first { $0.channel == .email })
            let counts: [Int] = [row.delivered, row.opened, row.machineOpened, row.clicked, row.unsubscribed, row.complained]
            #expect(counts == [1, 1, 1, 1, 1, 1])
            #expect(row.openRate == 1 && row.clickRate == 1 && row.deliveryRate == 1)
            // By provider and by day, the same counts under the provider's name and the UTC day.
            let byProvider = try await harness.store.report(campaignID: "winter-sale", by: .provider).filter { $0.channel == .email }
            #expect(byProvider.map(\.group) == ["sendgrid"])
            #expect(byProvider.first.map { [$0.delivered, $0.opened, $0.clicked, $0.recipients] } == [1, 1, 1, 1])
            let byDay = try await harness.store.report(campaignID: "winter-sale", by: .day).filter { $0.channel == .email }
            #expect(byDay.map(\.group) == ["2026-11-30"] && byDay.first?.opened == 1)
            let csv = ReportFormatter.format(byProvider, as: .csv, by: .provider).split(separator: "\n")
            #expect(csv.first?.hasPrefix("campaign,provider,occurrence,channel,") == true && csv.last?.hasPrefix("winter-sale,sendgrid,,email,") == true, "\(csv)")
            // The same batch again (SendGrid retries): nothing new.
            let retried = try await client.call(.post, "/webhooks/sendgrid", body: batch.body, headers: batch.headers)
            #expect(retried.json["repeated"] as? Int == 7)
            #expect(try await harness.rows("SELECT COUNT(*) FROM events WHERE type = 'opened'") == [["3"]])

            // A hard bounce of a message another system sent is counted as unknown.
            let foreign = try Self.sendGrid([["event": "bounce", "sg_event_id": "x1", "sg_message_id": "other.x", "timestamp": now, "type": "bounce"]], at: now)
            #expect(try await client.call(.post, "/webhooks/sendgrid", body: foreign.body, headers: foreign.headers).json["unknown"] as? Int == 1)
            let garbage = try Self.sendGrid([["no": "event"]], at: now)
            let refused = try await client.call(.post, "/webhooks/sendgrid", body: garbage.body, headers: garbage.headers)
            #expect(refused.status == .badRequest && refused.errorCode == "webhook.invalid")
        }
    }

    @Test func mandrillEventsAreVerifiedOverTheRegisteredURLAndAHardBounceTurnsEmailOff() async throws {
        try await Self.run { harness, client, _, email in
            let events = #"[{"event":"hard_bounce","_id":"md-1","ts":1796000000,"msg":{"_id":"md-1","metadata":{"herald_notification_id":"\#(email)"}},"bounce_description":"bad_mailbox"}]"#
            let signature = Self.hmacSHA1(Self.mandrillURL + "mandrill_events" + events, key: Self.mandrillKey)
            let response = try await client.call(.post, "/webhooks/mandrill", body: Self.form([("mandrill_events", events)]), headers: ["X-Mandrill-Signature": signature])
            #expect(response.status == .ok && response.json["applied"] as? Int == 1, "\(response.text)")
            #expect(try await harness.rows("SELECT state, reason FROM notifications WHERE id = ?", [String(email)]) == [["failed", "bounced"]])
            #expect(try await harness.rows("SELECT key, opted_in FROM preferences") == [["email", "0"]])
            #expect(try await client.call(.head, "/webhooks/mandrill").status == .ok)
        }
    }

    @Test func aDeliveredEventThatOvertakesTheSendOutcomeIsKept() async throws {
        try await APIHarness.run(webhooks: Self.secrets) { harness, client in
            let users = try await harness.key([.users])
            _ = try await client.call(.put, "/v1/users/u1", auth: users, body: APIRouteTests.ana)
            _ = try await harness.send("winter-sale", to: ["u1"])
            let claimed = try await harness.store.claim(
                channel: .email, providers: .any, limit: 10, leaseOwner: "test", lease: .seconds(60), at: harness.clock.now
            )
            let email = try #require(claimed.first)
            // SendGrid's event names the notification, and can arrive before the send's own
            // outcome is recorded.
            let now = Int(harness.clock.now.timeIntervalSince1970)
            let batch = try Self.sendGrid([[
                "event": "delivered", "sg_event_id": "early", "sg_message_id": "sg-9.x", "herald_notification_id": String(email.message.notificationID), "timestamp": now,
            ]], at: now)
            #expect(try await client.call(.post, "/webhooks/sendgrid", body: batch.body, headers: batch.headers).json["applied"] as? Int == 1)
            try await harness.store.resolve([(email, .sent(providerMessageID: "sg-9", provider: "sendgrid"))], at: harness.clock.now)
            #expect(try await harness.rows("SELECT state, provider_message_id FROM notifications WHERE id = ?", [String(email.message.notificationID)]) == [["delivered", "sg-9"]])

            // A Twilio callback for a message whose id is not recorded yet is not remembered:
            // Twilio's retry, once the id is known, applies.
            let early = Self.twilio([("MessageSid", "SM-late"), ("MessageStatus", "delivered")])
            let unknown = try await client.call(.post, "/webhooks/twilio", body: early.body, headers: ["X-Twilio-Signature": early.signature])
            #expect(unknown.json["unknown"] as? Int == 1)
            #expect(try await harness.rows("SELECT COUNT(*) FROM webhook_receipts WHERE provider = 'twilio'") == [["0"]])
        }
    }

    @Test func aProviderWithoutASecretInHeraldYmlGets403() async throws {
        try await APIHarness.run { _, client in
            let response = try await client.call(.post, "/webhooks/sendgrid", body: "[]")
            #expect(response.status == .forbidden && response.errorCode == "webhook.not_configured")
            #expect(response.errorMessage.contains("webhook_public_key"))
        }
    }
}
