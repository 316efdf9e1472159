import Foundation
import HeraldCore
import Logging
import Synchronization

/// Looks at the delivery workers of a process now and then: writes each provider's breaker and
/// pause to the store (for `herald queue` in any process), and turns the channels' health into
/// alerts (``AlertMonitor``), logged and posted once per incident (``AlertDispatcher``).
///
/// With an ``AlertIncidentStore``, an incident is open once for every process on the database:
/// each check starts from the incidents open in the store, and an alert is posted only by the
/// process whose check opened its incident there, a recovery only by the one that closed it. A
/// process watches only its own channels (`herald worker --channel sms` alerts about SMS only).
///
/// The channel's counts come from the store, so every process judges them alike. A provider's
/// state does not: each process sees the provider through its own breaker and its own answers,
/// and one may see it open while another sees it closed. So every check that finds a condition
/// still failing says so in the store, and an incident about a provider is closed only once no
/// process has seen it for `recoveryHold`: the one that sees the provider closed does not post a
/// recovery that the other would follow with the same alert again.
public final class DeliveryHealth: Sendable {
    public struct Configuration: Sendable {
        /// How often it looks. Default 10 seconds.
        public var interval: Duration
        /// How long nobody must have seen a provider's incident (misconfigured, breaker open)
        /// before it is closed and its recovery posted: longer than every process's `interval`,
        /// so that a process that still sees it says so in time. Default 30 seconds.
        public var recoveryHold: Duration
        /// The providers of each channel, whose breakers count for that channel's alerts.
        public var providers: [Channel: [String]]
        /// herald.yml `alerts:`; nil: no alerts, only provider health.
        public var alerts: AlertsConfiguration?
        /// The channels whose alerts this process raises and clears: those it delivers. Default
        /// every channel.
        public var channels: Set<Channel>

        public init(
            interval: Duration = .seconds(10), providers: [Channel: [String]], alerts: AlertsConfiguration?,
            channels: Set<Channel> = Set(Channel.allCases), recoveryHold: Duration = .seconds(30)
        ) {
            self.interval = interval
            self.recoveryHold = recoveryHold
            self.providers = providers
            self.alerts = alerts
            self.channels = channels
        }
    }

    let configuration: Configuration
    let store: any OutboxInspection
    let incidents: (any AlertIncidentStore)?
    let gates: ProviderGates
    let dispatcher: AlertDispatcher
    let monitor: Mutex<AlertMonitor?>
    let logger: Logger

    public init(
        configuration: Configuration, store: any OutboxInspection, incidents: (any AlertIncidentStore)? = nil, gates: ProviderGates,
        sink: (any AlertSink)?, logger: Logger = Logger(label: "herald.health")
    ) {
        self.configuration = configuration
        self.store = store
        self.incidents = incidents
        self.gates = gates
        self.dispatcher = AlertDispatcher(sink: sink, logger: logger)
        self.monitor = Mutex(configuration.alerts.map { AlertMonitor($0) })
        self.logger = logger
    }

    /// One look: provider health written, alerts fired or resolved. Returns what it posted.
    @discardableResult
    public func check(at now: Date) async throws -> [AlertAction] {
        let health = gates.health(at: now)
        var channelOf: [String: Channel] = [:]
        for (channel, providers) in configuration.providers {
            for provider in providers where channelOf[provider] == nil { channelOf[provider] = channel }
        }
        for provider in health {
            try await store.recordProviderHealth(ProviderHealth(
                provider: provider.provider, channel: channelOf[provider.provider],
                breaker: ProviderHealth.Breaker(rawValue: provider.breaker) ?? .closed, pausedReason: provider.pausedBecause,
                openedAt: provider.openedAt
            ), at: now)
        }
        guard let window = configuration.alerts?.window.duration else { return [] }
        let byName = Dictionary(health.map { ($0.provider, $0) }, uniquingKeysWith: { first, _ in first })
        var snapshots = try await store.channelHealth(window: window.timeInterval, at: now).filter { configuration.channels.contains($0.channel) }
        for index in snapshots.indices {
            snapshots[index].providers = (configuration.providers[snapshots[index].channel] ?? []).map { name in
                let gate = byName[name]
                return ChannelHealthSnapshot.Provider(
                    name: name, misconfigured: gate?.misconfigured,
                    breakerOpenSince: gate.flatMap { $0.breaker == "closed" ? nil : $0.openedAt }, hasAnswered: gate?.hasAnswered ?? false
                )
            }
        }
        guard let incidents else {
            let actions = monitor.withLock { monitor in monitor?.check(snapshots, now: now) ?? [] }
            _ = await dispatcher.dispatch(actions)
            return actions
        }
        let open = try await incidents.openIncidents()
        let (proposed, failing) = monitor.withLock { monitor in
            monitor?.adopt(open, channels: configuration.channels)
            return (monitor?.check(snapshots, now: now) ?? [], monitor?.failing ?? [:])
        }
        // Only what this process opened or closed in the store is posted: another process may
        // have done either between the read above and here.
        var actions: [AlertAction] = []
        for action in proposed {
            switch action {
            case .fire(let alert):
                if try await incidents.openIncident(alert) { actions.append(action) }
            case .resolve(var alert):
                let hold = alert.provider == nil ? 0 : configuration.recoveryHold.timeInterval
                guard let opened = try await incidents.closeIncident(alert.key, unseenSince: now.addingTimeInterval(-hold), at: now) else { continue }
                alert.startedAt = opened.startedAt
                actions.append(.resolve(alert))
            }
        }
        // Conditions still failing on incidents open already: seen again, so that no process
        // closes them meanwhile. One closed since the read above is a new incident, posted.
        let fired = Set(proposed.map(\.alert.key))
        for (key, alert) in failing.sorted(by: { Self.order($0.key) < Self.order($1.key) }) where !fired.contains(key) {
            if try await incidents.openIncident(alert) { actions.append(.fire(alert)) }
        }
        _ = await dispatcher.dispatch(actions)
        return actions
    }

    /// A stable order of incidents: by channel, kind, then provider.
    static func order(_ key: Alert.Key) -> String {
        "\(key.channel.rawValue)|\(key.kind.rawValue)|\(key.provider ?? "")"
    }

    /// Looks every `interval` until `signal` stops; a failed look is logged and the next one
    /// tries again.
    public func run(clock: any WallClock, signal: WorkSignal) async {
        while !signal.isStopping, !Task.isCancelled {
            do {
                try await check(at: clock.now)
            } catch {
                logger.error("cannot check delivery health", metadata: ["error": "\(error)"])
            }
            await signal.sleep(until: clock.now.addingTimeInterval(configuration.interval.timeInterval), on: clock)
        }
    }
}
