import Foundation
import HeraldCore
import HeraldEngine
import HeraldTesting
import Testing

/// The gates in front of each provider, in virtual time: the rate limit, the slow-down after a
/// storm of 429s (and not after a stray one), the breaker, and the pause of a misconfigured
/// provider.
@Suite(.timeLimit(.minutes(3)))
struct ProviderGatesTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    static let throttled = DeliveryOutcome.throttled(after: .seconds(5), reason: "twilio 429 20429: Too Many Requests")
    static let failed = DeliveryOutcome.retry(after: nil, reason: "twilio 503: Service Unavailable")
    static let accepted = DeliveryOutcome.accepted(providerMessageID: "SM1")

    @Test func theRateOfHeraldYMLHoldsSendsBackOnTheClock() async throws {
        let clock = ManualClock(start)
        let gates = ProviderGates(configuration: .init(rates: ["twilio": RateLiteral(count: 10, per: .second)]))
        let signal = WorkSignal()
        // One second of burst goes at once; the next ten wait for the bucket to refill.
        try await gates.acquire(10, for: "twilio", clock: clock, unlessStopping: signal)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gates.acquire(10, for: "twilio", clock: clock, unlessStopping: signal) }
            try await clock.waitForSleepers(1)
            #expect(clock.sleepingUntil == [start.addingTimeInterval(1)])
            clock.advance(by: 1)
            try await group.next()
        }
        // Another provider has no limit of its own.
        try await gates.acquire(10_000, for: "vonage", clock: clock, unlessStopping: signal)
    }

    @Test func aStray429IsRetriedWithoutSlowingTheProviderButAStormBlocksItUntilRetryAfter() async throws {
        let clock = ManualClock(start)
        let gates = ProviderGates(configuration: .init(rates: ["twilio": RateLiteral(count: 1000, per: .second)]))
        let signal = WorkSignal()
        gates.record(Array(repeating: Self.accepted, count: 99) + [Self.throttled], for: "twilio", at: clock.now)
        // Had the stray 429 counted, its Retry-After would hold this send for 5 s.
        let acquired = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await gates.acquire(1, for: "twilio", clock: clock, unlessStopping: signal)
                return true
            }
            group.addTask {
                try await clock.waitForSleepers(1, timeout: 5)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        #expect(acquired, "a stray 429 held the provider back")
        signal.ring()
        // A quarter of the next answers are 429s with Retry-After 5 s: the provider waits.
        clock.advance(by: 2)
        gates.record(Array(repeating: Self.accepted, count: 30) + Array(repeating: Self.throttled, count: 10), for: "twilio", at: clock.now)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gates.acquire(1, for: "twilio", clock: clock, unlessStopping: signal) }
            try await clock.waitForSleepers(1)
            #expect(clock.sleepingUntil.allSatisfy { $0 >= start.addingTimeInterval(2 + 5) })
            clock.advance(by: 60)
            try await group.next()
        }
    }

    @Test func fiveFailuresInARowOpenTheBreakerAndAProbeAfterTheCoolDownClosesIt() {
        let gates = ProviderGates()
        gates.record([Self.failed, Self.failed, Self.accepted, Self.failed, Self.failed, Self.failed, Self.failed], for: "sendgrid", at: start)
        #expect(gates.admit("sendgrid", at: start) == .allowed, "a success in between starts the count again")
        gates.record([Self.failed], for: "sendgrid", at: start)
        guard case .held(let until, let reason) = gates.admit("sendgrid", at: start.addingTimeInterval(1)) else {
            Issue.record("the breaker did not open")
            return
        }
        #expect(until == start.addingTimeInterval(30))
        #expect(reason.contains("circuit breaker open after 5 failures in a row"))
        #expect(gates.health(at: start.addingTimeInterval(1)).map(\.breaker) == ["open"])
        #expect(gates.admit("mandrill", at: start) == .allowed, "each provider has its own breaker")
        // Half open after the cool-down: the probe goes, and its success closes the breaker.
        #expect(gates.admit("sendgrid", at: start.addingTimeInterval(31)) == .allowed)
        gates.record([Self.accepted], for: "sendgrid", at: start.addingTimeInterval(32))
        #expect(gates.admit("sendgrid", at: start.addingTimeInterval(33)) == .allowed)
        #expect(gates.health(at: start.addingTimeInterval(33)).filter { $0.provider == "sendgrid" }.map(\.breaker) == ["closed"])
    }

    @Test func aProbeCallWithOneAcceptedMessageClosesTheBreakerWhateverFailedBesideIt() {
        let gates = ProviderGates()
        gates.record(Array(repeating: Self.failed, count: 5), for: "apns", at: start)
        #expect(gates.admit("apns", at: start.addingTimeInterval(31)) == .allowed, "the probe")
        // The probe's 75 requests answered in no particular order: a 503 first, then the rest
        // accepted. The provider is back.
        gates.record([Self.failed] + Array(repeating: Self.accepted, count: 74), for: "apns", at: start.addingTimeInterval(32))
        #expect(gates.admit("apns", at: start.addingTimeInterval(32)) == .allowed)
        #expect(gates.health(at: start.addingTimeInterval(32)).map(\.breaker) == ["closed"])
        // Nor does the order of what followed the success count: the call is one result.
        gates.record(Array(repeating: Self.failed, count: 5), for: "apns", at: start.addingTimeInterval(33))
        #expect(gates.admit("apns", at: start.addingTimeInterval(64)) == .allowed, "a probe again")
        gates.record([Self.accepted] + Array(repeating: Self.failed, count: 74), for: "apns", at: start.addingTimeInterval(65))
        #expect(gates.health(at: start.addingTimeInterval(65)).map(\.breaker) == ["closed"])
        // A probe with no answer from the provider at all re-opens it, for twice the cool-down.
        gates.record(Array(repeating: Self.failed, count: 5), for: "apns", at: start.addingTimeInterval(70))
        #expect(gates.admit("apns", at: start.addingTimeInterval(101)) == .allowed, "the next probe")
        gates.record(Array(repeating: Self.failed, count: 75), for: "apns", at: start.addingTimeInterval(102))
        guard case .held(let until, _) = gates.admit("apns", at: start.addingTimeInterval(103)) else {
            Issue.record("a probe that failed whole did not re-open the breaker")
            return
        }
        #expect(until == start.addingTimeInterval(102 + 60))
    }

    @Test func whileTheProbeIsOutOtherSendsWaitASecondNotACoolDown() {
        let gates = ProviderGates(configuration: .init(breaker: .init(coolDown: .seconds(120))))
        gates.record(Array(repeating: Self.failed, count: 5), for: "apns", at: start)
        #expect(gates.admit("apns", at: start.addingTimeInterval(121)) == .allowed, "the probe")
        // Another lane's group, while the probe is out: held until its answer may have come.
        guard case .held(let until, let reason) = gates.admit("apns", at: start.addingTimeInterval(121.5)) else {
            Issue.record("a second send went while the probe was out")
            return
        }
        #expect(until == start.addingTimeInterval(122.5))
        #expect(reason == "circuit breaker half open, waiting for its probe's answer")
        gates.record([Self.accepted], for: "apns", at: start.addingTimeInterval(122))
        #expect(gates.admit("apns", at: start.addingTimeInterval(122.5)) == .allowed)
    }

    @Test func askingWhetherAProviderIsHeldHandsOutNoProbeAndAnUnusedProbeIsGivenBack() {
        let gates = ProviderGates()
        #expect(gates.heldUntil("apns", at: start) == nil, "a provider never seen")
        gates.record(Array(repeating: Self.failed, count: 5), for: "apns", at: start)
        #expect(gates.heldUntil("apns", at: start.addingTimeInterval(10)) == start.addingTimeInterval(30))
        // After the cool-down it would take a probe; asking twice hands none out.
        #expect(gates.heldUntil("apns", at: start.addingTimeInterval(31)) == nil)
        #expect(gates.heldUntil("apns", at: start.addingTimeInterval(31)) == nil)
        #expect(gates.admit("apns", at: start.addingTimeInterval(31)) == .allowed, "the probe")
        #expect(gates.heldUntil("apns", at: start.addingTimeInterval(31)) == start.addingTimeInterval(32), "its probe is out")
        // The probe never went (its send stopped first): the next send probes at once.
        gates.unused("apns")
        #expect(gates.heldUntil("apns", at: start.addingTimeInterval(31.5)) == nil)
        #expect(gates.admit("apns", at: start.addingTimeInterval(31.5)) == .allowed)
        // Paused as misconfigured: held until the pause ends.
        gates.record([.misconfigured(reason: "apns 403 InvalidProviderToken")], for: "fcm", at: start)
        #expect(gates.heldUntil("fcm", at: start.addingTimeInterval(1)) == start.addingTimeInterval(300))
    }

    @Test func aMisconfiguredProviderIsPausedWithTheReason() {
        let gates = ProviderGates(configuration: .init(misconfiguredPause: .seconds(300)))
        gates.record([.misconfigured(reason: "twilio 401 20003: Authenticate")], for: "twilio", at: start)
        guard case .held(let until, let reason) = gates.admit("twilio", at: start.addingTimeInterval(10)) else {
            Issue.record("a misconfigured provider was not paused")
            return
        }
        #expect(until == start.addingTimeInterval(300))
        #expect(reason.contains("misconfigured: twilio 401 20003: Authenticate"))
        #expect(gates.health(at: start).first?.pausedBecause == "misconfigured: twilio 401 20003: Authenticate")
        #expect(gates.admit("twilio", at: start.addingTimeInterval(301)) == .allowed)
    }

    /// The transports say so with their own outcome; no reason text makes a retry a throttle.
    @Test func aThrottleIsItsOwnOutcomeNotAReasonText() {
        #expect(Self.throttled.isThrottle)
        #expect(!Self.failed.isThrottle)
        #expect(!DeliveryOutcome.retry(after: nil, reason: "twilio 429 20429: Too Many Requests").isThrottle)
    }
}
