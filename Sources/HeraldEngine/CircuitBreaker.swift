import Foundation
import HeraldCore

/// Stops sending to a provider that keeps failing, and tries it again now and then.
///
/// A pure value: the caller asks ``admits(at:)`` before a send and reports the provider's answer
/// with ``record(_:at:)``; time is passed in.
///
/// - **closed**: everything goes. `failureThreshold` (5) provider failures in a row open it; a
///   success in between starts the count again.
/// - **open** until `openedUntil`: everything is rejected. Results of sends that were already in
///   flight when it opened are ignored.
/// - **half_open**: after the cool-down, the next `halfOpenProbes` (1) admissions are probes and
///   the rest are rejected. When every probe succeeds the breaker closes; a failure re-opens it,
///   with the cool-down doubled up to `maximumCoolDown`. A probe whose result never comes back
///   (a crash) does not wedge it: after another cool-down new probes are handed out.
///
/// "Failure" means a failure of the provider (a 5xx, a timeout, a refused connection, bad
/// credentials), not of one message (an invalid number): the dispatcher decides which outcomes
/// it records.
///
/// ```swift
/// var breaker = CircuitBreaker()
/// switch breaker.admits(at: clock.now) {
/// case .allowed, .probe:
///     let outcome = await transport.send(batch)
///     breaker.record(outcome.isProviderFailure ? .failure : .success, at: clock.now)
/// case .rejected(let until):
///     break  // leave the batch in the outbox until `until`
/// }
/// ```
public struct CircuitBreaker: Sendable, Hashable {
    /// When the breaker opens and how long it stays open.
    public struct Configuration: Sendable, Hashable {
        /// Provider failures in a row that open the breaker. Default 5.
        public var failureThreshold: Int
        /// How long it stays open the first time. Default 30 s.
        public var coolDown: Duration
        /// The longest cool-down after probes failed in a row (each failure doubles it). Default
        /// 5 minutes; equal to `coolDown` for a fixed cool-down.
        public var maximumCoolDown: Duration
        /// Probes let through when half open; all must succeed to close. Default 1.
        public var halfOpenProbes: Int

        /// A configuration; every parameter has the default documented on its property.
        public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(30), maximumCoolDown: Duration = .seconds(300), halfOpenProbes: Int = 1) {
            self.failureThreshold = failureThreshold
            self.coolDown = coolDown
            self.maximumCoolDown = maximumCoolDown
            self.halfOpenProbes = halfOpenProbes
        }
    }

    /// Where the breaker is; the raw value is what `herald queue` shows.
    public enum State: String, Sendable, Hashable, CaseIterable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    /// What the provider's answer to one send was.
    public enum Event: Sendable, Hashable {
        case success
        case failure
    }

    /// Whether a send may go.
    public enum Admission: Sendable, Hashable {
        /// Closed: send.
        case allowed
        /// Half open: send this one as a probe, and record its result.
        case probe
        /// Not now; ask again at this date at the latest (half open, a probe's success may close
        /// the breaker earlier, and asking earlier is harmless).
        case rejected(until: Date)
    }

    /// The configuration it was made with.
    public let configuration: Configuration
    /// Where the breaker is. It moves from `open` to `halfOpen` on the first ``admits(at:)`` after
    /// the cool-down, so a display should prefer ``state(at:)``.
    public private(set) var state: State = .closed
    /// When the breaker opened for the current outage; kept while probes fail and it re-opens, so
    /// that an alert can say "open for longer than 10 minutes". `nil` while closed.
    public private(set) var openedAt: Date?
    /// Until when it stays open (or, half open, until when the probes may take before new ones
    /// are handed out). `nil` while closed.
    public private(set) var openedUntil: Date?
    /// Provider failures in a row while closed.
    public private(set) var consecutiveFailures = 0
    /// The cool-down the next re-opening uses.
    private var currentCoolDown: Duration
    private var probesHandedOut = 0
    private var probesSucceeded = 0

    /// A closed breaker.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        currentCoolDown = configuration.coolDown
    }

    /// The state at `now`, for display: `open` reads as `halfOpen` once its cool-down is over.
    public func state(at now: Date) -> State {
        if state == .open, let openedUntil, now >= openedUntil { .halfOpen } else { state }
    }

    /// Whether a send may go at `now`. Mutating: it moves an open breaker whose cool-down is over
    /// to half open, and counts the probes it hands out.
    public mutating func admits(at now: Date) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open:
            let until = openedUntil ?? now
            guard now >= until else { return .rejected(until: until) }
            state = .halfOpen
            startProbing(at: now)
        case .halfOpen:
            // Probes that never reported (a crash, a lost result): hand out new ones.
            if let openedUntil, now >= openedUntil { startProbing(at: now) }
        }
        guard probesHandedOut < max(1, configuration.halfOpenProbes) else {
            return .rejected(until: openedUntil ?? now)
        }
        probesHandedOut += 1
        return .probe
    }

    /// Gives back a probe that ``admits(at:)`` handed out but that was never sent (the send
    /// stopped, expired or lost its claim before it), so that the next send can probe at once
    /// instead of after another cool-down. No effect unless half open.
    public mutating func returnProbe() {
        guard state == .halfOpen, probesHandedOut > 0 else { return }
        probesHandedOut -= 1
    }

    /// Records the provider's answer to a send.
    public mutating func record(_ event: Event, at now: Date) {
        switch (state, event) {
        case (.closed, .success):
            consecutiveFailures = 0
        case (.closed, .failure):
            consecutiveFailures += 1
            if consecutiveFailures >= max(1, configuration.failureThreshold) {
                open(at: now)
            }
        case (.open, _):
            // A send that was in flight when the breaker opened: it says nothing new.
            break
        case (.halfOpen, .success):
            probesSucceeded += 1
            if probesSucceeded >= max(1, configuration.halfOpenProbes) { close() }
        case (.halfOpen, .failure):
            currentCoolDown = min(currentCoolDown * 2, max(configuration.maximumCoolDown, configuration.coolDown))
            open(at: now)
        }
    }

    private mutating func open(at now: Date) {
        state = .open
        openedAt = openedAt ?? now
        openedUntil = now.addingTimeInterval(RetryPolicy.seconds(currentCoolDown))
        consecutiveFailures = 0
        probesHandedOut = 0
        probesSucceeded = 0
    }

    private mutating func close() {
        state = .closed
        openedAt = nil
        openedUntil = nil
        consecutiveFailures = 0
        currentCoolDown = configuration.coolDown
        probesHandedOut = 0
        probesSucceeded = 0
    }

    private mutating func startProbing(at now: Date) {
        probesHandedOut = 0
        probesSucceeded = 0
        openedUntil = now.addingTimeInterval(RetryPolicy.seconds(currentCoolDown))
    }
}
