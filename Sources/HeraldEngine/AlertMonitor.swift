import Foundation
import HeraldCore

/// Turns each channel's health, check after check, into alerts: one `fire` when a condition of
/// herald.yml's `alerts:` starts, nothing while it lasts, one `resolve` when it clears.
///
/// A pure state machine: the caller passes a ``ChannelHealthSnapshot`` and the time, and gets
/// the actions to carry out (``AlertDispatcher`` logs and posts them). It reads no clock and
/// does no I/O, so that tests drive it check by check.
///
/// An incident is one ``Alert/Key``: a kind, a channel and, for provider conditions, a provider.
/// A check looks only at the incidents of its snapshot's channel, so channels are independent.
///
/// Hysteresis: a failure rate that fired clears only once it is below `failureRateRecovery` of
/// the threshold (15% for a 20% threshold, by default), and an oldest-due wait only once it is
/// below `oldestDueRecovery` of `oldest_due`, so that a value hovering at a threshold does not
/// post an alert and its recovery on every check. With fewer than `min_attempts` attempts in the
/// window the failure rate is not judged: an open incident stays open until a window passes with
/// no failed attempt at all. The other kinds clear as soon as their condition no longer holds:
/// dead letters and breaker times are already spread over a window or a duration.
///
/// ```swift
/// var monitor = AlertMonitor(alerts)
/// let actions = monitor.check(ChannelHealthSnapshot(channel: .sms, attempts: 210, failures: 71), now: clock.now)
/// // [.fire(Alert(kind: .failureRate, channel: .sms, message: "sms: 34% of 210 attempts failed in the last 5m (threshold 20%)", …))]
/// ```
public struct AlertMonitor: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// A fired failure-rate incident clears when the rate falls below this fraction of the
        /// threshold. Default 0.75.
        public var failureRateRecovery: Double
        /// A fired oldest-due incident clears when the oldest due notification has waited less
        /// than this fraction of `oldest_due` (or none is due). Default 0.5.
        public var oldestDueRecovery: Double

        public init(failureRateRecovery: Double = 0.75, oldestDueRecovery: Double = 0.5) {
            self.failureRateRecovery = failureRateRecovery
            self.oldestDueRecovery = oldestDueRecovery
        }
    }

    public let thresholds: AlertsConfiguration
    public let configuration: Configuration
    /// The incidents fired and not yet resolved, with the alert that fired each.
    public private(set) var openIncidents: [Alert.Key: Alert] = [:]
    /// The conditions found failing by the last check of each channel, open before or not, each
    /// as the alert it fires (observed then): what a process reports as still seen when the
    /// incident is shared with other processes (``AlertIncidentStore/openIncident(_:)``).
    public private(set) var failing: [Alert.Key: Alert] = [:]

    public init(_ thresholds: AlertsConfiguration, configuration: Configuration = Configuration()) {
        self.thresholds = thresholds
        self.configuration = configuration
    }

    /// What one condition looks like at this check.
    private enum Verdict {
        /// The condition holds: fire unless its incident is open.
        case failing(String, Alert.Severity)
        /// The condition does not hold: resolve its incident if open.
        case clear(String)
        /// Not enough to say either way (in the hysteresis band, too few attempts): no change.
        case holding
    }

    /// The actions for one channel's snapshot at `now`: fires for conditions that started,
    /// resolves for open incidents of that channel that cleared, in a stable order (channel
    /// kinds first, then each provider in the snapshot's order).
    public mutating func check(_ snapshot: ChannelHealthSnapshot, now: Date) -> [AlertAction] {
        let channel = snapshot.channel
        var actions: [AlertAction] = []
        failing = failing.filter { $0.key.channel != channel }
        func apply(_ key: Alert.Key, _ verdict: Verdict) {
            switch verdict {
            case .failing(let message, let severity):
                let alert = Alert(
                    kind: key.kind, channel: key.channel, provider: key.provider, message: message, severity: severity, startedAt: now, at: now
                )
                failing[key] = alert
                guard openIncidents[key] == nil else { return }
                openIncidents[key] = alert
                actions.append(.fire(alert))
            case .clear(let message):
                guard let fired = openIncidents.removeValue(forKey: key) else { return }
                var resolved = fired
                resolved.message = message
                resolved.at = now
                actions.append(.resolve(resolved))
            case .holding:
                return
            }
        }
        apply(Alert.Key(kind: .failureRate, channel: channel), failureRate(snapshot))
        apply(Alert.Key(kind: .deadLetters, channel: channel), deadLetters(snapshot))
        apply(Alert.Key(kind: .oldestDue, channel: channel), oldestDue(snapshot))
        for provider in snapshot.providers where provider.hasAnswered {
            apply(Alert.Key(kind: .misconfigured, channel: channel, provider: provider.name), misconfigured(provider, channel: channel))
            apply(Alert.Key(kind: .breakerOpen, channel: channel, provider: provider.name), breaker(provider, channel: channel, now: now))
        }
        // A provider taken out of the channel (herald.yml reloaded) has nothing left to alert about.
        let present = Set(snapshot.providers.map(\.name))
        let gone = openIncidents.keys.filter { $0.channel == channel && $0.provider.map { !present.contains($0) } ?? false }
        for key in gone.sorted(by: { ($0.provider ?? "", $0.kind.rawValue) < ($1.provider ?? "", $1.kind.rawValue) }) {
            apply(key, .clear("\(channel.rawValue): provider \(key.provider ?? "") no longer carries \(channel.rawValue)"))
        }
        return actions
    }

    /// Takes `incidents` (those open in the store, opened by any process) as the open incidents
    /// of `channels`, in place of its own: the next check fires only what is not open anywhere,
    /// and resolves what another process opened.
    public mutating func adopt(_ incidents: [Alert], channels: Set<Channel>) {
        openIncidents = openIncidents.filter { !channels.contains($0.key.channel) }
        for incident in incidents where channels.contains(incident.channel) {
            openIncidents[incident.key] = incident
        }
    }

    /// ``check(_:now:)`` for several channels, in the order given.
    public mutating func check(_ snapshots: [ChannelHealthSnapshot], now: Date) -> [AlertAction] {
        snapshots.flatMap { check($0, now: now) }
    }

    // MARK: Conditions

    private func failureRate(_ snapshot: ChannelHealthSnapshot) -> Verdict {
        let channel = snapshot.channel.rawValue
        let window = thresholds.window.description
        let threshold = Self.threshold(thresholds.failureRate)
        let isOpen = openIncidents[Alert.Key(kind: .failureRate, channel: snapshot.channel)] != nil
        guard snapshot.attempts >= max(thresholds.minAttempts, 1) else {
            // Too few attempts to judge a rate; silence is recovery only when nothing failed.
            guard isOpen, snapshot.failures > 0 else { return .clear("\(channel): no failed attempts in the last \(window) (threshold \(threshold))") }
            return .holding
        }
        let rate = Double(snapshot.failures) / Double(snapshot.attempts)
        let sentence = "\(channel): \(Self.percent(rate)) of \(snapshot.attempts) attempts failed in the last \(window) (threshold \(threshold))"
        if Self.reaches(rate, thresholds.failureRate) { return .failing(sentence, .critical) }
        if isOpen, Self.reaches(rate, thresholds.failureRate * configuration.failureRateRecovery) { return .holding }
        return .clear(sentence)
    }

    private func deadLetters(_ snapshot: ChannelHealthSnapshot) -> Verdict {
        let channel = snapshot.channel.rawValue
        let count = snapshot.deadLetters
        let counted = count == 1 ? "1 notification was" : "\(count) notifications were"
        let sentence = "\(channel): \(counted) dead-lettered in the last \(thresholds.window) (threshold \(thresholds.deadLetters))"
        return count >= thresholds.deadLetters ? .failing(sentence, .warning) : .clear(sentence)
    }

    private func oldestDue(_ snapshot: ChannelHealthSnapshot) -> Verdict {
        let channel = snapshot.channel.rawValue
        let limit = Double(thresholds.oldestDue.seconds)
        guard let age = snapshot.oldestDueAge else {
            return .clear("\(channel): no notification is waiting past its due time (threshold \(thresholds.oldestDue))")
        }
        let sentence = "\(channel): the oldest due notification has waited \(Self.span(age)) (threshold \(thresholds.oldestDue))"
        if age >= limit { return .failing(sentence, .warning) }
        let isOpen = openIncidents[Alert.Key(kind: .oldestDue, channel: snapshot.channel)] != nil
        if isOpen, age >= limit * configuration.oldestDueRecovery { return .holding }
        return .clear(sentence)
    }

    private func misconfigured(_ provider: ChannelHealthSnapshot.Provider, channel: Channel) -> Verdict {
        guard let reason = provider.misconfigured else {
            return .clear("\(channel.rawValue): provider \(provider.name) is no longer reported misconfigured")
        }
        return .failing("\(channel.rawValue): provider \(provider.name) is misconfigured: \(reason)", .critical)
    }

    private func breaker(_ provider: ChannelHealthSnapshot.Provider, channel: Channel, now: Date) -> Verdict {
        guard let since = provider.breakerOpenSince else {
            return .clear("\(channel.rawValue): the circuit breaker of provider \(provider.name) has closed")
        }
        let open = now.timeIntervalSince(since)
        guard open >= Double(thresholds.breakerOpen.seconds) else {
            // Open, but not for long: not yet an incident, and not the end of one either (it may
            // have closed and opened again between two checks).
            return .holding
        }
        return .failing(
            "\(channel.rawValue): the circuit breaker of provider \(provider.name) has been open for \(Self.span(open)) (threshold \(thresholds.breakerOpen))",
            .critical
        )
    }

    /// `value >= limit`, where a rate exactly at a limit computed in floating point (15% against
    /// 0.75 × 20%) counts as reaching it.
    static func reaches(_ value: Double, _ limit: Double) -> Bool {
        value >= limit - 1e-9
    }

    // MARK: Sentences

    /// `34%`: a measured rate, to the whole percent.
    static func percent(_ fraction: Double) -> String {
        "\(Int((fraction * 100).rounded()))%"
    }

    /// `20%`, `12.5%`: a configured threshold, with its tenth when it has one.
    static func threshold(_ fraction: Double) -> String {
        let tenths = (fraction * 1000).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10))%" : "\(tenths / 10)%"
    }

    /// `45s`, `17m`, `2h 5m`, `3d 4h`: how long something has lasted, to the unit that matters.
    static func span(_ seconds: TimeInterval) -> String {
        let total = Int(max(0, seconds))
        switch total {
        case ..<60: return "\(total)s"
        case ..<3600: return "\(total / 60)m"
        case ..<86_400: return total % 3600 / 60 == 0 ? "\(total / 3600)h" : "\(total / 3600)h \(total % 3600 / 60)m"
        default: return total % 86_400 / 3600 == 0 ? "\(total / 86_400)d" : "\(total / 86_400)d \(total % 86_400 / 3600)h"
        }
    }
}
