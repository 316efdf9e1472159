import Foundation
import HeraldServer
import Testing

/// The test vectors of providers.md, then every way a forged or stale webhook can differ.
@Suite struct WebhookSignaturesTests {
    static let sendGridKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
    static let sendGridSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
    static let sendGridBody = Array((#"[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]"# + "\r\n").utf8)
    static let signedAt = Date(timeIntervalSince1970: 1_600_112_502)

    @Test func sendGridsTestVectorVerifiesAndAnyChangeOrAStaleTimestampDoesNot() {
        func verdict(signature: String? = Self.sendGridSignature, timestamp: String? = "1600112502", body: [UInt8] = Self.sendGridBody, now: Date = Self.signedAt, key: String = Self.sendGridKey) -> WebhookSignatures.Verdict {
            WebhookSignatures.sendGrid(publicKey: key, signature: signature, timestamp: timestamp, body: body, now: now)
        }
        #expect(verdict() == .valid)
        #expect(verdict(now: Self.signedAt.addingTimeInterval(299)) == .valid)
        #expect(verdict(now: Self.signedAt.addingTimeInterval(301)) == .invalid("the SendGrid timestamp is 301 s from now; at most 300 s is fresh"))
        #expect(verdict(body: Array(Self.sendGridBody.dropLast(2))) == .invalid("the SendGrid signature does not match the body"))
        #expect(verdict(timestamp: "1600112503", now: Self.signedAt) == .invalid("the SendGrid signature does not match the body"))
        #expect(verdict(signature: nil) == .invalid("the SendGrid signature or timestamp header is missing"))
        #expect(verdict(timestamp: "soon") == .invalid("the SendGrid timestamp 'soon' is not a number"))
        #expect(verdict(signature: "not base64!") == .invalid("the SendGrid signature is not a base64 DER ECDSA signature"))
        #expect(verdict(key: "AAAA") == .invalid("the configured SendGrid public key is not a base64 DER P-256 key"))
    }

    @Test func twiliosTestVectorVerifiesWhateverTheParameterOrderAndAnyChangeDoesNot() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        let parameters = [("To", "+18005551212"), ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"), ("From", "+14158675309")]
        #expect(WebhookSignatures.twilio(authToken: "12345", url: url, parameters: parameters, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=") == .valid)
        let mismatch = WebhookSignatures.Verdict.invalid("the X-Twilio-Signature does not match the URL and parameters")
        #expect(WebhookSignatures.twilio(authToken: "12346", url: url, parameters: parameters, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=") == mismatch)
        #expect(WebhookSignatures.twilio(authToken: "12345", url: url + "&x=1", parameters: parameters, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=") == mismatch)
        #expect(WebhookSignatures.twilio(authToken: "12345", url: url, parameters: parameters + [("MessageStatus", "delivered")], signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=") == mismatch)
        #expect(WebhookSignatures.twilio(authToken: "12345", url: url, parameters: parameters, signature: nil) == .invalid("the X-Twilio-Signature header is missing"))
    }

    @Test func mandrillsWorkedExamplesVerifyAndAnyChangeDoesNot() {
        #expect(WebhookSignatures.mandrill(
            key: "test-webhook", url: "https://example.com/mandrill/webhook", parameters: [("mandrill_events", "[]")], signature: "9o2Sd5o0PmRQjUuWWH6UYV+lLls="
        ) == .valid)
        let events = #"[{"event":"hard_bounce","_id":"abc123","ts":1384954004,"msg":{"email":"user@example.com","state":"bounced"}}]"#
        #expect(WebhookSignatures.mandrill(
            key: "k3y-EXAMPLE", url: "https://example.com/mandrill/webhook?src=mc", parameters: [("mandrill_events", events)], signature: "3b/Cd3aS/I9Nq7ZvEi/m+g3BSkE="
        ) == .valid)
        #expect(WebhookSignatures.mandrill(
            key: "k3y-EXAMPLE", url: "https://example.com/mandrill/webhook", parameters: [("mandrill_events", events)], signature: "3b/Cd3aS/I9Nq7ZvEi/m+g3BSkE="
        ) == .invalid("the X-Mandrill-Signature does not match the URL and parameters"))
    }
}
