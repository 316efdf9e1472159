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

    func attempt(_ number: Int) -> OutboundMessage {
        var copy = message
        copy.attempt = number
        return copy
    }

    /// How long after `now` a `.retry` is due, to the microsecond (nil for anything else).
    func delay(of resolution: DeliveryResolution) -> Duration? {
        guard case .retry(let at, _) = resolution else { return nil }
        return .microseconds(Int64((at.timeIntervalSince(now) * 1e6).rounded()))
    }

    // MARK: Backoff

    @Test(arguments: [(0, 2), (1, 2), (2, 4), (3, 8), (4, 10), (5, 10), (30, 10), (1_000, 10)])
    func theCeilingDoublesPerAttemptUpToTheMaximum(attempt: Int, seconds: Int64) {
        #expect(policy.ceiling(afterAttempt: attempt) == .seconds(seconds))
    }

    @Test(arguments: [
        (1, 0.0, 20), (1, 0.5, 1_010), (1, 1.0, 2_000),       // ceiling 2 s, floor 20 ms
        (2, 0.25, 1_030),                                      // ceiling 4 s: 0.04 + 3.96 × 0.25
        (3, 0.0, 80), (3, 0.5, 4_040),                         // ceiling 8 s, floor 80 ms
        (4, 0.0, 100), (4, 0.75, 7_525), (30, 1.0, 10_000),    // ceiling 10 s, floor 100 ms
    ] as [(Int, Double, Int64)])
    func backoffIsFullJitterBetweenTheFloorAndTheCeiling(attempt: Int, jitter: Double, milliseconds: Int64) {
        #expect(policy.backoff(afterAttempt: attempt, jitter: jitter) == .milliseconds(milliseconds))
    }

    @Test func theFloorIsOnePercentOfTheCeilingButAtMostAHundredMilliseconds() {
        let long = RetryPolicy(maxAttempts: 20, initial: .seconds(2), maximum: .seconds(1800))
        #expect(long.backoff(afterAttempt: 15, jitter: 0) == .milliseconds(100))
        let short = RetryPolicy(maxAttempts: 20, initial: .milliseconds(500), maximum: .seconds(1800))
        #expect(short.backoff(afterAttempt: 1, jitter: 0) == .milliseconds(5))
    }

    @Test func backoffStaysWithinItsBoundsForEveryJitter() {
        let jitters = (0...1_000).map { Double($0) / 1_000 }
        for attempt in 1...12 {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            let delays = jitters.map { policy.backoff(afterAttempt: attempt, jitter: $0) }
            #expect(delays.allSatisfy { $0 > .zero && $0 <= ceiling }, "attempt \(attempt)")
            #expect(delays == delays.sorted(), "attempt \(attempt): more jitter, longer delay")
            #expect(delays.first == min(ceiling / 100, .milliseconds(100)))
            #expect(delays.last == ceiling)
            // Full jitter, not "half fixed": about half of the delays are below half the ceiling.
            let belowHalf = delays.filter { $0 < ceiling / 2 }.count
            #expect((450...550).contains(belowHalf), "attempt \(attempt): \(belowHalf) of 1001 below half")
            if attempt < 12 {
                #expect(policy.ceiling(afterAttempt: attempt + 1) == min(ceiling * 2, .seconds(10)))
            }
        }
    }

    @Test(arguments: [-1.0, -.infinity, .nan, 2.0, .infinity])
    func aJitterOutsideZeroToOneIsClamped(jitter: Double) {
        let delay = policy.backoff(afterAttempt: 1, jitter: jitter)
        #expect(delay == (jitter > 1 ? .seconds(2) : .milliseconds(20)))
    }

    @Test func anAbsurdMaximumIsBoundedInsteadOfOverflowing() {
        let huge = RetryPolicy(maxAttempts: 100, initial: .seconds(Int64.max / 4), maximum: .seconds(Int64.max / 2))
        #expect(huge.backoff(afterAttempt: 50, jitter: 1) == .seconds(30 * 86_400))
        #expect(delay(of: huge.resolve(.retry(after: .seconds(Int64.max / 2), reason: "429"), of: message, at: now, jitter: 0)) == .seconds(30 * 86_400))
    }

    // MARK: Retry-After

    @Test func aRetryAfterLongerThanTheBackoffWins() {
        let resolution = policy.resolve(.retry(after: .seconds(42), reason: "429"), of: message, at: now, jitter: 0.3)
        #expect(resolution == .retry(at: now.addingTimeInterval(42), reason: "429"))
    }

    @Test func aRetryAfterShorterThanTheBackoffIsStretchedToTheBackoff() {
        // Attempt 3: ceiling 8 s, jitter 0.5 gives 4.04 s; the provider asked for only 1 s.
        let resolution = policy.resolve(.retry(after: .seconds(1), reason: "429"), of: attempt(3), at: now, jitter: 0.5)
        #expect(delay(of: resolution) == .milliseconds(4_040))
        #expect(policy.resolve(.retry(after: .seconds(5), reason: "429"), of: attempt(3), at: now, jitter: 0.5).reason == "429")
        #expect(delay(of: policy.resolve(.retry(after: .seconds(5), reason: "429"), of: attempt(3), at: now, jitter: 0.5)) == .seconds(5))
    }

    @Test func withoutRetryAfterTheBackoffIsUsed() {
        #expect(delay(of: policy.resolve(.retry(after: nil, reason: "503"), of: message, at: now, jitter: 0.5)) == .milliseconds(1_010))
        #expect(delay(of: policy.resolve(.retry(after: nil, reason: "503"), of: attempt(2), at: now, jitter: 1)) == .seconds(4))
    }

    @Test func theLastAttemptGivesUpAsDeadEvenWithRetryAfter() {
        #expect(policy.resolve(.retry(after: nil, reason: "503"), of: attempt(4), at: now, jitter: 0)
            == .dead(reason: "gave up after 4 attempts: 503"))
        #expect(policy.resolve(.retry(after: .seconds(1), reason: "429"), of: attempt(4), at: now, jitter: 0)
            == .dead(reason: "gave up after 4 attempts: 429"))
        #expect(delay(of: policy.resolve(.retry(after: nil, reason: "503"), of: attempt(3), at: now, jitter: 0)) == .milliseconds(80))
    }

    // MARK: Misconfigured

    @Test(arguments: [1, 3, 4, 5, 1_000])
    func aMisconfiguredProviderPausesWithoutUsingUpAttempts(attemptNumber: Int) {
        // Attempt 4 of 4 and beyond: an operator fixing credentials must not find everything dead.
        #expect(policy.resolve(.misconfigured(reason: "401 bad credentials"), of: attempt(attemptNumber), at: now, jitter: 0.9)
            == .retry(at: now.addingTimeInterval(300), reason: "misconfigured: 401 bad credentials"))
    }

    @Test func theMisconfiguredPauseIsConfigurable() {
        let patient = RetryPolicy(maxAttempts: 1, misconfiguredPause: .seconds(60))
        #expect(patient.resolve(.misconfigured(reason: "unknown sender"), of: message, at: now, jitter: 0)
            == .retry(at: now.addingTimeInterval(60), reason: "misconfigured: unknown sender"))
        #expect(RetryPolicy().misconfiguredPause == .seconds(300))
        #expect(RetryPolicy(RetryConfiguration()) == RetryPolicy(maxAttempts: 8, initial: .seconds(2), maximum: .seconds(1800), misconfiguredPause: .seconds(300)))
    }

    // MARK: Final outcomes

    @Test func permanentOutcomesAreFinal() {
        #expect(policy.resolve(.accepted(providerMessageID: "SM1"), of: message, at: now, jitter: 0) == .sent(providerMessageID: "SM1", provider: "twilio"))
        #expect(policy.resolve(.rejected(reason: "21211 invalid number"), of: message, at: now, jitter: 0) == .failed(reason: "21211 invalid number"))
        #expect(policy.resolve(.deadAddress(reason: "unregistered"), of: message, at: now, jitter: 0) == .failed(reason: "unregistered", deactivateAddress: true))
        #expect(policy.resolve(.optedOut(reason: "21610 STOP"), of: message, at: now, jitter: 0) == .optedOutAtProvider(reason: "21610 STOP"))
    }
}

private extension DeliveryResolution {
    var reason: String? {
        if case .retry(_, let reason) = self { reason } else { nil }
    }
}
