import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

/// The fault plan's latency holds every answer of its provider back: the distribution's lower
/// bound is a floor under the time a send takes (an upper bound would measure the machine).
@Suite(.timeLimit(.minutes(3)))
struct SandboxLatencyTests {
    @Test func aFixedLatencyHoldsEveryAnswerBackAtLeastThatLong() async throws {
        let faults = FaultPlan(providers: [.twilio: ProviderFaults(latency: .fixed(600))])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let twilio = TwilioTransport(name: "twilio", configuration: .init(
                accountSID: sandbox.accounts.twilioAccountSID, authToken: sandbox.accounts.twilioAuthToken, from: "+15005550006",
                baseURL: sandbox.baseURL(for: .twilio)
            ), http: http)
            let clock = ContinuousClock()
            for id in Int64(1)...2 {
                let started = clock.now
                let outcome = await twilio.send(sms(id, to: "+14155550100"))
                let elapsed = clock.now - started
                #expect(kind(of: outcome) == "accepted", "\(outcome)")
                #expect(elapsed >= .milliseconds(600), "answered after \(elapsed)")
            }
            #expect(sandbox.log.messages.count == 2, "late, not lost")
        }
    }

    @Test func aUniformLatencyHoldsAnswersBackAtLeastItsMinimum() async throws {
        let faults = FaultPlan(providers: [.sendgrid: ProviderFaults(latency: .uniform(min: 400, max: 500))])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let sendGrid = SendGridTransport(name: "sendgrid", configuration: .init(
                apiKey: sandbox.accounts.sendGridAPIKey, from: EmailAddress(email: "news@example.com"), baseURL: sandbox.baseURL(for: .sendgrid)
            ), http: http)
            let clock = ContinuousClock()
            let started = clock.now
            let outcome = await sendGrid.send(email(1, to: "ann@example.com"))
            let elapsed = clock.now - started
            #expect(kind(of: outcome) == "accepted", "\(outcome)")
            #expect(elapsed >= .milliseconds(400), "answered after \(elapsed)")
        }
    }
}
