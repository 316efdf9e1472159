import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import NIOHTTP1
import Testing

/// The sandbox answers malformed requests as the provider would, and keeps serving. The limit is
/// loose: the suite shares two cores with worker processes of the chaos test.
@Suite(.timeLimit(.minutes(3)))
struct SandboxRobustnessTests {
    @Test func malformedRequestsGetProviderAnswersAndTheSandboxKeepsServing() async throws {
        try await Sandbox.withRunning { sandbox in
            try await withRawClient { client in
                var generator = SystemRandomNumberGenerator()
                let paths = [
                    "/twilio/2010-04-01/Accounts/\(sandbox.accounts.twilioAccountSID)/Messages.json", "/twilio/2010-04-01/Accounts",
                    "/sendgrid/v3/mail/send", "/vonage/sms/json", "/mandrill/api/1.0/messages/send.json", "/nowhere", "/sandbox/unknown",
                ]
                let bodies: [Data] = [
                    Data(), Data("{".utf8), Data("[]".utf8), Data("null".utf8), Data("{\"personalizations\":[1,\"x\",null]}".utf8),
                    Data("{\"key\":7,\"message\":{\"to\":\"not a list\"}}".utf8), Data("To=%ZZ&Body=%".utf8),
                    Data((0..<2048).map { _ in UInt8.random(in: 0...255, using: &generator) }),
                ]
                let headers: [[(String, String)]] = [
                    [], [("Content-Type", "application/json"), ("Authorization", "Bearer \(sandbox.accounts.sendGridAPIKey)")],
                    [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Basic !!!")],
                    [("Content-Type", "text/plain; charset=weird"), ("Authorization", "Bearer")],
                ]
                for path in paths {
                    for body in bodies {
                        for header in headers {
                            let answer = try await raw(client, "http://\(sandbox.host):\(sandbox.port)\(path)", headers: header, body: body)
                            #expect((200..<500).contains(answer.status), "\(path) answered \(answer.status)")
                        }
                    }
                }
                #expect(sandbox.log.messages.isEmpty)
                let health = try await raw(client, "http://\(sandbox.host):\(sandbox.port)/sandbox/health", method: .GET)
                #expect(health.status == 200)
            }
        }
    }
}

@Suite struct TwilioErrorCodeTests {
    @Test(arguments: [
        (30001, "throttled"), (30002, "misconfigured"), (30003, "retry"), (30004, "rejected"), (30005, "deadAddress"),
        (30006, "deadAddress"), (30007, "rejected"), (30008, "retry"), (21211, "deadAddress"), (21610, "optedOut"),
        (21614, "deadAddress"), (21408, "misconfigured"), (20003, "misconfigured"), (20429, "throttled"), (21611, "throttled"),
        // providers.md, section 3: a landline 'To' is PERM, an unverified 'To' of a trial account
        // CONFIG, a bad StatusCallback PERM (a bug); a 'From' the account cannot use is its setup.
        (21635, "rejected"), (21608, "misconfigured"), (21609, "rejected"), (21212, "misconfigured"), (21606, "misconfigured"),
    ])
    func everyCodeOfTheTableHasItsClass(code: Int, expected: String) throws {
        let outcome = try #require(TwilioClassifier.outcome(errorCode: code, reason: "twilio \(code)"))
        #expect(kind(of: outcome) == expected)
    }

    @Test func anHTTPStatusDecidesWhenTheCodeIsUnknown() {
        let answer = { (status: Int) in ProviderHTTPClient.Answer(status: status, body: Data(#"{"code":99999,"message":"new"}"#.utf8)) }
        #expect(kind(of: TwilioClassifier.outcome(answer(429), now: Date())) == "throttled")
        #expect(kind(of: TwilioClassifier.outcome(answer(503), now: Date())) == "retry")
        #expect(kind(of: TwilioClassifier.outcome(answer(401), now: Date())) == "misconfigured")
        #expect(kind(of: TwilioClassifier.outcome(answer(400), now: Date())) == "rejected")
    }
}

@Suite struct MessageLogTests {
    @Test func theLogKeepsTheLatestMessagesUpToItsLimitAndCountsThemAll() throws {
        let log = try MessageLog(limit: 10)
        for index in 0..<45 {
            log.append([RecordedMessage(provider: .twilio, providerMessageID: "m\(index)", to: "+14155550100", from: "+15005550006", acceptedAt: 0)])
        }
        #expect(log.count == 45)
        #expect(log.messages.map(\.providerMessageID) == (35..<45).map { "m\($0)" })
        log.removeAll()
        #expect(log.messages.isEmpty)
        #expect(log.count == 45)
    }
}
