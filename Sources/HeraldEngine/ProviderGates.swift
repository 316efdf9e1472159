import Foundation
import HeraldCore
import Synchronization

/// What stands between the dispatchers of a process and each provider: its rate limit, its
/// circuit breaker, and the pause after it answered "misconfigured". Shared by every dispatcher
/// of the process, so that a provider carrying failed-over traffic of another channel's lane
/// counts it too.
public final class ProviderGates: Sendable {
    public struct Configuration: Sendable {
        /// Requests per interval per provider (herald.yml `rate:`); a provider not named here has
        /// no rate limit of its own. Default none.
        public var rates: [String: RateLiteral]
        /// How long a provider that answered "misconfigured" (bad credentials) is paused before
        /// it is tried again. Default 5 minutes.
        public var misconfiguredPause: Duration

        public init(rates: [String: RateLiteral] = [:], misconfiguredPause: Duration = .seconds(300)) {
            self.rates = rates
            self.misconfiguredPause = misconfiguredPause
        }
    }

    /// Whether a provider takes a send now.
    public enum Admission: Sendable, Hashable {
        case allowed
        /// Not before `until`, because of `reason`.
        case held(until: Date, reason: String)
    }

    struct Gate {
        var pausedUntil: Date?
        var pausedBecause: String?
    }

    let configuration: Configuration
    private let gates = Mutex<[String: Gate]>([:])

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// How long a misconfigured provider is paused.
    public var misconfiguredPause: Duration { configuration.misconfiguredPause }

    /// Whether `provider` takes a send at `now`.
    public func admit(_ provider: String, at now: Date) -> Admission {
        gates.withLock { gates in
            if let until = gates[provider]?.pausedUntil, until > now {
                return .held(until: until, reason: "paused: \(gates[provider]?.pausedBecause ?? "misconfigured")")
            }
            return .allowed
        }
    }

    /// Waits on `clock` until `count` sends fit in `provider`'s rate limit, and takes them.
    ///
    /// - Throws: `CancellationError` when the task is cancelled or `signal` stops while it waits.
    public func acquire(_ count: Int, for provider: String, clock: any WallClock, unlessStopping signal: WorkSignal) async throws {}

    /// Feeds the outcomes of a request to `provider` to its breaker and rate limit.
    public func record(_ outcomes: [DeliveryOutcome], for provider: String, at now: Date) {
        for outcome in outcomes {
            if case .misconfigured(let reason) = outcome {
                gates.withLock { gates in
                    gates[provider, default: Gate()].pausedUntil = now.addingTimeInterval(configuration.misconfiguredPause.timeInterval)
                    gates[provider, default: Gate()].pausedBecause = "misconfigured: \(reason)"
                }
                return
            }
        }
    }
}
