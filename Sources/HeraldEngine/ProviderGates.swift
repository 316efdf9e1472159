import Foundation
import HeraldCore
import Synchronization

/// What stands between the dispatchers of a process and each provider: its rate limit (with the
/// slow-down after 429s), its circuit breaker, the pause after it answered "misconfigured", and
/// the bound on the transport calls it has at once.
/// Shared by every dispatcher of the process, so that a provider carrying failed-over traffic of
/// another lane counts it too.
///
/// The logic lives in pure values (``ProviderRateLimiter``, ``CircuitBreaker``); this class only
/// keeps one of each per provider under a lock, and sleeps on the clock when the limiter says to.
public final class ProviderGates: Sendable {
    public struct Configuration: Sendable {
        /// Sends per interval per provider (herald.yml `rate:`; a rate counts messages, which for
        /// a batched email provider is more cautious than its request limit). A provider not
        /// named here has no limit of its own but still slows down after 429s. Default none.
        public var rates: [String: RateLiteral]
        /// The breaker of every provider. Default: open after 5 failures in a row, 30 s cool-down
        /// doubling up to 5 minutes.
        public var breaker: CircuitBreaker.Configuration
        /// How long a provider that answered "misconfigured" (bad credentials) is paused before
        /// it is tried again. Default 5 minutes.
        public var misconfiguredPause: Duration
        /// Transport calls (groups of messages) at a provider at once, across every lane and
        /// dispatcher of the process: traffic failing over into a provider shares its places
        /// with the provider's own lane instead of adding to it. Default none: a provider not
        /// named here gets the `concurrency` of the first dispatcher that calls it.
        public var concurrency: [String: Int]
        /// How long a send turned away by a half-open breaker (its probe is out) waits before it
        /// asks again: the probe's answer usually comes within it, and closes the breaker. Not
        /// the cool-down, after which a probe that never answered is replaced: sends held that
        /// long after every probe succeeded left a provider idle for minutes. Default 1 second.
        public var probeWait: Duration

        public init(
            rates: [String: RateLiteral] = [:], breaker: CircuitBreaker.Configuration = CircuitBreaker.Configuration(),
            misconfiguredPause: Duration = .seconds(300), concurrency: [String: Int] = [:], probeWait: Duration = .seconds(1)
        ) {
            self.rates = rates
            self.breaker = breaker
            self.misconfiguredPause = misconfiguredPause
            self.concurrency = concurrency
            self.probeWait = probeWait
        }
    }

    /// Whether a provider takes a send now.
    public enum Admission: Sendable, Hashable {
        case allowed
        /// Not before `until`, because of `reason`.
        case held(until: Date, reason: String)
    }

    /// A provider's state, for `herald queue` and alerts.
    public struct Health: Sendable, Hashable {
        public var provider: String
        /// `closed`, `open` or `half_open`.
        public var breaker: String
        /// Since when the breaker has been open (across re-opens), if it is.
        public var openedAt: Date?
        /// Why the provider is paused (misconfigured), if it is.
        public var pausedBecause: String?
        /// Why the provider last answered "misconfigured", until it next takes a send (accepts
        /// it, or judges the message itself): the pause lapsing says nothing about whether the
        /// credentials were fixed.
        public var misconfigured: String?
        /// Whether the provider has answered a send of this process yet.
        public var hasAnswered: Bool
        /// The rate the limiter allows now, per second; nil when unlimited.
        public var effectiveRate: Double?
    }

    struct Gate {
        var limiter: ProviderRateLimiter
        var breaker: CircuitBreaker
        var pausedUntil: Date?
        var pausedBecause: String?
        var misconfigured: String?
        var hasAnswered = false
        /// Answers and 429s in the current second, to tell being over the limit from a stray 429.
        var windowStart: Date?
        var windowAnswers = 0
        var windowThrottles = 0
    }

    /// The share of a second's answers that must be 429s before the provider is slowed down as a
    /// whole: a stray 429 is retried like any temporary failure (after its Retry-After), but only
    /// a provider that refuses a good share of requests is over its limit.
    static let throttleShare = 0.1
    /// Below this many answers in the second, the share is not judged (one 429 among the first
    /// ten answers of a second says little).
    static let throttleSample = 20

    /// A provider's places for transport calls, and the calls waiting for one, first come first
    /// served.
    struct Calls {
        var limit: ConcurrencyLimit
        var waiters: [(id: UUID, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    let configuration: Configuration
    private let gates = Mutex<[String: Gate]>([:])
    /// Each provider's share of its rate (``setShares(_:at:)``); 1 when not named.
    private let shares = Mutex<[String: Double]>([:])
    private let calls = Mutex<[String: Calls]>([:])

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// How long a misconfigured provider is paused.
    public var misconfiguredPause: Duration { configuration.misconfiguredPause }

    private func withGate<T>(_ provider: String, _ body: (inout Gate) -> T) -> T {
        gates.withLock { gates in
            var gate = gates[provider] ?? newGate(provider)
            defer { gates[provider] = gate }
            return body(&gate)
        }
    }

    private func newGate(_ provider: String) -> Gate {
        var limiter = ProviderRateLimiter(configuration: ProviderRateLimiter.Configuration(rate: configuration.rates[provider]))
        if let share = shares.withLock({ $0[provider] }) { limiter.setShare(share, at: Date(timeIntervalSince1970: 0)) }
        return Gate(limiter: limiter, breaker: CircuitBreaker(configuration: configuration.breaker))
    }

    /// Gives each provider of `shares` that fraction of its `rate:` from `now` on: the workers
    /// sending through a provider divide its rate between them (``ProviderShares``). A provider
    /// not named keeps its share.
    public func setShares(_ shares: [String: Double], at now: Date) {
        // Under the gates' lock, so that a gate made meanwhile starts from the new shares.
        gates.withLock { gates in
            self.shares.withLock { $0.merge(shares) { _, new in new } }
            for (provider, share) in shares {
                gates[provider]?.limiter.setShare(share, at: now)
            }
        }
    }

    /// The share of `provider`'s rate this process uses now.
    public func share(of provider: String) -> Double {
        shares.withLock { $0[provider] } ?? 1
    }

    /// Whether `provider` takes a send at `now`: not while it is paused as misconfigured, nor
    /// while its breaker is open (half open, it lets its probes through).
    public func admit(_ provider: String, at now: Date) -> Admission {
        withGate(provider) { admission(&$0, at: now) }
    }

    /// The gate's admission at `now` (which may hand out a probe).
    private func admission(_ gate: inout Gate, at now: Date) -> Admission {
        if let until = gate.pausedUntil, until > now {
            return .held(until: until, reason: "paused until \(ISO8601.string(from: until)): \(gate.pausedBecause ?? "misconfigured")")
        }
        switch gate.breaker.admits(at: now) {
        case .allowed, .probe:
            return .allowed
        case .rejected(let until) where gate.breaker.state == .halfOpen:
            return .held(until: min(until, now.addingTimeInterval(probeWait)), reason: "circuit breaker half open, waiting for its probe's answer")
        case .rejected(let until):
            return .held(until: until, reason: "circuit breaker open after \(gate.breaker.configuration.failureThreshold) failures in a row, until \(ISO8601.string(from: until))")
        }
    }

    /// `probeWait` in seconds, at least a tenth of a second: a lane held for no time would spin.
    private var probeWait: TimeInterval { max(configuration.probeWait.timeInterval, 0.1) }

    /// Gives back the admission ``admit(_:at:)`` gave a send that never went (it stopped, expired
    /// or lost its claim first): if it was a half-open breaker's probe, the next send probes at
    /// once rather than after a cool-down.
    public func unused(_ provider: String) {
        withGate(provider) { $0.breaker.returnProbe() }
    }

    /// Until when `provider` takes no send, if it would take none at `now`: paused as
    /// misconfigured, its breaker open, or half open with its probe out (then `probeWait` at
    /// most). Nil when it would take one. Unlike ``admit(_:at:)`` it changes nothing: no probe is
    /// handed out.
    public func heldUntil(_ provider: String, at now: Date) -> Date? {
        gates.withLock { gates in
            // A copy: asking the breaker moves it to half open and counts probes.
            guard var gate = gates[provider], case .held(let until, _) = admission(&gate, at: now) else { return nil }
            return until
        }
    }

    /// Waits on `clock` until `count` sends fit in `provider`'s rate limit, and takes them.
    ///
    /// - Throws: `CancellationError` when the task is cancelled or `signal` stops while it waits.
    public func acquire(_ count: Int, for provider: String, clock: any WallClock, unlessStopping signal: WorkSignal) async throws {
        while true {
            let decision = withGate(provider) { $0.limiter.take(count, at: clock.now) }
            guard case .wait(let until) = decision else { return }
            try await sleep(until: until, clock: clock, unlessStopping: signal)
        }
    }

    /// Sleeps on `clock` until `until`, or throws when the task is cancelled or `signal` stops.
    private func sleep(until: Date, clock: any WallClock, unlessStopping signal: WorkSignal) async throws {
        let generation = signal.generation
        if signal.isStopping { throw CancellationError() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(until: until) }
            group.addTask {
                await signal.wait(after: generation)
                if signal.isStopping { throw CancellationError() }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Waits until `provider` has a place for one more transport call, and takes it; give it back
    /// with ``releaseCall(for:)`` once the call has returned. A provider has at most
    /// `configuration.concurrency[provider]` calls at once, or `maximum` when it is not named
    /// there; places are handed out in the order they were asked for.
    ///
    /// - Throws: `CancellationError` when the task is cancelled or `signal` stops while it waits;
    ///   then it holds no place (a place handed to it at that very moment is given back).
    public func acquireCall(for provider: String, maximum: Int, unlessStopping signal: WorkSignal) async throws {
        if takeCall(for: provider, maximum: maximum) { return }
        if signal.isStopping { throw CancellationError() }
        let acquired = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.waitForCall(for: provider, maximum: maximum)) != nil }
            group.addTask {
                await signal.waitUntilStopping()
                return false
            }
            var acquired = await group.next() ?? false
            group.cancelAll()
            // The place may have been handed over just as stopping began: whoever finished
            // first, a place taken is the caller's to use and give back.
            for await result in group { acquired = acquired || result }
            return acquired
        }
        if !acquired {
            // Both tasks have returned: if the waiter had got the place, `acquired` would say so.
            throw CancellationError()
        }
    }

    /// Gives back a place taken with ``acquireCall(for:maximum:unlessStopping:)``: to the
    /// first call waiting for one, if any.
    public func releaseCall(for provider: String) {
        let next = calls.withLock { calls -> CheckedContinuation<Void, any Error>? in
            guard var entry = calls[provider] else { return nil }
            defer { calls[provider] = entry }
            if !entry.waiters.isEmpty { return entry.waiters.removeFirst().continuation }
            entry.limit.release()
            return nil
        }
        next?.resume()
    }

    /// Calls of `provider` at the provider now, and calls waiting for a place.
    public func calls(of provider: String) -> (inFlight: Int, waiting: Int) {
        calls.withLock { calls in
            guard let entry = calls[provider] else { return (0, 0) }
            return (entry.limit.inFlight, entry.waiters.count)
        }
    }

    private func makeCalls(for provider: String, maximum: Int) -> Calls {
        Calls(limit: ConcurrencyLimit(maximum: configuration.concurrency[provider] ?? maximum))
    }

    /// Takes a place at once if one is free and nobody waits for one.
    private func takeCall(for provider: String, maximum: Int) -> Bool {
        calls.withLock { calls in
            var entry = calls[provider] ?? makeCalls(for: provider, maximum: maximum)
            defer { calls[provider] = entry }
            return entry.waiters.isEmpty && entry.limit.tryAcquire()
        }
    }

    /// Waits in line for a place. A cancelled waiter leaves the line; one that was handed the
    /// place before its cancellation was seen returns normally, holding it.
    private func waitForCall(for provider: String, maximum: Int) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Under the lock the cancellation handler also takes: either it finds this
                // waiter in line, or this sees the task already cancelled.
                let now: Result<Void, any Error>? = calls.withLock { calls in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    var entry = calls[provider] ?? makeCalls(for: provider, maximum: maximum)
                    defer { calls[provider] = entry }
                    if entry.waiters.isEmpty, entry.limit.tryAcquire() { return .success(()) }
                    entry.waiters.append((id, continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = calls.withLock { calls -> CheckedContinuation<Void, any Error>? in
                guard let index = calls[provider]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return calls[provider]?.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Feeds the outcomes of a request to `provider` to its breaker and rate limit: 429s that are
    /// at least a tenth of the second's answers slow the limiter down (and their Retry-After
    /// blocks it); a provider failure (a retry or
    /// misconfiguration) counts against the breaker, anything else closes it; "misconfigured"
    /// pauses the provider.
    public func record(_ outcomes: [DeliveryOutcome], for provider: String, at now: Date) {
        withGate(provider) { gate in
            if let start = gate.windowStart, now.timeIntervalSince(start) < 1 {
                gate.windowAnswers += outcomes.count
            } else {
                (gate.windowStart, gate.windowAnswers, gate.windowThrottles) = (now, outcomes.count, 0)
            }
            gate.hasAnswered = gate.hasAnswered || !outcomes.isEmpty
            // A probe is a whole call, whose requests went out together and whose answers come
            // in no particular order: it is one result, a success when the provider took any of
            // it, whatever failed beside it (fed one by one, a 5xx among 75 pushes re-opened the
            // breaker with a doubled cool-down, and five failures among them after a success
            // re-opened it with the back-off reset).
            let isProbe = gate.breaker.state == .halfOpen && !outcomes.isEmpty
            if isProbe {
                gate.breaker.record(outcomes.contains(where: { !$0.isProviderFailure }) ? .success : .failure, at: now)
            }
            for outcome in outcomes {
                switch outcome {
                case .throttled(let after, _):
                    gate.windowThrottles += 1
                    if gate.windowAnswers >= Self.throttleSample,
                       Double(gate.windowThrottles) >= Self.throttleShare * Double(gate.windowAnswers) {
                        gate.limiter.record(.throttled(retryAfter: after), at: now)
                    }
                    if !isProbe { gate.breaker.record(.failure, at: now) }
                case .retry:
                    if !isProbe { gate.breaker.record(.failure, at: now) }
                case .misconfigured(let reason):
                    if !isProbe { gate.breaker.record(.failure, at: now) }
                    gate.pausedUntil = now.addingTimeInterval(configuration.misconfiguredPause.timeInterval)
                    gate.pausedBecause = "misconfigured: \(reason)"
                    gate.misconfigured = reason
                case .accepted, .rejected, .deadAddress, .optedOut:
                    gate.limiter.record(.succeeded, at: now)
                    if !isProbe { gate.breaker.record(.success, at: now) }
                    gate.misconfigured = nil
                }
            }
        }
    }

    /// The providers seen so far, by name.
    public func health(at now: Date) -> [Health] {
        gates.withLock { gates in
            gates.keys.sorted().map { name in
                let gate = gates[name]!
                let paused = gate.pausedUntil.map { $0 > now } ?? false
                return Health(
                    provider: name, breaker: gate.breaker.state(at: now).rawValue, openedAt: gate.breaker.openedAt,
                    pausedBecause: paused ? gate.pausedBecause : nil, misconfigured: gate.misconfigured, hasAnswered: gate.hasAnswered,
                    effectiveRate: gate.limiter.effectiveRate
                )
            }
        }
    }
}

extension DeliveryOutcome {
    /// The provider asked to slow down (``DeliveryOutcome/throttled(after:reason:)``).
    public var isThrottle: Bool {
        if case .throttled = self { return true }
        return false
    }
}
