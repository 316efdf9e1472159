import Foundation
import HeraldProviders
import HeraldSandbox
import NIOHTTP1
import Testing

/// Requests a real provider would refuse are refused with its status and body.
@Suite(.timeLimit(.minutes(3)))
struct SandboxChecksTests {
    let form = [("Content-Type", "application/x-www-form-urlencoded")]

    func twilioURL(_ sandbox: RunningSandbox) -> String {
        sandbox.baseURL(for: .twilio) + "/2010-04-01/Accounts/\(sandbox.accounts.twilioAccountSID)/Messages.json"
    }

    @Test func twilioRefusesBadAuthAMissingToAndANumberThatIsNotE164() async throws {
        try await Sandbox.withRunning { sandbox in
            try await withRawClient { client in
                let auth = ("Authorization", basic(sandbox.accounts.twilioAccountSID, sandbox.accounts.twilioAuthToken))
                let unauthenticated = try await raw(client, twilioURL(sandbox), headers: form, body: Data("To=%2B14155550100&From=%2B15005550006&Body=hi".utf8))
                #expect(unauthenticated.status == 401)
                #expect(unauthenticated.headers["www-authenticate"] == "Basic realm=\"Twilio API\"")
                #expect(json(unauthenticated.body)["code"] as? Int == 20003)
                #expect(json(unauthenticated.body)["more_info"] as? String == "https://www.twilio.com/docs/errors/20003")

                let noTo = try await raw(client, twilioURL(sandbox), headers: form + [auth], body: Data("From=%2B15005550006&Body=hi".utf8))
                #expect(noTo.status == 400)
                #expect(json(noTo.body)["code"] as? Int == 21604)
                #expect(json(noTo.body)["message"] as? String == "A 'To' phone number is required.")

                let local = try await raw(client, twilioURL(sandbox), headers: form + [auth], body: Data("To=0101234567&From=%2B15005550006&Body=hi".utf8))
                #expect(local.status == 400)
                #expect(json(local.body)["code"] as? Int == 21211)
                #expect(json(local.body)["message"] as? String == "The 'To' number 0101234567 is not a valid phone number.")

                let noBody = try await raw(client, twilioURL(sandbox), headers: form + [auth], body: Data("To=%2B14155550100&From=%2B15005550006".utf8))
                #expect(json(noBody.body)["code"] as? Int == 21602)
                let noSender = try await raw(client, twilioURL(sandbox), headers: form + [auth], body: Data("To=%2B14155550100&Body=hi".utf8))
                #expect(json(noSender.body)["code"] as? Int == 21603)
                let created = try await raw(client, twilioURL(sandbox), headers: form + [auth], body: Data("To=%2B14155550100&From=%2B15005550006&Body=hi".utf8))
                #expect(created.status == 201)
                #expect(json(created.body)["status"] as? String == "queued")
                #expect(json(created.body)["num_segments"] as? String == "1")
            }
        }
    }

    @Test func sendGridRefusesBadAuthMissingFieldsTooManyPersonalizationsAndOversizedBodies() async throws {
        try await Sandbox.withRunning(Sandbox.Configuration(maximumBodySizes: [.sendgrid: 1_000_000])) { sandbox in
            try await withRawClient { client in
                let url = sandbox.baseURL(for: .sendgrid) + "/v3/mail/send"
                let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(sandbox.accounts.sendGridAPIKey)")]
                func body(_ count: Int) -> Data {
                    let personalizations = (0..<count).map { ["to": [["email": "u\($0)@example.com"]]] }
                    return try! JSONSerialization.data(withJSONObject: [
                        "personalizations": personalizations, "from": ["email": "news@example.com"], "subject": "Hi",
                        "content": [["type": "text/plain", "value": "Hello"]],
                    ])
                }
                let noAuth = try await raw(client, url, headers: [("Content-Type", "application/json")], body: body(1))
                #expect(noAuth.status == 401)
                #expect(noAuth.body == #"{"errors":[{"field":null,"help":null,"message":"authorization required"}]}"#)

                let tooMany = try await raw(client, url, headers: headers, body: body(1001))
                #expect(tooMany.status == 400)
                #expect(tooMany.body.contains(#""field":"personalizations""#))
                #expect(tooMany.body.contains("You may not have more than 1000 personalizations per API request."))

                let missing = try await raw(client, url, headers: headers, body: Data(#"{"personalizations":[{"cc":[{"email":"a@example.com"}]}],"content":[{"type":"text/html","value":"x"},{"type":"text/plain","value":"y"}]}"#.utf8))
                #expect(missing.status == 400)
                for field in ["from.email", "personalizations.0.to", "subject", "content.0.type"] {
                    #expect(missing.body.contains(#""field":"\#(field)""#), "\(field) in \(missing.body)")
                }
                let garbage = try await raw(client, url, headers: headers, body: Data("{not json".utf8))
                #expect(garbage.status == 400 && garbage.body.contains("Bad Request"))

                let oversized = try await raw(client, url, headers: headers, body: Data(repeating: 0x20, count: 1_000_001))
                #expect(oversized.status == 413)
                #expect(oversized.body.contains("content too large"))

                let accepted = try await raw(client, url, headers: headers, body: body(2))
                #expect(accepted.status == 202 && accepted.body.isEmpty)
                #expect(accepted.headers["x-message-id"]?.count == 22)
                #expect(sandbox.log.messages.map(\.to) == ["u0@example.com", "u1@example.com"])

                let listed = try await raw(client, "http://\(sandbox.host):\(sandbox.port)/sandbox/messages", method: .GET)
                #expect(listed.status == 200 && listed.body.contains("u1@example.com"))
            }
        }
    }

    /// SendGrid refuses the whole request with a 400 that names the field; Mandrill answers 200
    /// and marks that recipient `invalid`, sending to the others.
    @Test func sendGridAndMandrillRefuseAnAddressWithBadSyntaxAsTheyDo() async throws {
        try await Sandbox.withRunning { sandbox in
            try await withRawClient { client in
                let sendGrid = sandbox.baseURL(for: .sendgrid) + "/v3/mail/send"
                let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(sandbox.accounts.sendGridAPIKey)")]
                func mail(from: String, to: [String]) -> Data {
                    try! JSONSerialization.data(withJSONObject: [
                        "personalizations": to.map { ["to": [["email": $0]]] }, "from": ["email": from], "subject": "Hi",
                        "content": [["type": "text/plain", "value": "Hello"]],
                    ])
                }
                let badTo = try await raw(client, sendGrid, headers: headers, body: mail(from: "news@example.com", to: ["ann@example.com", "bob@@example.com"]))
                #expect(badTo.status == 400)
                #expect(badTo.body == #"{"errors":[{"field":"personalizations.1.to.0.email","help":null,"message":"Does not contain a valid address."}]}"#)
                let badFrom = try await raw(client, sendGrid, headers: headers, body: mail(from: "news at example.com", to: ["ann@example.com"]))
                #expect(badFrom.status == 400)
                #expect(badFrom.body == #"{"errors":[{"field":"from.email","help":null,"message":"The from email does not contain a valid address."}]}"#)
                #expect(sandbox.log.messages.isEmpty, "a refused request sends nothing, not even its valid personalizations")

                let mandrill = sandbox.baseURL(for: .mandrill) + "/api/1.0/messages/send.json"
                func send(from: String, to: [String]) -> Data {
                    try! JSONSerialization.data(withJSONObject: [
                        "key": sandbox.accounts.mandrillAPIKey,
                        "message": ["from_email": from, "subject": "Hi", "text": "Hello", "to": to.map { ["email": $0, "type": "to"] }],
                    ] as [String: Any])
                }
                let mixed = try await raw(client, mandrill, headers: [("Content-Type", "application/json")], body: send(from: "news@example.com", to: ["ann@example", "bob@example.com"]))
                #expect(mixed.status == 200)
                let results = try #require(try JSONSerialization.jsonObject(with: Data(mixed.body.utf8)) as? [[String: Any]])
                #expect(results.count == 2)
                #expect(results.first?["email"] as? String == "ann@example" && results.first?["status"] as? String == "invalid")
                #expect(results.first?["reject_reason"] is NSNull)
                #expect(results.last?["email"] as? String == "bob@example.com" && results.last?["status"] as? String == "sent")
                #expect(sandbox.log.messages.map(\.to) == ["bob@example.com"])
                let badSender = try await raw(client, mandrill, headers: [("Content-Type", "application/json")], body: send(from: "news.example.com", to: ["bob@example.com"]))
                #expect(badSender.status == 400)
                #expect(badSender.body == #"{"code":-2,"message":"Validation error: {\"message\":{\"from_email\":\"An email address must contain a single @\"}}","name":"ValidationError","status":"error"}"#)
                #expect(sandbox.log.messages.count == 1)
            }
        }
    }

    @Test func theRecordFileGetsOneJSONLinePerAcceptedMessage() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withSandbox(Sandbox.Configuration(recordFile: file)) { sandbox, http in
            let twilio = TwilioTransport(name: "twilio", configuration: .init(
                accountSID: sandbox.accounts.twilioAccountSID, authToken: sandbox.accounts.twilioAuthToken, from: "+15005550006",
                baseURL: sandbox.baseURL(for: .twilio)
            ), http: http)
            _ = await twilio.send([sms(1, to: "+14155550100"), sms(2, to: "+14155550101")])
        }
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let decoded = try lines.map { try JSONDecoder().decode(RecordedMessage.self, from: Data($0.utf8)) }
        #expect(Set(decoded.map(\.to)) == ["+14155550100", "+14155550101"])
    }
}
