import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

@Suite(.timeLimit(.minutes(3)))
struct TwilioTransportTests {
    func transport(
        _ sandbox: RunningSandbox, _ http: ProviderHTTPClient, token: String? = nil, apiKey: Bool = false, from: String = "+15005550006",
        statusCallback: String = "https://hooks.example.com/twilio/status", concurrency: Int = 32
    ) -> TwilioTransport {
        TwilioTransport(name: "twilio", configuration: TwilioTransport.Configuration(
            accountSID: sandbox.accounts.twilioAccountSID,
            authToken: token ?? (apiKey ? sandbox.accounts.twilioAPIKeySecret : sandbox.accounts.twilioAuthToken),
            apiKeySID: apiKey ? sandbox.accounts.twilioAPIKeySID : nil,
            from: from, baseURL: sandbox.baseURL(for: .twilio), statusCallback: statusCallback, concurrency: concurrency
        ), http: http)
    }

    @Test func anSMSIsAcceptedWithTheMessageSIDAndRecordedAsSent() async throws {
        try await withSandbox { sandbox, http in
            let outcomes = await transport(sandbox, http).send([sms(1, to: "+14155550100", body: "Größe 42 is back 🎉"), sms(2, to: "+821012345678")])
            #expect(outcomes.count == 2)
            let recorded = sandbox.log.messages
            #expect(recorded.count == 2)
            for (outcome, message) in zip(outcomes, [("+14155550100", "Größe 42 is back 🎉"), ("+821012345678", "Your order has shipped")]) {
                guard case .accepted(let sid) = outcome else { Issue.record("\(outcome)"); continue }
                #expect(sid.hasPrefix("SM") && sid.count == 34)
                let record = try #require(recorded.first { $0.providerMessageID == sid })
                #expect(record.to == message.0 && record.text == message.1 && record.from == "+15005550006")
                #expect(record.callbackURL == "https://hooks.example.com/twilio/status")
            }
        }
    }

    @Test func anAPIKeyAndItsSecretAuthenticateToo() async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http, apiKey: true).send(sms(1, to: "+14155550100"))
            guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
        }
    }

    /// Twilio's magic test numbers give the documented errors; each maps to its class.
    @Test(arguments: [
        ("+15005550001", "deadAddress", "21211"),
        ("+15005550009", "deadAddress", "21614"),
        ("+15005550004", "optedOut", "21610"),
        ("+15005550003", "misconfigured", "21408"),
        ("+15005550002", "rejected", "21612"),
    ])
    func everyDocumentedErrorMapsToItsOutcome(number: String, expected: String, code: String) async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http).send(sms(1, to: number))
            #expect(kind(of: outcome) == expected, "\(outcome)")
            #expect(reason(of: outcome).contains("twilio 400 \(code): "), "\(outcome)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    /// The magic `From` numbers: a sender the account cannot use is misconfiguration.
    @Test(arguments: [
        ("+15005550001", "misconfigured", "21212"),
        ("+15005550007", "misconfigured", "21606"),
        ("+15005550008", "throttled", "21611"),
    ])
    func everyMagicFromNumberMapsToItsOutcome(from: String, expected: String, code: String) async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http, from: from).send(sms(1, to: "+14155550100"))
            #expect(kind(of: outcome) == expected, "\(outcome)")
            #expect(reason(of: outcome).contains("twilio 400 \(code): "), "\(outcome)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func anInvalidStatusCallbackIsRejectedAs21609() async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http, statusCallback: "https://hooks_example.com/status").send(sms(1, to: "+14155550100"))
            #expect(outcome == .rejected(reason: "twilio 400 21609: The StatusCallback URL https://hooks_example.com/status is not a valid URL."))
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    /// Keep-alive: sends reuse the pool's connections instead of opening one per message.
    @Test func manyMessagesReuseAFewConnections() async throws {
        try await withSandbox { sandbox, http in
            let twilio = transport(sandbox, http, concurrency: 4)
            let together = await twilio.send((Int64(1)...50).map { sms($0, to: "+14155550100") })
            #expect(together.allSatisfy { kind(of: $0) == "accepted" })
            for id in Int64(51)...100 {
                let outcome = await twilio.send(sms(id, to: "+14155550100"))
                #expect(kind(of: outcome) == "accepted", "\(outcome)")
            }
            #expect(sandbox.log.messages.count == 100)
            // Reused: about the concurrency (4), never one per message; some slack for a connection
            // the client replaces under load.
            #expect((1...12).contains(sandbox.log.httpConnections), "\(sandbox.log.httpConnections) connections for 100 messages")
        }
    }

    @Test func aWrongAuthTokenIsMisconfiguration() async throws {
        try await withSandbox { sandbox, http in
            let outcome = await transport(sandbox, http, token: "wrong").send(sms(1, to: "+14155550100"))
            #expect(outcome == .misconfigured(reason: "twilio 401 20003: Authenticate (check account_sid and auth_token)"))
        }
    }

    @Test func aRateLimitIsRetriedAfterRetryAfterAndAServerErrorIsRetried() async throws {
        let faults = FaultPlan(providers: [.twilio: ProviderFaults(errorRates: [429: 1], retryAfter: 7)])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcome = await transport(sandbox, http).send(sms(1, to: "+14155550100"))
            #expect(outcome == .throttled(after: .seconds(7), reason: "twilio 429 20429: Too Many Requests"))
        }
        let outage = FaultPlan(providers: [.twilio: ProviderFaults(errorRates: [503: 1])])
        try await withSandbox(Sandbox.Configuration(faults: outage)) { sandbox, http in
            let outcome = await transport(sandbox, http).send(sms(1, to: "+14155550100"))
            #expect(kind(of: outcome) == "retry", "\(outcome)")
        }
    }

    @Test func invalidNumbersAndOverlongBodiesAreRefusedBeforeSending() async throws {
        try await withSandbox { sandbox, http in
            let outcomes = await transport(sandbox, http).send([
                sms(1, to: "0101234567"), sms(2, to: "+14155550100", body: String(repeating: "a", count: 1601)),
                sms(3, to: "+14155550100", body: ""),
            ])
            #expect(outcomes == [
                .deadAddress(reason: "'0101234567' is not an E.164 phone number (+ and up to 15 digits)"),
                .rejected(reason: "the SMS body has 1601 characters; twilio takes at most 1600"),
                .rejected(reason: "the SMS body rendered empty"),
            ])
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func anExpiredMessageIsRefusedAndALiveOneCarriesItsValidityPeriod() async throws {
        try await withSandbox { sandbox, http in
            let twilio = transport(sandbox, http)
            var expired = sms(1, to: "+14155550100")
            expired.expiresAt = Date(timeIntervalSinceNow: -10)
            #expect(kind(of: await twilio.send(expired)) == "rejected")
            var live = sms(2, to: "+14155550100")
            live.expiresAt = Date(timeIntervalSinceNow: 600)
            let form = twilio.form(for: live, body: "hi", now: Date())
            #expect(form.first { $0.0 == "ValidityPeriod" }.map { Int($0.1)! } ?? 0 > 590)
        }
    }

    @Test func noSandboxListeningIsARetryNotAHang() async throws {
        let http = ProviderHTTPClient(configuration: .init(connectTimeout: .seconds(2)))
        let twilio = TwilioTransport(name: "twilio", configuration: .init(
            accountSID: "AC00000000000000000000000000000001", authToken: "t", from: "+15005550006", baseURL: "http://127.0.0.1:1"
        ), http: http)
        let outcome = await twilio.send(sms(1, to: "+14155550100"))
        try await http.shutdown()
        #expect(kind(of: outcome) == "retry", "\(outcome)")
    }
}

func kind(of outcome: DeliveryOutcome) -> String {
    switch outcome {
    case .accepted: "accepted"
    case .retry: "retry"
    case .throttled: "throttled"
    case .rejected: "rejected"
    case .deadAddress: "deadAddress"
    case .optedOut: "optedOut"
    case .misconfigured: "misconfigured"
    }
}

func reason(of outcome: DeliveryOutcome) -> String {
    switch outcome {
    case .accepted(let id): id
    case .retry(_, let reason), .throttled(_, let reason), .rejected(let reason), .deadAddress(let reason), .optedOut(let reason), .misconfigured(let reason): reason
    }
}
