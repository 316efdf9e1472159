import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

@Suite(.timeLimit(.minutes(3)))
struct MandrillTransportTests {
    func transport(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient, key: String? = nil) -> MandrillTransport {
        MandrillTransport(name: "mandrill", configuration: .init(
            apiKey: key ?? sandbox.accounts.mandrillAPIKey, from: EmailAddress(name: "Shop", email: "news@example.com"),
            baseURL: sandbox.baseURL(for: .mandrill) + "/api/1.0"
        ), http: http)
    }

    @Test func transactionalMailSharesARequestAndEachRecipientGetsItsResult() async throws {
        let faults = FaultPlan(providers: [.mandrill: ProviderFaults(invalid: ["gone@example.com"], optedOut: ["unsub@example.com"])])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let messages = ["a@example.com", "gone@example.com", "unsub@example.com"].enumerated().map {
                email(Int64($0.offset + 1), to: $0.element, category: "transactional", provider: "mandrill")
            }
            let outcomes = await transport(sandbox, http).send(messages)
            #expect(kind(of: outcomes[0]) == "accepted")
            #expect(outcomes[1] == .deadAddress(reason: "mandrill invalid"))
            #expect(outcomes[2] == .optedOut(reason: "mandrill rejected: unsub"))
            let recorded = try #require(sandbox.log.messages.first)
            #expect(sandbox.log.messages.count == 1)
            #expect(recorded.providerMessageID == reason(of: outcomes[0]))
            #expect(recorded.metadata[MandrillTransport.notificationField] == "1")
            #expect(recorded.headers["List-Unsubscribe"] == nil)
        }
    }

    /// Two receipts of the same text to one person share no request: each gets its own result.
    @Test func mailToOneAddressTwiceGoesInSeparateRequests() async throws {
        try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let messages = [
                email(1, to: "a@example.com", category: "transactional", provider: "mandrill"),
                email(2, to: "A@example.com", category: "transactional", provider: "mandrill"),
                email(3, to: "b@example.com", category: "transactional", provider: "mandrill"),
            ]
            let outcomes = await transport(sandbox, http).send(messages)
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes)")
            #expect(sandbox.log.requests.count == 2)
            #expect(Set(sandbox.log.messages.compactMap { $0.metadata[MandrillTransport.notificationField] }) == ["1", "2", "3"])
        }
    }

    @Test func anAPISendersAddressReplacesTheConfiguredOneForItsMessageOnly() async throws {
        try await withSandbox { sandbox, http in
            var own = email(1, to: "a@example.com", category: "transactional", provider: "mandrill")
            own.content = .email(EmailContent(subject: "Receipt", text: "Paid", fromEmail: "orders@example.com", fromName: "Shop Orders"))
            let outcomes = await transport(sandbox, http).send([own, email(2, to: "b@example.com", category: "transactional", provider: "mandrill")])
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes)")
            let from = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0.from) })
            #expect(from == ["a@example.com": "orders@example.com", "b@example.com": "news@example.com"])
        }
    }

    @Test func marketingMailGoesOneRequestEachWithItsUnsubscribeHeaders() async throws {
        try await withSandbox { sandbox, http in
            let outcomes = await transport(sandbox, http).send([
                email(1, to: "a@example.com", provider: "mandrill"), email(2, to: "b@example.com", provider: "mandrill"),
            ])
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" })
            for record in sandbox.log.messages {
                let id = record.metadata[MandrillTransport.notificationField] ?? "?"
                #expect(record.headers["List-Unsubscribe"] == "<https://t.example.com/u/token-\(id)>")
                #expect(record.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            }
        }
    }

    @Test func errorsAreClassifiedByNameNotStatus() async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http, key: "wrong").send(email(1, to: "a@example.com", provider: "mandrill"))
            #expect(outcome == .misconfigured(reason: "mandrill 401 Invalid_Key: Invalid API key"))
        }
        // Before 2023 every error was a 500: the name still decides.
        let legacy = ProviderHTTPClient.Answer(status: 500, body: Data(#"{"status":"error","code":-1,"name":"Invalid_Key","message":"Invalid API key"}"#.utf8))
        #expect(MandrillClassifier.outcomes(legacy, addresses: ["a@example.com"], now: Date()) == [.misconfigured(reason: "mandrill 500 Invalid_Key: Invalid API key")])
        let validation = ProviderHTTPClient.Answer(status: 500, body: Data(#"{"status":"error","code":-2,"name":"ValidationError","message":"Validation error: bad to"}"#.utf8))
        #expect(MandrillClassifier.outcomes(validation, addresses: ["a@example.com"], now: Date()) == [.rejected(reason: "mandrill 500 ValidationError: Validation error: bad to")])
        let faults = FaultPlan(providers: [.mandrill: ProviderFaults(errorRates: [429: 1], retryAfter: 60)])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcome = await transport(sandbox, http).send(email(1, to: "a@example.com", provider: "mandrill"))
            #expect(outcome == .throttled(after: .seconds(60), reason: "mandrill 429 RequestLimitExceeded: Too many requests"))
        }
    }

    @Test(arguments: [
        ("hard-bounce", "deadAddress"), ("soft-bounce", "retry"), ("spam", "optedOut"), ("unsub", "optedOut"), ("custom", "rejected"),
        ("rule", "rejected"), ("unsigned", "misconfigured"), ("invalid-sender", "misconfigured"), ("test-mode-limit", "misconfigured"),
        ("invalid", "deadAddress"),
    ])
    func everyRejectReasonHasItsClass(rejectReason: String, expected: String) {
        #expect(kind(of: MandrillClassifier.outcome(["status": "rejected", "reject_reason": rejectReason, "_id": "x"])) == expected)
    }

    /// providers.md, section 10: sent, queued and scheduled are accepted; invalid is dead.
    @Test(arguments: [("sent", "accepted"), ("queued", "accepted"), ("scheduled", "accepted"), ("invalid", "deadAddress")])
    func everyStatusHasItsClass(status: String, expected: String) {
        let outcome = MandrillClassifier.outcome(["email": "a@example.com", "status": status, "reject_reason": NSNull(), "_id": "m1"])
        #expect(kind(of: outcome) == expected, "\(outcome)")
        if expected == "accepted" { #expect(outcome == .accepted(providerMessageID: "m1")) }
    }

    /// By name, under today's statuses and under the legacy 500 alike (providers.md, section 10).
    @Test(arguments: [
        (500, "GeneralError", "retry"), (503, "ServiceUnavailable", "retry"), (402, "PaymentRequired", "misconfigured"),
        (404, "Unknown_Subaccount", "misconfigured"), (404, "Unknown_Template", "misconfigured"), (500, "Unknown_Sender", "misconfigured"),
        (500, "PaymentRequired", "misconfigured"), (500, "Unknown_Template", "misconfigured"), (500, "ServiceUnavailable", "retry"),
    ])
    func everyErrorNameHasItsClass(status: Int, name: String, expected: String) {
        let body = #"{"status":"error","code":-1,"name":"\#(name)","message":"what \#(name) says"}"#
        let outcomes = MandrillClassifier.outcomes(
            ProviderHTTPClient.Answer(status: status, body: Data(body.utf8)), addresses: ["a@example.com", "b@example.com"], now: Date()
        )
        #expect(outcomes.map { kind(of: $0) } == [expected, expected])
        #expect(outcomes.map { reason(of: $0) } == Array(repeating: "mandrill \(status) \(name): what \(name) says", count: 2))
    }

    @Test func injectedServerErrorsAreRetriedAndMoreThanTenRecipientsAreQueuedAndAccepted() async throws {
        for status in [500, 503] {
            let faults = FaultPlan(providers: [.mandrill: ProviderFaults(errorRates: [status: 1])])
            try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
                let outcome = await transport(sandbox, http).send(email(1, to: "a@example.com", provider: "mandrill"))
                #expect(kind(of: outcome) == "retry", "\(outcome)")
                #expect(reason(of: outcome).hasPrefix(status == 500 ? "mandrill 500 GeneralError: " : "mandrill 503 ServiceUnavailable: "), "\(outcome)")
            }
        }
        try await withSandbox { sandbox, http in
            // Eleven recipients share a request, which Mandrill answers `queued` for each.
            let messages = (1...11).map { email(Int64($0), to: "user\($0)@example.com", category: "transactional", provider: "mandrill") }
            let outcomes = await transport(sandbox, http).send(messages)
            let recorded = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0.providerMessageID) })
            #expect(recorded.count == 11)
            for (message, outcome) in zip(messages, outcomes) {
                #expect(outcome == .accepted(providerMessageID: recorded[message.address] ?? "?"))
            }
        }
    }
}
