import Foundation
import HeraldCore
import Synchronization

/// What stands between the dispatchers of a process and each provider: its rate limit (with the
/// slow-down after 429s), its circuit breaker, and the pause after it answered "misconfigured".
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

        public init(
            rates: [String: RateLiteral] = [:], breaker: CircuitBreaker.Configuration = CircuitBreaker.Configuration(),
            misconfiguredPause: Duration = .seconds(300)
        ) {
            self.rates = rates
            self.breaker = breaker
            self.misconfiguredPause = misconfiguredPause
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

    let configuration: Configuration
    private let gates = Mutex<[String: Gate]>([:])

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// How long a misconfigured provider is paused.
    public var misconfiguredPause: Duration { configuration.misconfiguredPause }

    private func withGate<T>(_ provider: String, _ body: (inout Gate) -> T) -> T {
        gates.withLock { gates in
            var gate = gates[provider] ?? Gate(
                limiter: ProviderRateLimiter(configuration: ProviderRateLimiter.Configuration(rate: configuration.rates[provider])),
                breaker: CircuitBreaker(configuration: configuration.breaker)
            )
            defer { gates[provider] = gate }
            return body(&gate)
        }
    }

    /// Whether `provider` takes a send at `now`: not while it is paused as misconfigured, nor
    /// while its breaker is open (half open, it lets its probes through).
    public func admit(_ provider: String, at now: Date) -> Admission {
        withGate(provider) { gate in
            if let until = gate.pausedUntil, until > now {
                return .held(until: until, reason: "paused until \(ISO8601.string(from: until)): \(gate.pausedBecause ?? "misconfigured")")
            }
            switch gate.breaker.admits(at: now) {
            case .allowed, .probe:
                return .allowed
            case .rejected(let until):
                return .held(until: until, reason: "circuit breaker open after \(gate.breaker.configuration.failureThreshold) failures in a row, until \(ISO8601.string(from: until))")
            }
        }
    }

    /// Waits on `clock` until `count` sends fit in `provider`'s rate limit, and takes them.
    ///
    /// - Throws: `CancellationError` when the task is cancelled or `signal` stops while it waits.
    public func acquire(_ count: Int, for provider: String, clock: any WallClock, unlessStopping signal: WorkSignal) async throws {
        while true {
            let decision = withGate(provider) { $0.limiter.take(count, at: clock.now) }
            guard case .wait(let until) = decision else { return }
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
            for outcome in outcomes {
                switch outcome {
                case .throttled(let after, _):
                    gate.windowThrottles += 1
                    if gate.windowAnswers >= Self.throttleSample,
                       Double(gate.windowThrottles) >= Self.throttleShare * Double(gate.windowAnswers) {
                        gate.limiter.record(.throttled(retryAfter: after), at: now)
                    }
                    gate.breaker.record(.failure, at: now)
                case .retry:
                    gate.breaker.record(.failure, at: now)
                case .misconfigured(let reason):
                    gate.breaker.record(.failure, at: now)
                    gate.pausedUntil = now.addingTimeInterval(configuration.misconfiguredPause.timeInterval)
                    gate.pausedBecause = "misconfigured: \(reason)"
                    gate.misconfigured = reason
                case .accepted, .rejected, .deadAddress, .optedOut:
                    gate.limiter.record(.succeeded, at: now)
                    gate.breaker.record(.success, at: now)
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
