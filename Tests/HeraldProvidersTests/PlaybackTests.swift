import Crypto
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

/// Verifiers written from providers.md's algorithms, checked against its test vectors first,
/// then used on what the sandbox signs.
enum Verify {
    static func twilio(signature: String, token: String, url: String, form: String) -> Bool {
        var values: [String: Set<String>] = [:]
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            values[parts[0], default: []].insert(parts.count > 1 ? parts[1] : "")
        }
        let data = url + values.keys.sorted().map { name in values[name]!.sorted().map { name + $0 }.joined() }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(token.utf8)))
        return Data(mac).base64EncodedString() == signature
    }

    static func mandrill(signature: String, key: String, url: String, parameters: [(String, String)]) -> Bool {
        let data = url + parameters.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return Data(mac).base64EncodedString() == signature
    }

    static func sendGrid(signature: String, publicKey: String, timestamp: String, payload: Data) -> Bool {
        guard let keyData = Data(base64Encoded: publicKey), let key = try? P256.Signing.PublicKey(derRepresentation: keyData),
              let signatureData = Data(base64Encoded: signature), let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signatureData)
        else { return false }
        return key.isValidSignature(ecdsa, for: Data(timestamp.utf8) + payload)
    }
}

@Suite struct WebhookSignatureTests {
    @Test func theTestVectorsOfProvidersMdVerify() {
        // Twilio (twilio-python's unit test).
        let form = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
        #expect(Verify.twilio(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", token: "12345", url: "https://mycompany.com/myapp.php?foo=1&bar=2", form: form))
        #expect(WebhookSignature.twilio(authToken: "12345", url: "https://mycompany.com/myapp.php?foo=1&bar=2", parameters: [
            ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"), ("From", "+14158675309"), ("To", "+18005551212"),
        ]) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        // Mandrill (worked examples).
        #expect(WebhookSignature.mandrill(key: "test-webhook", url: "https://example.com/mandrill/webhook", parameters: [("mandrill_events", "[]")]) == "9o2Sd5o0PmRQjUuWWH6UYV+lLls=")
        let events = #"[{"event":"hard_bounce","_id":"abc123","ts":1384954004,"msg":{"email":"user@example.com","state":"bounced"}}]"#
        #expect(WebhookSignature.mandrill(key: "k3y-EXAMPLE", url: "https://example.com/mandrill/webhook?src=mc", parameters: [("mandrill_events", events)]) == "3b/Cd3aS/I9Nq7ZvEi/m+g3BSkE=")
        // SendGrid (sendgrid-python's unit test).
        let payload = #"[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]"# + "\r\n"
        #expect(Verify.sendGrid(
            signature: "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=",
            publicKey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
            timestamp: "1600112502", payload: Data(payload.utf8)
        ))
    }
}

@Suite(.timeLimit(.minutes(3)))
struct PlaybackTests {
    /// Polls until `condition` holds; playback runs in the background.
    func eventually(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(25)) }
    }

    @Test func signedWebhooksOpensAndClicksArePlayedBackToTheConfiguredURLs() async throws {
        let playback = PlaybackConfiguration(delay: .milliseconds(10), openRate: 1, clickRate: 1)
        let faults = FaultPlan(providers: [.sendgrid: ProviderFaults(unreachable: ["bounce@example.com"])])
        try await withSandbox(Sandbox.Configuration(faults: faults, playback: playback)) { placeholder, _ in
            // The webhook URLs point at the sandbox's own inbox, known once it listens: a second sandbox plays back.
            var configuration = Sandbox.Configuration(faults: faults, playback: playback)
            configuration.playback?.webhookURLs = [.sendgrid: placeholder.inboxURL("sendgrid"), .mandrill: placeholder.inboxURL("mandrill")]
            try await withSandbox(configuration) { sandbox, http in
                let twilio = TwilioTransport(name: "twilio", configuration: .init(
                    accountSID: sandbox.accounts.twilioAccountSID, authToken: sandbox.accounts.twilioAuthToken, from: "+15005550006",
                    baseURL: sandbox.baseURL(for: .twilio), statusCallback: placeholder.inboxURL("twilio")
                ), http: http)
                let sendgrid = SendGridTransport(name: "sendgrid", configuration: .init(
                    apiKey: sandbox.accounts.sendGridAPIKey, from: EmailAddress(email: "news@example.com"), baseURL: sandbox.baseURL(for: .sendgrid)
                ), http: http)
                let mandrill = MandrillTransport(name: "mandrill", configuration: .init(
                    apiKey: sandbox.accounts.mandrillAPIKey, from: EmailAddress(email: "news@example.com"), baseURL: sandbox.baseURL(for: .mandrill) + "/api/1.0"
                ), http: http)
                let html = "<p><img src=\"\(placeholder.inboxURL("pixel"))\"><a href=\"\(placeholder.inboxURL("click"))\">Sale</a></p>"
                _ = await twilio.send(sms(1, to: "+14155550100"))
                _ = await sendgrid.send([email(2, to: "a@example.com", html: html), email(3, to: "bounce@example.com", html: html)])
                _ = await mandrill.send(email(4, to: "m@example.com", html: html, provider: "mandrill"))
                try await eventually { placeholder.inbox.received.count >= 5 && sandbox.inbox.fetchedLinks.count >= 4 }

                // Playback posts at least once, as providers do: a post whose answer is slow
                // (a loaded machine) is posted again, signed the same, so count distinct bodies.
                let received = placeholder.inbox.received
                let twilioCallbacks = received.filter { $0.path == "/inbox/twilio" }
                #expect(Set(twilioCallbacks.map(\.body)).count == 2)
                for callback in twilioCallbacks {
                    #expect(Verify.twilio(
                        signature: callback.headers["X-Twilio-Signature"] ?? "", token: sandbox.accounts.twilioAuthToken,
                        url: placeholder.inboxURL("twilio"), form: callback.body
                    ), "\(callback)")
                }
                #expect(twilioCallbacks.contains { $0.body.contains("MessageStatus=delivered") })

                let sendGridPosts = received.filter { $0.path == "/inbox/sendgrid" }
                #expect(Set(sendGridPosts.map(\.body)).count == 2)
                for post in sendGridPosts {
                    #expect(Verify.sendGrid(
                        signature: post.headers["X-Twilio-Email-Event-Webhook-Signature"] ?? "", publicKey: try #require(sandbox.sendGridPublicKey),
                        timestamp: post.headers["X-Twilio-Email-Event-Webhook-Timestamp"] ?? "", payload: Data(post.body.utf8)
                    ))
                }
                let events = sendGridPosts.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [[String: Any]]) ?? [] }
                let byEvent = Dictionary(grouping: events) { $0["event"] as? String ?? "" }
                #expect(Set(byEvent.keys) == ["processed", "delivered", "open", "click", "bounce"])
                #expect(byEvent["bounce"]?.first?["email"] as? String == "bounce@example.com")
                #expect(byEvent["click"]?.first?["herald_notification_id"] as? String == "2")

                let mandrillPost = try #require(received.first { $0.path == "/inbox/mandrill" })
                let value = try #require(mandrillPost.body.split(separator: "=", maxSplits: 1).last.map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding })
                #expect(Verify.mandrill(
                    signature: mandrillPost.headers["X-Mandrill-Signature"] ?? "", key: playback.mandrillWebhookKey,
                    url: placeholder.inboxURL("mandrill"), parameters: [("mandrill_events", value ?? "")]
                ))
                #expect(value?.contains(#""event":"click""#) == true)
                // The two delivered emails were opened (their pixel fetched) and clicked.
                #expect(sandbox.inbox.fetchedLinks.filter { $0 == placeholder.inboxURL("pixel") }.count == 2)
                #expect(sandbox.inbox.fetchedLinks.filter { $0 == placeholder.inboxURL("click") }.count == 2)
            }
        }
    }
}

@Suite struct FaultsFileTests {
    @Test func aFaultsFileIsReadWithEveryKindOfFault() throws {
        let plan = try FaultPlan.load(yaml: """
            seed: 7
            twilio:
              error_rate: {429: 0.05, 503: 0.01}
              latency: {min: 20ms, max: 200ms}
              outages: [{from: 30s, to: 60s}]
              retry_after: 5
              invalid: ["+15551230000"]
              unreachable: ["+15551230001"]
              opted_out: ["+15551230002"]
            sendgrid: {error_rate: {500: 0.02}, latency: 50ms}
            smtp: {latency: {mean: 100ms, stddev: 30ms}}
            """, file: "faults.yml")
        #expect(plan.seed == 7)
        #expect(plan[.twilio] == ProviderFaults(
            errorRates: [429: 0.05, 503: 0.01], latency: .uniform(min: 20, max: 200), outages: [.init(start: 30, end: 60)], retryAfter: 5,
            invalid: ["+15551230000"], unreachable: ["+15551230001"], optedOut: ["+15551230002"]
        ))
        #expect(plan[.sendgrid].latency == .fixed(50))
        #expect(plan[.smtp].latency == .normal(mean: 100, standardDeviation: 30))
    }

    @Test(arguments: [
        ("twilio:\n  eror_rate: {429: 0.1}\n", "faults.yml:2:3: unknown field 'eror_rate' in the faults of twilio; did you mean 'error_rate'?"),
        ("twillio: {}\n", "faults.yml:1:1: unknown provider 'twillio'; did you mean 'twilio'?"),
        ("sendgrid:\n  error_rate: {429: 0.7, 500: 0.6}\n", "faults.yml:2:15: the shares add up to 1.3, more than 1"),
        ("smtp:\n  error_rate: {200: 0.1}\n", "faults.yml:2:16: '200' is not an error status (400–599)"),
    ])
    func mistakesAreNamedAtTheirPosition(text: String, message: String) {
        #expect(throws: SandboxError.self) { try FaultPlan.load(yaml: text, file: "faults.yml") }
        do {
            _ = try FaultPlan.load(yaml: text, file: "faults.yml")
        } catch {
            #expect("\(error)" == message)
        }
    }
}
