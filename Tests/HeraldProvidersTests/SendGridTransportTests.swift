import Foundation
import HeraldCore
@testable import HeraldProviders
import HeraldSandbox
import NIOHTTP1
import Testing

@Suite(.timeLimit(.minutes(3)))
struct SendGridTransportTests {
    func transport(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient, key: String? = nil, baseURL: String? = nil) -> SendGridTransport {
        SendGridTransport(name: "sendgrid", configuration: SendGridTransport.Configuration(
            apiKey: key ?? sandbox.accounts.sendGridAPIKey, from: EmailAddress(name: "Shop", email: "news@example.com"),
            baseURL: baseURL ?? sandbox.baseURL(for: .sendgrid), unsubscribeMailto: "unsubscribe@example.com"
        ), http: http)
    }

    @Test func identicalMessagesShareARequestSplitAtAThousandAndKeepTheirIDs() async throws {
        try await withSandbox { sandbox, http in
            let messages = (1...2001).map { email(Int64($0), to: "user\($0)@example.com", unsubscribe: false) }
            let outcomes = await transport(sandbox, http).send(messages)
            let ids = outcomes.map { outcome -> String in
                guard case .accepted(let id) = outcome else { return "not accepted: \(outcome)" }
                return id
            }
            // Three requests: 1,000, 1,000 and 1, each with its own X-Message-Id.
            #expect(Set(ids).count == 3)
            #expect(Dictionary(grouping: ids, by: { $0 }).values.map(\.count).sorted() == [1, 1000, 1000])
            let recorded = sandbox.log.messages
            #expect(recorded.count == 2001)
            // Each recipient's personalization names its notification; its request id is its outcome's.
            let byAddress = Dictionary(uniqueKeysWithValues: recorded.map { ($0.to, $0) })
            for (message, id) in zip(messages, ids) {
                let record = try #require(byAddress[message.address])
                #expect(record.metadata[SendGridTransport.notificationArgument] == String(message.notificationID))
                #expect(record.providerMessageID == id)
            }
        }
    }

    @Test func differentContentGoesInSeparateRequests() async throws {
        try await withSandbox { sandbox, http in
            let outcomes = await transport(sandbox, http).send([
                email(1, to: "a@example.com", subject: "For Ann"), email(2, to: "b@example.com", subject: "For Bob"),
                email(3, to: "c@example.com", subject: "For Ann"),
            ])
            let ids = outcomes.map { reason(of: $0) }
            #expect(ids[0] == ids[2] && ids[0] != ids[1])
            #expect(sandbox.log.messages.compactMap(\.subject).sorted() == ["For Ann", "For Ann", "For Bob"])
        }
    }

    @Test func anAPISendersAddressReplacesTheConfiguredOneForItsMessageOnly() async throws {
        try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            var own = email(1, to: "a@example.com", category: "transactional")
            own.content = .email(EmailContent(subject: "Receipt", text: "Paid", fromEmail: "orders@example.com", fromName: "Shop Orders"))
            let outcomes = await transport(sandbox, http).send([own, email(2, to: "b@example.com", category: "transactional")])
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes)")
            let from = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0.from) })
            #expect(from == ["a@example.com": "orders@example.com", "b@example.com": "news@example.com"])
            let request = try #require(sandbox.log.requests.first { String(decoding: $0.body, as: UTF8.self).contains("orders@example.com") })
            #expect(String(decoding: request.body, as: UTF8.self).contains(#""from":{"email":"orders@example.com","name":"Shop Orders"}"#))
        }
    }

    @Test func marketingMailCarriesOneClickUnsubscribeAndTransactionalMailDoesNot() async throws {
        try await withSandbox { sandbox, http in
            _ = await transport(sandbox, http).send([
                email(1, to: "marketing@example.com", category: "marketing"),
                email(2, to: "receipt@example.com", category: "transactional"),
            ])
            let recorded = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0) })
            let marketing = try #require(recorded["marketing@example.com"])
            #expect(marketing.headers["List-Unsubscribe"] == "<https://t.example.com/u/token-1>, <mailto:unsubscribe@example.com?subject=unsubscribe%20token-1>")
            #expect(marketing.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            let receipt = try #require(recorded["receipt@example.com"])
            #expect(receipt.headers["List-Unsubscribe"] == nil && receipt.headers["List-Unsubscribe-Post"] == nil)
        }
    }

    @Test func aWrongKeyIsMisconfigurationAndARateLimitWaitsForTheReset() async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http, key: "SG.wrong").send(email(1, to: "a@example.com"))
            #expect(kind(of: outcome) == "misconfigured")
            #expect(reason(of: outcome).contains("The provided authorization grant is invalid, expired, or revoked"))
        }
        let faults = FaultPlan(providers: [.sendgrid: ProviderFaults(errorRates: [429: 1], retryAfter: 30)])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcome = await transport(sandbox, http).send(email(1, to: "a@example.com"))
            guard case .throttled(let after, let why) = outcome else { Issue.record("\(outcome)"); return }
            #expect(why == "sendgrid 429: too many requests")
            // X-RateLimit-Reset is a Unix second about 30 s ahead.
            #expect(after.map { $0 > .seconds(25) && $0 <= .seconds(31) } == true, "\(String(describing: after))")
        }
        let errors = FaultPlan(providers: [.sendgrid: ProviderFaults(errorRates: [500: 1])])
        try await withSandbox(Sandbox.Configuration(faults: errors)) { sandbox, http in
            #expect(kind(of: await transport(sandbox, http).send(email(1, to: "a@example.com"))) == "retry")
        }
    }

    @Test func aForbiddenKeyIsMisconfiguration() async throws {
        let faults = FaultPlan(providers: [.sendgrid: ProviderFaults(errorRates: [403: 1])])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcome = await transport(sandbox, http).send(email(1, to: "a@example.com"))
            #expect(outcome == .misconfigured(reason: "sendgrid 403: access forbidden (check api_key and the sender identity)"))
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    /// providers.md, section 4: 404 and 405 are PERM, like a 400.
    @Test func aPathOrMethodSendGridDoesNotServeIsMisconfigurationNotAFailedMessage() async throws {
        try await withSandbox { sandbox, http in
            let misplaced = transport(sandbox, http, baseURL: sandbox.baseURL(for: .sendgrid) + "/v2")
            let outcome = await misplaced.send(email(1, to: "a@example.com"))
            #expect(outcome == .misconfigured(reason: "sendgrid 404: resource not found (check base_url)"))
            let get = try await withRawClient { client in
                try await raw(client, sandbox.baseURL(for: .sendgrid) + "/v3/mail/send", method: .GET, headers: [
                    ("Authorization", "Bearer \(sandbox.accounts.sendGridAPIKey)"),
                ])
            }
            #expect(get.status == 405)
            let answer = ProviderHTTPClient.Answer(status: get.status, body: Data(get.body.utf8))
            #expect(SendGridClassifier.classify(answer, count: 2, now: Date()) == .all(.misconfigured(reason: "sendgrid 405: method not allowed (check base_url)")))
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    /// A 400 whose errors name personalizations rejects those messages, and the others go again
    /// without them. SendGrid answers so to a request that names an address twice; `send` never
    /// makes one (``SharedEmailDeliveryTests``), so the request is made here by hand.
    @Test func aPerFieldRefusalRejectsOnlyTheNamedMessagesAndSendsTheRestAgain() async throws {
        try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let addresses = ["ann@example.com", "bob@example.com", "ann@example.com", "cid@example.com", "bob@example.com"]
            let messages = addresses.enumerated().map { email(Int64($0.offset + 1), to: $0.element, unsubscribe: false) }
            let outcomes = await transport(sandbox, http).sendRequest(
                messages.map { ($0, SharedEmail($0, content: TrackedMail.content($0))) }, retryingRest: true
            )
            func duplicate(_ index: Int, _ address: String) -> DeliveryOutcome {
                .rejected(reason: "sendgrid 400: personalizations.\(index).to: Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [\(address)] in the personalizations.\(index).to field.")
            }
            #expect(outcomes[2] == duplicate(2, "ann@example.com"))
            #expect(outcomes[4] == duplicate(4, "bob@example.com"))
            let sent = [outcomes[0], outcomes[1], outcomes[3]]
            #expect(sent.allSatisfy { kind(of: $0) == "accepted" }, "\(sent)")
            #expect(Set(sent.map { reason(of: $0) }).count == 1, "one X-Message-Id: the three went in one request")
            // Two requests: all five, refused whole, then the three others.
            let sizes = sandbox.log.requests.map { request in
                ((try? JSONSerialization.jsonObject(with: request.body) as? [String: Any])?["personalizations"] as? [Any])?.count ?? 0
            }
            #expect(sizes == [5, 3])
            let recorded = sandbox.log.messages
            #expect(recorded.map(\.to) == ["ann@example.com", "bob@example.com", "cid@example.com"])
            #expect(recorded.map { $0.metadata[SendGridTransport.notificationArgument] } == ["1", "2", "4"])
            #expect(recorded.allSatisfy { $0.providerMessageID == reason(of: outcomes[0]) })
        }
    }

    @Test func anOversizedRequestIs413AndRejected() async throws {
        try await withSandbox(Sandbox.Configuration(maximumBodySizes: [.sendgrid: 2048])) { sandbox, http in
            let outcome = await transport(sandbox, http).send(email(1, to: "a@example.com", html: String(repeating: "<p>big</p>", count: 400)))
            #expect(outcome == .rejected(reason: "sendgrid 413: content too large"))
        }
    }

    @Test func headerInjectionsAndBadAddressesAreRefusedBeforeSending() async throws {
        try await withSandbox { sandbox, http in
            let outcomes = await transport(sandbox, http).send([
                email(1, to: "a@example.com", subject: "Sale\r\nBcc: victim@example.com"),
                email(2, to: "not an address"),
                email(3, to: "b@example.com", subject: "Fine"),
            ])
            #expect(outcomes[0] == .rejected(reason: "the subject contains a carriage return (CR): refused as a header injection"))
            #expect(outcomes[1] == .deadAddress(reason: "'not an address' is not a valid email address"))
            #expect(kind(of: outcomes[2]) == "accepted")
            #expect(sandbox.log.messages.map(\.to) == ["b@example.com"])
        }
    }

    @Test func fieldErrorsThatNamePersonalizationsRejectThoseMessagesOnly() {
        let body = #"{"errors":[{"field":"personalizations.1.to.0.email","message":"Does not contain a valid address.","help":null}]}"#
        let answer = ProviderHTTPClient.Answer(status: 400, body: Data(body.utf8), isTruncated: false)
        #expect(SendGridClassifier.classify(answer, count: 3, now: Date()) == .perMessage(
            rejected: [1: "sendgrid 400: personalizations.1.to.0.email: Does not contain a valid address."],
            reason: "sendgrid 400 for other messages of the same request"
        ))
        let global = #"{"errors":[{"field":"from.email","message":"The from email does not contain a valid address."}]}"#
        #expect(SendGridClassifier.classify(
            ProviderHTTPClient.Answer(status: 400, body: Data(global.utf8), isTruncated: false), count: 3, now: Date()
        ) == .all(.rejected(reason: "sendgrid 400: from.email: The from email does not contain a valid address.")))
    }
}

@Suite struct SendGridBodyTests {
    @Test func theWrittenBodyIsTheSameJSONAsTheDictionary() throws {
        let transport = SendGridTransport(name: "sendgrid", configuration: .init(
            apiKey: "k", from: EmailAddress(name: "Shop \"Ö\"", email: "news@example.com"), replyTo: EmailAddress(email: "r@example.com"),
            unsubscribeMailto: "u@example.com"
        ), http: ProviderHTTPClient())
        let messages = [
            email(1, to: "a@example.com", subject: "Tab\there \"quoted\" \\ back\u{1}slash 겨울", html: "<p>line\nbreak</p>", text: "x\r\ny"),
            email(2, to: "b@example.com", subject: "Tab\there \"quoted\" \\ back\u{1}slash 겨울", html: "<p>line\nbreak</p>", text: "x\r\ny", category: "transactional"),
        ]
        let written = try JSONSerialization.jsonObject(with: Data(transport.encodedBody(for: messages))) as? NSDictionary
        let expected = transport.body(for: messages) as NSDictionary
        #expect(written == expected)
    }
}
