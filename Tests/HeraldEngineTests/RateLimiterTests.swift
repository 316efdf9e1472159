import Foundation
import HeraldCore
import HeraldEngine
import Testing

/// The instant the tests start at; every other time is an offset from it.
private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

private func at(_ seconds: Double) -> Date {
    t0.addingTimeInterval(seconds)
}

/// The date a `.wait` names, as seconds after `t0` to the microsecond; `nil` for `.proceed`.
private func waitUntil(_ decision: TokenBucket.Decision) -> Double? {
    guard case .wait(let until) = decision else { return nil }
    return (until.timeIntervalSince(t0) * 1e6).rounded() / 1e6
}

@Suite struct TokenBucketTests {
    @Test func tenPerSecondLetsTenGoAtOnceAndTheEleventhWaitsATenthOfASecond() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        for _ in 0..<10 { #expect(bucket.take(at: t0) == .proceed) }
        #expect(bucket.take(at: t0) == .wait(until: at(0.1)))
        #expect(bucket.take(at: at(0.1)) == .proceed)
        #expect(waitUntil(bucket.take(at: at(0.1))) == 0.2)
    }

    @Test func tokensRefillAtTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.take(10, at: t0) == .proceed)
        #expect(bucket.available(at: at(0.35)) == 3)
        #expect(bucket.take(3, at: at(0.35)) == .proceed)
        #expect(waitUntil(bucket.take(at: at(0.35))) == 0.4)
        #expect(bucket.available(at: at(1.35)) == 10)
    }

    @Test func aQuietSpellSavesUpNoMoreThanTheBurst() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.take(at: t0) == .proceed)
        #expect(bucket.available(at: at(3_600)) == 10)
        #expect(bucket.take(10, at: at(3_600)) == .proceed)
        #expect(waitUntil(bucket.take(at: at(3_600))) == 3_600.1)
    }

    @Test func aBurstLargerThanTheRateGoesAtOnceThenTheRateHolds() {
        var bucket = TokenBucket(rate: 1, burst: 5)
        #expect(bucket.available(at: t0) == 5)
        for _ in 0..<5 { #expect(bucket.take(at: t0) == .proceed) }
        #expect(waitUntil(bucket.take(at: t0)) == 1)
        #expect(waitUntil(bucket.take(at: at(0.5))) == 1)
        #expect(bucket.take(at: at(1)) == .proceed)
    }

    @Test func aBatchIsTakenWholeOrNotAtAll() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.take(7, at: t0) == .proceed)
        // 3 left: a batch of 4 waits for the 4th token, and takes nothing meanwhile.
        #expect(waitUntil(bucket.take(4, at: t0)) == 0.1)
        #expect(waitUntil(bucket.take(4, at: t0)) == 0.1)
        #expect(bucket.available(at: t0) == 3)
        #expect(bucket.take(4, at: at(0.1)) == .proceed)
        #expect(bucket.available(at: at(0.1)) == 0)
    }

    @Test func aBatchLargerThanTheBurstGoesWhenFullAndLeavesADebt() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.take(1, at: t0) == .proceed)
        #expect(waitUntil(bucket.take(25, at: t0)) == 0.1)      // it waits for a full bucket
        #expect(bucket.take(25, at: at(0.1)) == .proceed)
        #expect(bucket.available(at: at(0.1)) == -15)
        #expect(waitUntil(bucket.take(at: at(0.1))) == 1.7)     // 16 tokens at 10/s
        #expect(bucket.take(at: at(1.7)) == .proceed)
    }

    @Test(arguments: [0, -3])
    func takingNothingAlwaysProceeds(count: Int) {
        var bucket = TokenBucket(rate: 1, burst: 1)
        #expect(bucket.take(at: t0) == .proceed)
        #expect(bucket.take(count, at: t0) == .proceed)
        #expect(bucket.available(at: t0) == 0)
    }

    @Test func timeGoingBackwardsRefillsNothing() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.take(10, at: at(5)) == .proceed)
        #expect(waitUntil(bucket.take(at: at(4))) == 5.1)
        #expect(bucket.available(at: at(4)) == 0)
        #expect(bucket.take(at: at(5.1)) == .proceed)
    }

    @Test func aNewRateCountsTheTokensSavedAtTheOldOne() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.take(10, at: t0) == .proceed)
        bucket.setRate(5, burst: 5, at: at(0.2))                // 2 tokens saved at 10/s
        #expect(bucket.rate == 5 && bucket.burst == 5)
        #expect(bucket.available(at: at(0.2)) == 2)
        #expect(bucket.take(2, at: at(0.2)) == .proceed)
        #expect(waitUntil(bucket.take(at: at(0.2))) == 0.4)     // then one every 0.2 s
        #expect(bucket.available(at: at(100)) == 5)
    }

    @Test func lowerBurstDropsTheTokensAboveIt() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        #expect(bucket.available(at: t0) == 10)
        bucket.setRate(10, burst: 3, at: t0)
        #expect(bucket.available(at: t0) == 3)
    }

    @Test func aRateFromHeraldYMLHasOneSecondOfBurstAndAtLeastOne() {
        var perMinute = TokenBucket(RateLiteral(count: 600, per: .minute))
        #expect(perMinute.rate == 10 && perMinute.burst == 10)
        #expect(perMinute.take(10, at: t0) == .proceed)
        #expect(waitUntil(perMinute.take(at: t0)) == 0.1)

        var perHour = TokenBucket(RateLiteral(count: 50, per: .hour))
        #expect(perHour.burst == 1)
        #expect(perHour.take(at: t0) == .proceed)
        #expect(waitUntil(perHour.take(at: t0)) == 72)

        #expect(TokenBucket(RateLiteral(count: 100, per: .second), burst: 20).burst == 20)
        #expect(TokenBucket(rate: 0, burst: 0).burst == 1)
        #expect(TokenBucket(rate: -1, burst: 1).rate > 0)
    }
}

@Suite struct RateLimiterTests {
    let tenPerSecond = ProviderRateLimiter.Configuration(rate: RateLiteral(count: 10, per: .second))

    @Test func theDefaultsAreDocumented() {
        let configuration = ProviderRateLimiter.Configuration()
        #expect(configuration.rate == nil && configuration.burst == nil)
        #expect(configuration.decreaseFactor == 0.5 && configuration.minimumFraction == 0.01 && configuration.increaseFraction == 0.1)
        #expect(configuration.decreaseInterval == .seconds(1) && configuration.quietPeriod == .seconds(10))
        #expect(configuration.unlimitedFallbackRate == 100)
    }

    @Test func itStartsAtTheConfiguredRate() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        #expect(limiter.effectiveRate == 10)
        #expect(limiter.take(10, at: t0) == .proceed)
        #expect(waitUntil(limiter.take(at: t0)) == 0.1)
        #expect(limiter.take(at: at(0.1)) == .proceed)
    }

    @Test func aThrottleHalvesTheRateAndTheBurst() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.record(.throttled(retryAfter: nil), at: t0)
        #expect(limiter.effectiveRate == 5)
        #expect(limiter.blockedUntil == nil)
        #expect(limiter.take(5, at: at(10)) == .proceed)          // the burst is 5 now
        #expect(waitUntil(limiter.take(at: at(10))) == 10.2)      // one every 0.2 s
    }

    @Test func throttlesFromOneBurstHalveOnce() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        for index in 0..<100 { limiter.record(.throttled(retryAfter: nil), at: at(Double(index) / 200)) }
        #expect(limiter.effectiveRate == 5)
        limiter.record(.throttled(retryAfter: nil), at: at(0.99))
        #expect(limiter.effectiveRate == 5)
        limiter.record(.throttled(retryAfter: nil), at: at(1))
        #expect(limiter.effectiveRate == 2.5)
    }

    @Test func theRateNeverFallsBelowOnePercentOfTheConfiguredRate() throws {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        var rates: [Double] = []
        for second in 0..<10 {
            limiter.record(.throttled(retryAfter: nil), at: at(Double(second)))
            rates.append(try #require(limiter.effectiveRate))
        }
        let floor: Double = 10 * 0.01
        let expected: [Double] = [5, 2.5, 1.25, 0.625, 0.3125, 0.15625, floor, floor, floor, floor]
        #expect(rates == expected)
        #expect(limiter.take(at: at(100)) == .proceed)
        #expect(waitUntil(limiter.take(at: at(100))) == 110)
    }

    @Test func aRetryAfterBlocksEveryTakeUntilItHasPassedAndNoBurstFollows() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.record(.throttled(retryAfter: .seconds(30)), at: t0)
        #expect(limiter.blockedUntil == at(30))
        #expect(limiter.take(at: t0) == .wait(until: at(30)))
        #expect(limiter.take(3, at: at(29.9)) == .wait(until: at(30)))
        #expect(limiter.take(at: at(30)) == .proceed)
        #expect(waitUntil(limiter.take(at: at(30))) == 30.2)      // 5/s from there, not a burst of 5
    }

    @Test func theLongerRetryAfterHolds() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.record(.throttled(retryAfter: .seconds(60)), at: t0)
        limiter.record(.throttled(retryAfter: .seconds(5)), at: at(1))
        #expect(limiter.blockedUntil == at(60))
        limiter.record(.throttled(retryAfter: .seconds(120)), at: at(2))
        #expect(limiter.blockedUntil == at(122))
        #expect(limiter.take(at: at(100)) == .wait(until: at(122)))
    }

    @Test func quietSuccessesRecoverAdditivelyToTheConfiguredRate() throws {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.record(.throttled(retryAfter: nil), at: t0)
        var rates: [Double] = []
        for second in stride(from: 5.0, through: 70, by: 5) {
            limiter.record(.succeeded, at: at(second))
            rates.append(try #require(limiter.effectiveRate))
        }
        // One step of 10% of 10/s per quiet period of 10 s, and never above 10/s.
        #expect(rates == [5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 10, 10, 10])
    }

    @Test func aThrottleDuringRecoveryRestartsTheQuietPeriod() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.record(.throttled(retryAfter: nil), at: t0)
        limiter.record(.succeeded, at: at(10))
        #expect(limiter.effectiveRate == 6)
        limiter.record(.throttled(retryAfter: nil), at: at(15))
        #expect(limiter.effectiveRate == 3)
        limiter.record(.succeeded, at: at(24))
        #expect(limiter.effectiveRate == 3)
        limiter.record(.succeeded, at: at(25))
        #expect(limiter.effectiveRate == 4)
    }

    @Test func successesAtTheConfiguredRateChangeNothing() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        for second in 0..<100 { limiter.record(.succeeded, at: at(Double(second))) }
        #expect(limiter.effectiveRate == 10)
    }

    @Test func anUnlimitedProviderGoesAtAnySpeedUntilItsFirstThrottle() {
        var limiter = ProviderRateLimiter()
        #expect(limiter.effectiveRate == nil)
        for _ in 0..<10_000 { #expect(limiter.take(at: t0) == .proceed) }
        #expect(limiter.take(5_000, at: t0) == .proceed)
    }

    @Test func aThrottledUnlimitedProviderHalvesTheThroughputItWasSeenToHave() {
        var limiter = ProviderRateLimiter()
        for index in 0..<30 { #expect(limiter.take(at: at(Double(index) / 60)) == .proceed) }
        limiter.record(.throttled(retryAfter: nil), at: at(0.6))
        #expect(limiter.effectiveRate == 15)
        #expect(limiter.take(at: at(0.6)) == .proceed)
        #expect(waitUntil(limiter.take(at: at(0.6))) == 0.666667)     // 1/15 s later
    }

    @Test func anUnlimitedProviderThrottledBeforeSendingStartsFromTheFallbackAndRecoversToUnlimited() {
        var limiter = ProviderRateLimiter()
        limiter.record(.throttled(retryAfter: nil), at: t0)
        #expect(limiter.effectiveRate == 50)
        #expect(limiter.take(at: t0) == .proceed)
        #expect(waitUntil(limiter.take(at: t0)) == 0.02)
        var rates: [Double?] = []
        for second in stride(from: 10.0, through: 50, by: 10) {
            limiter.record(.succeeded, at: at(second))
            rates.append(limiter.effectiveRate)
        }
        #expect(rates == [60, 70, 80, 90, nil])
        #expect(limiter.take(1_000, at: at(50)) == .proceed)
    }

    @Test func aShareOfTheRateLetsThatFractionOfItAndOfItsBurstThrough() {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        #expect(limiter.share == 1)
        limiter.setShare(0.5, at: t0)
        #expect(limiter.share == 0.5 && limiter.effectiveRate == 5)
        #expect(limiter.take(5, at: t0) == .proceed)                // a burst of 5, not 10
        #expect(waitUntil(limiter.take(at: t0)) == 0.2)              // then one every 0.2 s
        // The other worker stopped: the whole rate again, the tokens saved from the new rate on.
        limiter.setShare(1, at: at(0.2))
        #expect(limiter.effectiveRate == 10)
        #expect(limiter.take(at: at(0.2)) == .proceed)
        #expect(waitUntil(limiter.take(at: at(0.2))) == 0.3)
    }

    @Test func aSharedRateSlowsDownAndRecoversAsAWhole() throws {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.setShare(0.25, at: t0)
        limiter.record(.throttled(retryAfter: nil), at: t0)
        #expect(limiter.effectiveRate == 1.25)                       // a quarter of the halved 10/s
        limiter.record(.succeeded, at: at(10))
        #expect(limiter.effectiveRate == 1.5)                        // a quarter of 6/s
        limiter.setShare(0.5, at: at(11))
        #expect(limiter.effectiveRate == 3)
        for second in stride(from: 20.0, through: 60, by: 10) { limiter.record(.succeeded, at: at(second)) }
        #expect(limiter.effectiveRate == 5)                          // half of the whole 10/s, no more
    }

    @Test func anUnlimitedProviderIsNotShared() {
        var limiter = ProviderRateLimiter()
        limiter.setShare(0.5, at: t0)
        #expect(limiter.share == 1 && limiter.effectiveRate == nil)
        limiter.record(.throttled(retryAfter: nil), at: t0)
        #expect(limiter.effectiveRate == 50)                         // the fallback's half, this process's own
    }

    @Test(arguments: [0.0, -1, .nan, .infinity])
    func aShareOutsideItsRangeIsClamped(share: Double) {
        var limiter = ProviderRateLimiter(configuration: tenPerSecond)
        limiter.setShare(share, at: t0)
        #expect(limiter.share == (share.isFinite ? 0.001 : 1))
    }

    @Test func eachProviderIsSharedByTheLiveWorkersOfItsChannels() {
        func worker(_ id: String, _ channels: Set<Channel>) -> WorkerPresence {
            WorkerPresence(id: id, channels: channels, host: "h", processID: 1, startedAt: t0, seenAt: t0)
        }
        let routing = ChannelRouting(push: [.apns: "apns", .fcm: "fcm"], sms: ["twilio", "vonage"], email: ["sendgrid", "twilio"])
        let providers = ProviderShares.channels(of: routing)
        #expect(providers == (["apns": [.push], "fcm": [.push], "twilio": [.sms, .email], "vonage": [.sms], "sendgrid": [.email]] as [String: Set<Channel>]))
        let live = [worker("a", [.sms]), worker("b", [.email]), worker("c", [.sms, .email, .push])]
        #expect(ProviderShares.shares(providers: providers, live: live) == [
            "apns": 1, "fcm": 1, "twilio": 1.0 / 3, "vonage": 0.5, "sendgrid": 0.5,
        ])
        #expect(ProviderShares.shares(providers: providers, live: []) == providers.mapValues { _ in 1 })
    }

    @Test func anUnlimitedProviderHonoursRetryAfter() {
        var limiter = ProviderRateLimiter()
        limiter.record(.throttled(retryAfter: .seconds(2)), at: t0)
        #expect(limiter.take(at: at(1)) == .wait(until: at(2)))
        #expect(limiter.take(at: at(2)) == .proceed)
    }

    @Test func anExplicitBurstScalesWithTheRate() {
        var limiter = ProviderRateLimiter(configuration: .init(rate: RateLiteral(count: 10, per: .second), burst: 40))
        #expect(limiter.take(40, at: t0) == .proceed)
        limiter.record(.throttled(retryAfter: nil), at: at(100))
        #expect(limiter.take(20, at: at(200)) == .proceed)
        #expect(waitUntil(limiter.take(at: at(200))) == 200.2)
    }
}

@Suite struct ConcurrencyLimitTests {
    @Test func itLetsUpToTheMaximumInFlight() {
        var limit = ConcurrencyLimit()
        #expect(limit.maximum == 64)
        #expect(limit.tryAcquire(60) == true)
        #expect(limit.tryAcquire(5) == false)                   // all or none
        #expect(limit.inFlight == 60 && limit.available == 4)
        for _ in 0..<4 { #expect(limit.tryAcquire() == true) }
        #expect(limit.tryAcquire() == false)
        limit.release()
        #expect(limit.tryAcquire() == true)
        #expect(limit.inFlight == 64)
    }

    @Test func releasingMoreThanIsHeldNeverLetsMoreThanTheMaximumThrough() {
        var limit = ConcurrencyLimit(maximum: 2)
        #expect(limit.tryAcquire() == true)
        limit.release(5)
        limit.release(-3)
        #expect(limit.inFlight == 0)
        #expect(limit.tryAcquire(2) == true)
        #expect(limit.tryAcquire() == false)
    }

    @Test func aMaximumBelowOneIsOneAndNothingAlwaysFits() {
        var limit = ConcurrencyLimit(maximum: 0)
        #expect(limit.maximum == 1)
        #expect(limit.tryAcquire() == true)
        #expect(limit.tryAcquire(0) == true)
        #expect(limit.tryAcquire() == false)
    }
}
