import Foundation
import HeraldCore
import Logging

/// Says in the store, every `interval`, that this worker is alive, reads back the workers that
/// are, and gives the process's ``ProviderGates`` each provider's share of its `rate:`: N
/// workers sending through one provider send at its rate between them, not N times it.
///
/// A worker that joins is counted by the others at their next announcement (within `interval`),
/// and counts them at once; one that stops withdraws (the others take its share at their next
/// announcement); one killed is counted until `liveness` has passed since it last announced,
/// erring on the slow side.
///
/// ```swift
/// let roster = WorkerRoster(store: store, gates: gates, providers: ProviderShares.channels(of: routing), channels: [.sms])
/// try await roster.announce(at: clock.now)      // before the first claim
/// await roster.run(clock: clock, signal: signal) // until stopped
/// await roster.withdraw()
/// ```
public struct WorkerRoster: Sendable {
    public struct Configuration: Sendable {
        /// How often it announces. Default 2 seconds.
        public var interval: Duration
        /// How long after its last announcement a worker still counts. Default 10 seconds.
        public var liveness: Duration

        public init(interval: Duration = .seconds(2), liveness: Duration = .seconds(10)) {
            self.interval = interval
            self.liveness = liveness
        }
    }

    let store: any WorkerPresenceStore
    let gates: ProviderGates
    let providers: [String: Set<Channel>]
    let configuration: Configuration
    let logger: Logger
    /// This worker: its id, channels, host, process and start.
    public let identity: WorkerPresence

    /// - Parameters:
    ///   - providers: the channels each provider carries (``ProviderShares/channels(of:)``).
    ///   - channels: the channels this worker delivers.
    public init(
        store: any WorkerPresenceStore, gates: ProviderGates, providers: [String: Set<Channel>], channels: Set<Channel>,
        startedAt: Date, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "herald.workers")
    ) {
        self.store = store
        self.gates = gates
        self.providers = providers
        self.configuration = configuration
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        identity = WorkerPresence(
            id: "\(host)-\(pid)-\(UUID().uuidString.prefix(8).lowercased())", channels: channels, host: host, processID: pid,
            startedAt: startedAt, seenAt: startedAt
        )
    }

    /// Announces this worker at `now` and applies the shares of the workers alive; returns them.
    @discardableResult
    public func announce(at now: Date) async throws -> [WorkerPresence] {
        var worker = identity
        worker.seenAt = now
        let live = try await store.announce(worker, liveSince: now.addingTimeInterval(-configuration.liveness.timeInterval))
        // The store's answer includes this worker; count it even if the clocks disagree.
        let workers = live.contains { $0.id == identity.id } ? live : live + [worker]
        gates.setShares(ProviderShares.shares(providers: providers, live: workers), at: now)
        return workers
    }

    /// Announces every `interval` (the first one `interval` from now: announce once before the
    /// first claim) until `signal` stops. A failed announcement is logged, the shares kept, and
    /// the next one tries again. ``withdraw()`` after it.
    public func run(clock: any WallClock, signal: WorkSignal) async {
        var known = 0
        while true {
            await signal.sleep(until: clock.now.addingTimeInterval(configuration.interval.timeInterval), on: clock)
            if signal.isStopping || Task.isCancelled { return }
            do {
                let live = try await announce(at: clock.now)
                if live.count != known {
                    logger.info("delivery workers on the database", metadata: ["workers": "\(live.count)"])
                    known = live.count
                }
            } catch {
                logger.error("cannot announce this worker", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Removes this worker from the store; the others take its share at their next announcement.
    public func withdraw() async {
        do {
            try await store.withdraw(workerID: identity.id)
        } catch {
            logger.warning("cannot withdraw this worker", metadata: ["error": "\(error)"])
        }
    }
}
