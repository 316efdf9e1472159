import Foundation
import HeraldCore

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
///
/// A pure value: the caller passes the time of every call, and a ``Decision`` says whether to go
/// now or when to ask again; the bucket never sleeps. It starts full on its first call.
///
/// ```swift
/// var bucket = TokenBucket(rate: 10, burst: 10)
/// for _ in 0..<10 { bucket.take(at: t0) }   // .proceed ten times
/// bucket.take(at: t0)                        // .wait(until: t0 + 0.1 s)
/// ```
///
/// A refused take takes nothing: call it again at the date it names. Time that goes backwards
/// (an earlier `now` than before) refills nothing and never fails.
public struct TokenBucket: Sendable, Hashable {
    /// Whether a take may go ahead.
    public enum Decision: Sendable, Hashable {
        /// The tokens are taken: send now.
        case proceed
        /// Not enough tokens (or the provider asked to wait): nothing was taken; ask again at this date.
        case wait(until: Date)
    }

    /// Tokens added per second (greater than 0).
    public private(set) var rate: Double
    /// The most tokens the bucket holds (at least 1): how many may go at once after a quiet spell.
    public private(set) var burst: Double
    private var tokens: Double = 0
    private var updatedAt: Date?

    /// The slowest rate a bucket accepts (one token in about 11.6 days); a smaller rate is raised to it.
    static let slowestRate = 1e-6

    /// A bucket that refills at `rate` per second and holds at most `burst` tokens (raised to 1).
    public init(rate: Double, burst: Double) {
        self.rate = Self.valid(rate: rate)
        self.burst = Self.valid(burst: burst)
    }

    /// A bucket for a rate as written in herald.yml (`600/min`): `burst` defaults to one second's
    /// worth of the rate, at least 1 (10 for `600/min`, 1 for `50/h`).
    public init(_ rate: RateLiteral, burst: Int? = nil) {
        self.init(rate: rate.perSecond, burst: burst.map(Double.init) ?? rate.perSecond)
    }

    /// The whole tokens available at `now`, without taking any: how large a batch may go at once.
    /// Negative after a batch larger than `burst` (see ``take(_:at:)``).
    public func available(at now: Date) -> Int {
        var copy = self
        copy.refill(at: now)
        return Int((copy.tokens + copy.tolerance).rounded(.down))
    }

    /// Takes one token.
    @discardableResult
    public mutating func take(at now: Date) -> Decision {
        take(1, at: now)
    }

    /// Takes `count` tokens for a batch, all or none.
    ///
    /// A batch larger than `burst` could never find enough tokens; it goes when the bucket is full
    /// and leaves it in debt (negative), so that the long-run rate still holds: `take(25)` at 10/s
    /// with a burst of 10 goes at once when full, and the next token is there 1.6 s later.
    /// `count` ≤ 0 always proceeds.
    @discardableResult
    public mutating func take(_ count: Int, at now: Date) -> Decision {
        guard count > 0 else { return .proceed }
        refill(at: now)
        let needed = min(Double(count), burst)
        if tokens + tolerance >= needed {
            tokens -= Double(count)
            return .proceed
        }
        return .wait(until: (updatedAt ?? now).addingTimeInterval((needed - tokens) / rate))
    }

    /// Changes the rate and the burst from `now` on: tokens saved until `now` count at the old
    /// rate, and no more than the new burst are kept.
    public mutating func setRate(_ rate: Double, burst: Double, at now: Date) {
        refill(at: now)
        self.rate = Self.valid(rate: rate)
        self.burst = Self.valid(burst: burst)
        tokens = min(tokens, self.burst)
    }

    /// Leaves `tokens` in the bucket and refills nothing before `date` (a provider's Retry-After).
    mutating func reset(tokens: Double, refillingFrom date: Date) {
        self.tokens = min(tokens, burst)
        updatedAt = date
    }

    private mutating func refill(at now: Date) {
        guard let updatedAt else {
            tokens = burst
            self.updatedAt = now
            return
        }
        guard now > updatedAt else { return }
        tokens = min(burst, tokens + now.timeIntervalSince(updatedAt) * rate)
        self.updatedAt = now
    }

    /// A microsecond's worth of tokens: `Date` arithmetic rounds, and a take at exactly the
    /// instant a ``Decision/wait(until:)`` named must not be refused for a rounding error.
    private var tolerance: Double { rate * 1e-6 }

    private static func valid(rate: Double) -> Double {
        rate.isFinite ? max(rate, slowestRate) : slowestRate
    }

    private static func valid(burst: Double) -> Double {
        burst.isFinite ? max(burst, 1) : 1
    }
}

/// The send rate of one provider: its configured rate, slowed down when it answers 429.
///
/// A pure value, like ``TokenBucket``: `take` before a send, `record` after the outcome; the caller
/// passes the time. The adaptation is AIMD (additive increase, multiplicative decrease, as TCP):
///
/// - `.throttled` multiplies the effective rate by `decreaseFactor` (0.5), never below
///   `minimumFraction` (1%) of the reference rate. Throttles within `decreaseInterval` (1 s) of the
///   last decrease count once: a batch of 429s from one burst halves the rate once, not 100 times.
///   A Retry-After blocks every take until it has passed, and no burst follows it (the bucket
///   restarts with one token when the block ends).
/// - `.succeeded`, once `quietPeriod` (10 s) has passed since the last throttle and the last
///   increase, adds `increaseFraction` (10%) of the reference rate, up to the reference rate: from
///   half speed back to full in 5 quiet periods (≈ 50 s of steady successes).
///
/// The reference rate is the configured one (`rate`). A provider without a configured rate is
/// unlimited until its first 429; then the reference is the throughput observed over the last
/// second (`unlimitedFallbackRate`, 100/s, when nothing was observed), the effective rate half of
/// it, and once recovery reaches the reference the provider is unlimited again.
///
/// A configured rate is the provider's, shared by every worker that sends through it: with a
/// ``share`` below 1 (``setShare(_:at:)``, one over the live workers), the bucket lets through
/// that fraction of the effective rate and of its burst, and the adaptation works on the whole.
/// An unlimited provider's observed reference is this process's own, so its share stays 1.
///
/// ```swift
/// var limiter = ProviderRateLimiter(configuration: .init(rate: RateLiteral(count: 100, per: .second)))
/// if case .wait(let until) = limiter.take(batch.count, at: clock.now) { /* sleep until `until`, take again */ }
/// limiter.record(.throttled(retryAfter: .seconds(30)), at: clock.now)
/// ```
public struct ProviderRateLimiter: Sendable, Hashable {
    /// Whether a send may go now, the same as a token bucket's.
    public typealias Decision = TokenBucket.Decision

    /// What the provider answered, as far as its rate is concerned.
    public enum Event: Sendable, Hashable {
        /// The provider took a message (any answer that is not a rate limit counts).
        case succeeded
        /// The provider refused for sending too fast (HTTP 429, Twilio 20429…), with its
        /// Retry-After when it gave one.
        case throttled(retryAfter: Duration?)
    }

    /// How the limiter starts and adapts.
    public struct Configuration: Sendable, Hashable {
        /// The provider's rate from herald.yml (`providers[].rate`); `nil` is unlimited. Default `nil`.
        public var rate: RateLiteral?
        /// Tokens saved up at most at the reference rate; scaled down with the effective rate.
        /// Default `nil`: one second's worth of the reference rate, at least 1.
        public var burst: Int?
        /// The effective rate is multiplied by this on a throttle. Default 0.5.
        public var decreaseFactor: Double
        /// The effective rate never falls below this fraction of the reference rate. Default 0.01.
        public var minimumFraction: Double
        /// Throttles closer than this to the last decrease do not decrease again. Default 1 s.
        public var decreaseInterval: Duration
        /// Time without a throttle (and since the last increase) before a success increases the
        /// rate. Default 10 s.
        public var quietPeriod: Duration
        /// Each increase adds this fraction of the reference rate. Default 0.1.
        public var increaseFraction: Double
        /// The reference rate of an unlimited provider that was throttled before any throughput
        /// was observed, per second. Default 100.
        public var unlimitedFallbackRate: Double

        /// A configuration; every parameter has the default documented on its property.
        public init(
            rate: RateLiteral? = nil, burst: Int? = nil, decreaseFactor: Double = 0.5, minimumFraction: Double = 0.01,
            decreaseInterval: Duration = .seconds(1), quietPeriod: Duration = .seconds(10), increaseFraction: Double = 0.1,
            unlimitedFallbackRate: Double = 100
        ) {
            self.rate = rate
            self.burst = burst
            self.decreaseFactor = decreaseFactor
            self.minimumFraction = minimumFraction
            self.decreaseInterval = decreaseInterval
            self.quietPeriod = quietPeriod
            self.increaseFraction = increaseFraction
            self.unlimitedFallbackRate = unlimitedFallbackRate
        }
    }

    /// The configuration it was made with.
    public let configuration: Configuration
    /// The rate the limiter lets through now, per second (this process's share of it); `nil`
    /// while unlimited. For display and metrics.
    public var effectiveRate: Double? { bucket?.rate }
    /// The fraction of the configured rate this process may use (``setShare(_:at:)``). Default 1.
    public private(set) var share: Double = 1
    /// Until when the provider's last Retry-After holds every send back; `nil` when it never asked.
    public private(set) var blockedUntil: Date?

    private var bucket: TokenBucket?
    /// The rate recovery aims for: configured, or estimated at the first throttle when unlimited.
    private var referenceRate: Double?
    private var lastThrottle: Date?
    private var lastDecrease: Date?
    private var lastIncrease: Date?
    /// Messages let through in the current one-second window and the one before (unlimited only).
    private var windowStart: Date?
    private var windowCount = 0
    private var previousWindowCount = 0

    /// A limiter at the configured rate (unlimited without one).
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        if let rate = configuration.rate {
            referenceRate = rate.perSecond
            bucket = TokenBucket(rate: rate.perSecond, burst: Self.referenceBurst(configuration, reference: rate.perSecond))
        }
    }

    /// Takes `count` tokens (a batch), all or none: `.proceed`, or `.wait(until:)` when the rate
    /// or a Retry-After holds it back (nothing was taken; ask again then). Unlimited providers
    /// always proceed unless blocked.
    @discardableResult
    public mutating func take(_ count: Int = 1, at now: Date) -> Decision {
        if let blockedUntil, now < blockedUntil {
            return .wait(until: blockedUntil)
        }
        guard var bucket else {
            observe(count, at: now)
            return .proceed
        }
        let decision = bucket.take(count, at: now)
        self.bucket = bucket
        return decision
    }

    /// Takes `share` of the provider's rate from `now` on (one over the workers sending through
    /// it; clamped to 1/1000…1): the effective rate and the burst scale with it, the tokens saved
    /// up are kept up to the new burst. No effect on a provider without a configured rate.
    public mutating func setShare(_ share: Double, at now: Date) {
        let share = share.isFinite ? min(1, max(0.001, share)) : 1
        guard configuration.rate != nil, share != self.share else { return }
        let whole = currentRate
        self.share = share
        if let whole, let reference = referenceRate { setRate(whole, reference: reference, at: now) }
    }

    /// The share that applies: a configured rate is divided between workers, an observed one is not.
    private var appliedShare: Double { configuration.rate == nil ? 1 : share }

    /// The effective rate of the provider as a whole (every worker's share together).
    private var currentRate: Double? { bucket.map { $0.rate / appliedShare } }

    /// Adapts the rate to one answer of the provider (see the type's documentation).
    public mutating func record(_ event: Event, at now: Date) {
        switch event {
        case .succeeded:
            increaseIfQuiet(at: now)
        case .throttled(let retryAfter):
            throttled(retryAfter: retryAfter, at: now)
        }
    }

    private mutating func throttled(retryAfter: Duration?, at now: Date) {
        lastThrottle = now
        if let retryAfter, retryAfter > .zero {
            let until = now.addingTimeInterval(RetryPolicy.seconds(retryAfter))
            blockedUntil = max(blockedUntil ?? until, until)
        }
        if let lastDecrease, now >= lastDecrease, now.timeIntervalSince(lastDecrease) < RetryPolicy.seconds(configuration.decreaseInterval) {
            restartAfterBlock(at: now)
            return
        }
        lastDecrease = now
        let reference = referenceRate ?? observedThroughput(at: now) ?? configuration.unlimitedFallbackRate
        referenceRate = reference
        let floor = reference * configuration.minimumFraction
        let current = currentRate ?? reference
        setRate(max(floor, current * configuration.decreaseFactor), reference: reference, at: now)
        restartAfterBlock(at: now)
    }

    private mutating func increaseIfQuiet(at now: Date) {
        guard let reference = referenceRate, let current = currentRate, current < reference * (1 - 1e-9) else { return }
        let quiet = RetryPolicy.seconds(configuration.quietPeriod)
        let since = [lastThrottle, lastIncrease].compactMap { $0 }.max()
        if let since, now.timeIntervalSince(since) < quiet { return }
        lastIncrease = now
        let next = current + reference * configuration.increaseFraction
        if next >= reference, configuration.rate == nil {
            // An unlimited provider that has recovered is unlimited again.
            bucket = nil
            referenceRate = nil
            windowStart = nil
            return
        }
        setRate(min(next, reference), reference: reference, at: now)
    }

    /// Sets the provider's effective rate as a whole; the bucket gets this process's share of it.
    private mutating func setRate(_ whole: Double, reference: Double, at now: Date) {
        let burst = Self.referenceBurst(configuration, reference: reference) * whole / reference * appliedShare
        let rate = whole * appliedShare
        if var bucket {
            bucket.setRate(rate, burst: burst, at: now)
            self.bucket = bucket
        } else {
            // Leaving unlimited: one token now, then the new rate (no burst right after a 429).
            var fresh = TokenBucket(rate: rate, burst: burst)
            fresh.reset(tokens: 1, refillingFrom: now)
            bucket = fresh
        }
    }

    /// No burst at the end of a Retry-After: one token then, and the effective rate after it.
    private mutating func restartAfterBlock(at now: Date) {
        guard let blockedUntil, blockedUntil > now, var bucket else { return }
        bucket.reset(tokens: 1, refillingFrom: blockedUntil)
        self.bucket = bucket
    }

    private mutating func observe(_ count: Int, at now: Date) {
        if let start = windowStart, now >= start, now.timeIntervalSince(start) < 1 {
            windowCount += count
            return
        }
        if let start = windowStart, now >= start, now.timeIntervalSince(start) < 2 {
            previousWindowCount = windowCount
        } else {
            previousWindowCount = 0
        }
        windowStart = now
        windowCount = count
    }

    /// Messages per second over the last second or two; `nil` when nothing went out lately.
    private func observedThroughput(at now: Date) -> Double? {
        guard let start = windowStart, now >= start else { return nil }
        let age = now.timeIntervalSince(start)
        let observed = age < 1 ? max(windowCount, previousWindowCount) : age < 2 ? windowCount : 0
        return observed > 0 ? Double(observed) : nil
    }

    private static func referenceBurst(_ configuration: Configuration, reference: Double) -> Double {
        max(1, configuration.burst.map(Double.init) ?? reference)
    }
}

/// How many sends to one provider may be in flight at once: pure counting.
///
/// ```swift
/// var limit = ConcurrencyLimit(maximum: 64)
/// guard limit.tryAcquire(batch.count) else { /* wait for a release */ }
/// defer { limit.release(batch.count) }
/// ```
public struct ConcurrencyLimit: Sendable, Hashable {
    /// The most in flight at once (at least 1). Default 64.
    public let maximum: Int
    /// Slots held now.
    public private(set) var inFlight = 0

    /// A limit of `maximum` in flight (raised to 1).
    public init(maximum: Int = 64) {
        self.maximum = max(1, maximum)
    }

    /// Free slots.
    public var available: Int { maximum - inFlight }

    /// Takes `count` slots, all or none; `count` ≤ 0 always succeeds. A batch larger than
    /// `maximum` never fits: split it.
    public mutating func tryAcquire(_ count: Int = 1) -> Bool {
        guard count > 0 else { return true }
        guard count <= available else { return false }
        inFlight += count
        return true
    }

    /// Gives back `count` slots. Releasing more than are held is a caller's bug; the count stops
    /// at 0 so that it can never let more than `maximum` through.
    public mutating func release(_ count: Int = 1) {
        inFlight = max(0, inFlight - max(0, count))
    }
}
