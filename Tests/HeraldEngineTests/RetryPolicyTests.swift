import Foundation
import HeraldCore
import HeraldEngine
import Testing

let message = OutboundMessage(
    notificationID: 1, campaignID: "c", userID: "u", channel: .sms, provider: "twilio",
    address: "+15551234567", content: .sms(SMSContent(body: "hi")), attempt: 1
)

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 4, initial: .seconds(2), maximum: .seconds(10))
    let now = Date(timeIntervalSince1970: 1_000)

    @Test(arguments: [(1, 0.0, 1_000), (1, 1.0, 2_000), (2, 1.0, 4_000), (3, 0.5, 6_000), (4, 1.0, 10_000), (30, 1.0, 10_000)])
    func backoffDoublesWithJitterUpToTheMaximum(attempt: Int, jitter: Double, milliseconds: Int64) {
        #expect(policy.backoff(afterAttempt: attempt, jitter: jitter) == .milliseconds(milliseconds))
    }

    @Test func anAbsurdMaximumIsBoundedInsteadOfOverflowing() {
        let huge = RetryPolicy(maxAttempts: 100, initial: .seconds(Int64.max / 4), maximum: .seconds(Int64.max / 2))
        #expect(huge.backoff(afterAttempt: 50, jitter: 1) == .seconds(30 * 86_400))
    }

    @Test func retryAfterFromTheProviderWins() {
        #expect(policy.resolve(.retry(after: .seconds(42), reason: "429"), of: message, at: now, jitter: 0.3)
            == .retry(at: now.addingTimeInterval(42), reason: "429"))
    }

    @Test func aMisconfiguredProviderIsRetriedLikeATemporaryFailure() {
        // Attempt 1 of 4: an operator may fix the credentials before the attempts run out.
        #expect(policy.resolve(.misconfigured(reason: "401 bad credentials"), of: message, at: now, jitter: 0)
            == .retry(at: now.addingTimeInterval(1), reason: "misconfigured: 401 bad credentials"))
        #expect(policy.resolve(.retry(after: nil, reason: "503"), of: message, at: now, jitter: 0.5)
            == .retry(at: now.addingTimeInterval(1.5), reason: "503"))
    }

    @Test func theLastAttemptGivesUpAsDead() {
        var last = message
        last.attempt = 4
        #expect(policy.resolve(.retry(after: nil, reason: "503"), of: last, at: now, jitter: 0)
            == .dead(reason: "gave up after 4 attempts: 503"))
        #expect(policy.resolve(.misconfigured(reason: "401 bad credentials"), of: last, at: now, jitter: 0)
            == .dead(reason: "gave up after 4 attempts: misconfigured: 401 bad credentials"))
    }

    @Test func permanentOutcomesAreFinal() {
        #expect(policy.resolve(.accepted(providerMessageID: "SM1"), of: message, at: now, jitter: 0) == .sent(providerMessageID: "SM1", provider: "twilio"))
        #expect(policy.resolve(.rejected(reason: "21211 invalid number"), of: message, at: now, jitter: 0) == .failed(reason: "21211 invalid number"))
        #expect(policy.resolve(.deadAddress(reason: "unregistered"), of: message, at: now, jitter: 0) == .failed(reason: "unregistered", deactivateAddress: true))
        #expect(policy.resolve(.optedOut(reason: "21610 STOP"), of: message, at: now, jitter: 0) == .optedOutAtProvider(reason: "21610 STOP"))
    }
}
