import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

@Suite(.timeLimit(.minutes(3)))
struct VonageTransportTests {
    func transport(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient, secret: String? = nil) -> VonageTransport {
        VonageTransport(name: "vonage", configuration: .init(
            apiKey: sandbox.accounts.vonageAPIKey, apiSecret: secret ?? sandbox.accounts.vonageAPISecret, from: "Herald",
            baseURL: sandbox.baseURL(for: .vonage)
        ), http: http)
    }

    @Test func anSMSIsAcceptedWithItsMessageIDAndUnicodeTextIsMarkedSo() async throws {
        try await withSandbox { sandbox, http in
            let outcomes = await transport(sandbox, http).send([sms(7, to: "+447700900000"), sms(8, to: "+821012345678", body: "주문이 발송되었습니다")])
            let recorded = sandbox.log.messages
            #expect(recorded.count == 2)
            for outcome in outcomes {
                guard case .accepted(let id) = outcome else { Issue.record("\(outcome)"); continue }
                #expect(recorded.contains { $0.providerMessageID == id })
            }
            #expect(recorded.first { $0.to == "+447700900000" }?.metadata["client-ref"] == "7")
            #expect(recorded.first { $0.to == "+821012345678" }?.text == "주문이 발송되었습니다")
        }
    }

    @Test func refusalsInsideA200AreClassifiedByStatus() async throws {
        let faults = FaultPlan(providers: [.vonage: ProviderFaults(invalid: ["+447700900001"], optedOut: ["+447700900002"])])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcomes = await transport(sandbox, http).send([sms(1, to: "+447700900001"), sms(2, to: "+447700900002")])
            #expect(outcomes == [
                .rejected(reason: "vonage status 6: Unroutable message - rejected"), .optedOut(reason: "vonage status 7: Number barred"),
            ])
            #expect(await transport(sandbox, http, secret: "wrong").send(sms(3, to: "+447700900000")) == .misconfigured(reason: "vonage status 4: Bad Credentials"))
        }
        let throttled = FaultPlan(providers: [.vonage: ProviderFaults(errorRates: [429: 1])])
        try await withSandbox(Sandbox.Configuration(faults: throttled)) { sandbox, http in
            #expect(kind(of: await transport(sandbox, http).send(sms(1, to: "+447700900000"))) == "throttled")
        }
        let down = FaultPlan(providers: [.vonage: ProviderFaults(errorRates: [502: 1])])
        try await withSandbox(Sandbox.Configuration(faults: down)) { sandbox, http in
            let outcome = await transport(sandbox, http).send(sms(1, to: "+447700900000"))
            #expect(outcome == .retry(after: nil, reason: "vonage 502: an unexpected answer: <html><body>502</body></html>"))
        }
    }

    @Test func aNumberVonageCannotParseIsRejectedNotDeactivated() async throws {
        try await withSandbox { sandbox, http in
            // E.164 by Herald's check, too short for Vonage: status 3, a bad parameter (PERM).
            let outcome = await transport(sandbox, http).send(sms(1, to: "+12345"))
            #expect(outcome == .rejected(reason: "vonage status 3: Invalid to address"))
            #expect(sandbox.log.messages.isEmpty)
        }
    }
}

/// Each part's `status` of a 200, classified as providers.md, section 9 says.
@Suite struct VonageStatusTests {
    @Test(arguments: [
        ("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry", "throttled"),
        ("2", "Missing to param", "rejected"),
        ("3", "Invalid to address", "rejected"),
        ("4", "Bad Credentials", "misconfigured"),
        ("5", "Internal Error", "retry"),
        ("6", "Unroutable message - rejected", "rejected"),
        ("7", "Number barred", "optedOut"),
        ("8", "Partner account barred", "misconfigured"),
        ("9", "Partner quota violation", "misconfigured"),
        ("15", "Illegal Sender Address - rejected", "misconfigured"),
        ("29", "Non-Whitelisted Destination", "misconfigured"),
    ])
    func everyStatusHasItsClass(status: String, text: String, expected: String) {
        let body = #"{"message-count":"1","messages":[{"status":"\#(status)","error-text":"\#(text)"}]}"#
        let outcome = VonageClassifier.outcome(ProviderHTTPClient.Answer(status: 200, body: Data(body.utf8)), now: Date())
        #expect(kind(of: outcome) == expected, "\(outcome)")
        #expect(reason(of: outcome) == "vonage status \(status): \(text)")
    }
}
