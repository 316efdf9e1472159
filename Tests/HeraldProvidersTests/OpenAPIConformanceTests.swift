import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

/// The requests the transports put on the wire, as the sandbox received them, checked against
/// the providers' official OpenAPI files in ../shared/provider-specs.
@Suite(.timeLimit(.minutes(3)))
struct OpenAPIConformanceTests {
    static let specifications = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/provider-specs")

    @Test func sendGridRequestsMatchTheMailSendSpecification() async throws {
        let validator = try JSONSchemaValidator(file: Self.specifications.appendingPathComponent("tsg_mail_v3.json").path)
        var schema = try #require(validator.resolve("#/components/requestBodies/PostMailSend/content/application~1json/schema"))
        // providers.md: the top-level custom_args is typed string in the file by mistake; it is an object.
        var properties = try #require(schema["properties"] as? [String: Any])
        properties["custom_args"] = ["type": "object"]
        schema["properties"] = properties
        let (requests, key) = try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let sendgrid = SendGridTransport(name: "sendgrid", configuration: .init(
                apiKey: sandbox.accounts.sendGridAPIKey, from: EmailAddress(name: "Shop", email: "news@example.com"),
                replyTo: EmailAddress(email: "help@example.com"), baseURL: sandbox.baseURL(for: .sendgrid), unsubscribeMailto: "u@example.com"
            ), http: http)
            // Plain mail, transactional mail without HTML, and tracked mail whose signed links go in substitutions.
            _ = await sendgrid.send(
                (1...3).map { email(Int64($0), to: "user\($0)@example.com") } + [email(4, to: "t@example.com", html: nil, category: "transactional")]
                    + (5...6).map { TrackedMail.message($0) }
            )
            return (sandbox.log.requests, sandbox.accounts.sendGridAPIKey)
        }
        #expect(requests.count == 3)
        #expect(requests.filter { String(decoding: $0.body, as: UTF8.self).contains(#""substitutions":{"%herald0%":"#) }.count == 1)
        for request in requests {
            #expect(request.path == "/v3/mail/send" && request.method == "POST")
            #expect(request.headers["authorization"] == "Bearer \(key)")
            #expect(request.headers["content-type"] == "application/json")
            let body = try JSONSerialization.jsonObject(with: request.body)
            let errors = validator.validate(body, against: schema)
            #expect(errors == [])
        }
        // The validator does find what the specification forbids.
        let tooMany: [String: Any] = ["personalizations": Array(repeating: ["to": [["email": "a@example.com"]]], count: 1001), "from": ["email": "x"]]
        let errors = validator.validate(tooMany, against: schema)
        #expect(errors.contains("$.personalizations: more than 1000 items"))
    }

    @Test func twilioRequestsMatchTheCreateMessageSpecification() async throws {
        let validator = try JSONSchemaValidator(file: Self.specifications.appendingPathComponent("twilio_api_v2010.json").path)
        let operation = try #require(validator.resolve("#/paths/~12010-04-01~1Accounts~1{AccountSid}~1Messages.json/post"))
        let content = try #require((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any])
        let schema = try #require((content["application/x-www-form-urlencoded"] as? [String: Any])?["schema"] as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        let (requests, sid) = try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let twilio = TwilioTransport(name: "twilio", configuration: .init(
                accountSID: sandbox.accounts.twilioAccountSID, authToken: sandbox.accounts.twilioAuthToken, from: "+15005550006",
                messagingServiceSID: "MG0123456789abcdef0123456789abcdef", baseURL: sandbox.baseURL(for: .twilio),
                statusCallback: "https://hooks.example.com/webhooks/twilio"
            ), http: http)
            var expiring = sms(2, to: "+821012345678", body: "주문 발송")
            expiring.expiresAt = Date(timeIntervalSinceNow: 3600)
            _ = await twilio.send([sms(1, to: "+14155550100"), expiring])
            return (sandbox.log.requests, sandbox.accounts.twilioAccountSID)
        }
        #expect(requests.count == 2)
        for request in requests {
            #expect(request.path == "/2010-04-01/Accounts/\(sid)/Messages.json")
            #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
            // A form body is a flat object of strings; each field is typed as the specification says.
            var object: [String: Any] = [:]
            for (name, value) in FormCoding.decode(String(decoding: request.body, as: UTF8.self)) {
                let type = (properties[name] as? [String: Any])?["type"] as? String
                object[name] = type == "integer" ? (Int(value).map { $0 as Any } ?? value) : value
            }
            let errors = validator.validate(object, against: schema)
            #expect(errors == [], "\(object)")
            #expect(object["To"] != nil && object["Body"] != nil)
        }
        #expect(requests.contains { String(decoding: $0.body, as: UTF8.self).contains("ValidityPeriod=") })
    }
}
