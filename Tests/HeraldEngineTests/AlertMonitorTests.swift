import Foundation
import HeraldCore
import HeraldEngine
import Logging
import Synchronization
import Testing

/// The monitor is pure: each test walks it check by check with its own instants.
struct AlertMonitorTests {
    static let thresholds = AlertsConfiguration(webhook: "https://hooks.example.com/alerts")
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    static func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    static func sms(attempts: Int = 0, failures: Int = 0, deadLetters: Int = 0, oldestDue: TimeInterval? = nil, providers: [ChannelHealthSnapshot.Provider] = []) -> ChannelHealthSnapshot {
        ChannelHealthSnapshot(channel: .sms, attempts: attempts, failures: failures, deadLetters: deadLetters, oldestDueAge: oldestDue, providers: providers)
    }

    /// What each check did, as `fired kind: message` / `resolved kind: message`.
    static func described(_ actions: [AlertAction]) -> [String] {
        actions.map { "\($0.event) \($0.alert.kind.rawValue)\($0.alert.provider.map { "/" + $0 } ?? ""): \($0.alert.message)" }
    }

    @Test func aFailureRateFiresOnceStaysQuietAndResolvesOnce() throws {
        var monitor = AlertMonitor(Self.thresholds)
        #expect(monitor.check(Self.sms(attempts: 200, failures: 10), now: Self.at(0)).isEmpty)
        let fired = monitor.check(Self.sms(attempts: 210, failures: 71), now: Self.at(30))
        #expect(fired == [.fire(Alert(
            kind: .failureRate, channel: .sms, message: "sms: 34% of 210 attempts failed in the last 5m (threshold 20%)",
            severity: .critical, startedAt: Self.at(30), at: Self.at(30)
        ))])
        // Still failing, worse or a little better: no repeat.
        #expect(monitor.check(Self.sms(attempts: 300, failures: 150), now: Self.at(60)).isEmpty)
        #expect(monitor.check(Self.sms(attempts: 300, failures: 61), now: Self.at(90)).isEmpty)
        let resolved = monitor.check(Self.sms(attempts: 180, failures: 7), now: Self.at(400))
        #expect(resolved == [.resolve(Alert(
            kind: .failureRate, channel: .sms, message: "sms: 4% of 180 attempts failed in the last 5m (threshold 20%)",
            severity: .critical, startedAt: Self.at(30), at: Self.at(400)
        ))])
        #expect(monitor.check(Self.sms(attempts: 180, failures: 7), now: Self.at(430)).isEmpty)
        #expect(monitor.openIncidents.isEmpty)
    }

    /// What a check found still failing, fired or open already, is kept per channel until that
    /// channel's next check: what a worker tells the other processes it still sees.
    @Test func eachCheckSaysWhichConditionsStillFailOpenOrNot() {
        var monitor = AlertMonitor(Self.thresholds)
        let twilio = ChannelHealthSnapshot.Provider(name: "twilio", breakerOpenSince: Self.at(0))
        _ = monitor.check(Self.sms(attempts: 100, failures: 30, providers: [twilio]), now: Self.at(130))
        #expect(Set(monitor.failing.keys) == [
            Alert.Key(kind: .failureRate, channel: .sms), Alert.Key(kind: .breakerOpen, channel: .sms, provider: "twilio"),
        ])
        // Open already: nothing fired, still failing, seen at this check.
        #expect(monitor.check(Self.sms(attempts: 100, failures: 25, providers: [twilio]), now: Self.at(140)).isEmpty)
        #expect(monitor.failing[Alert.Key(kind: .failureRate, channel: .sms)]?.message == "sms: 25% of 100 attempts failed in the last 5m (threshold 20%)")
        #expect(monitor.failing[Alert.Key(kind: .breakerOpen, channel: .sms, provider: "twilio")]?.at == Self.at(140))
        // Another channel's check leaves SMS's as they were; SMS's next check replaces them.
        _ = monitor.check(ChannelHealthSnapshot(channel: .email), now: Self.at(145))
        #expect(monitor.failing.count == 2)
        // In the hysteresis band the rate is neither failing nor cleared; the breaker closed.
        _ = monitor.check(Self.sms(attempts: 100, failures: 16, providers: [ChannelHealthSnapshot.Provider(name: "twilio")]), now: Self.at(150))
        #expect(monitor.failing.isEmpty)
        #expect(Set(monitor.openIncidents.keys) == [Alert.Key(kind: .failureRate, channel: .sms)])
    }

    @Test func aRateJustBelowTheThresholdHoldsAnOpenIncidentButDoesNotFireOne() {
        var monitor = AlertMonitor(Self.thresholds)
        // 18% is under the threshold: no alert.
        #expect(monitor.check(Self.sms(attempts: 100, failures: 18), now: Self.at(0)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(attempts: 100, failures: 20), now: Self.at(10))) == [
            "fired failure_rate: sms: 20% of 100 attempts failed in the last 5m (threshold 20%)",
        ])
        // 18% again, and 15% (the default recovery is below 3/4 of the threshold): still open.
        #expect(monitor.check(Self.sms(attempts: 100, failures: 18), now: Self.at(20)).isEmpty)
        #expect(monitor.check(Self.sms(attempts: 100, failures: 15), now: Self.at(30)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(attempts: 100, failures: 14), now: Self.at(40))) == [
            "resolved failure_rate: sms: 14% of 100 attempts failed in the last 5m (threshold 20%)",
        ])
    }

    @Test func belowMinAttemptsTheRateIsNotJudged() {
        var monitor = AlertMonitor(Self.thresholds)
        // 19 attempts, all failed: below min_attempts (20), no alert.
        #expect(monitor.check(Self.sms(attempts: 19, failures: 19), now: Self.at(0)).isEmpty)
        #expect(monitor.openIncidents.isEmpty)
        // 20 attempts: judged.
        #expect(Self.described(monitor.check(Self.sms(attempts: 20, failures: 5), now: Self.at(10))) == [
            "fired failure_rate: sms: 25% of 20 attempts failed in the last 5m (threshold 20%)",
        ])
        // Traffic drops below min_attempts while it still fails: not a recovery.
        #expect(monitor.check(Self.sms(attempts: 3, failures: 3), now: Self.at(20)).isEmpty)
        // A window with no failure at all is.
        #expect(Self.described(monitor.check(Self.sms(attempts: 2, failures: 0), now: Self.at(400))) == [
            "resolved failure_rate: sms: no failed attempts in the last 5m (threshold 20%)",
        ])
    }

    @Test func minAttemptsFromTheConfigurationApplies() {
        var thresholds = Self.thresholds
        thresholds.minAttempts = 100
        thresholds.failureRate = 0.125
        var monitor = AlertMonitor(thresholds)
        #expect(monitor.check(Self.sms(attempts: 99, failures: 50), now: Self.at(0)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(attempts: 100, failures: 13), now: Self.at(10))) == [
            "fired failure_rate: sms: 13% of 100 attempts failed in the last 5m (threshold 12.5%)",
        ])
    }

    @Test func deadLettersFireOnceAndResolveWhenTheWindowHasNone() {
        var monitor = AlertMonitor(Self.thresholds)
        #expect(monitor.check(Self.sms(deadLetters: 0), now: Self.at(0)).isEmpty)
        let fired = monitor.check(Self.sms(deadLetters: 1), now: Self.at(10))
        #expect(Self.described(fired) == ["fired dead_letters: sms: 1 notification was dead-lettered in the last 5m (threshold 1)"])
        #expect(fired.first?.alert.severity == .warning)
        #expect(monitor.check(Self.sms(deadLetters: 4), now: Self.at(20)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(deadLetters: 0), now: Self.at(320))) == [
            "resolved dead_letters: sms: 0 notifications were dead-lettered in the last 5m (threshold 1)",
        ])
    }

    @Test func theOldestDueAgeFiresOnceAndResolvesBelowHalfTheThreshold() {
        var monitor = AlertMonitor(Self.thresholds)
        #expect(monitor.check(Self.sms(oldestDue: 14 * 60 + 59), now: Self.at(0)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(oldestDue: 17 * 60 + 5), now: Self.at(10))) == [
            "fired oldest_due: sms: the oldest due notification has waited 17m (threshold 15m)",
        ])
        #expect(monitor.check(Self.sms(oldestDue: 40 * 60), now: Self.at(20)).isEmpty)
        // Below the threshold but above half of it: still catching up.
        #expect(monitor.check(Self.sms(oldestDue: 10 * 60), now: Self.at(30)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(oldestDue: nil), now: Self.at(40))) == [
            "resolved oldest_due: sms: no notification is waiting past its due time (threshold 15m)",
        ])
    }

    @Test func aMisconfiguredProviderFiresOncePerProviderAndResolves() {
        var monitor = AlertMonitor(Self.thresholds)
        let broken = ChannelHealthSnapshot.Provider(name: "twilio", misconfigured: "twilio 401 20003: Authenticate")
        let vonage = ChannelHealthSnapshot.Provider(name: "vonage")
        let fired = monitor.check(Self.sms(providers: [broken, vonage]), now: Self.at(0))
        #expect(Self.described(fired) == ["fired misconfigured/twilio: sms: provider twilio is misconfigured: twilio 401 20003: Authenticate"])
        #expect(fired.first?.alert.severity == .critical)
        // Another reason while it lasts is the same incident.
        let other = ChannelHealthSnapshot.Provider(name: "twilio", misconfigured: "twilio 400 21606: not a valid sender")
        #expect(monitor.check(Self.sms(providers: [other, vonage]), now: Self.at(10)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(providers: [ChannelHealthSnapshot.Provider(name: "twilio"), vonage]), now: Self.at(20))) == [
            "resolved misconfigured/twilio: sms: provider twilio is no longer reported misconfigured",
        ])
    }

    @Test func aBreakerFiresOnlyOnceItHasStayedOpenLongEnough() {
        var monitor = AlertMonitor(Self.thresholds)
        let opened = Self.at(0)
        let open = ChannelHealthSnapshot.Provider(name: "twilio", breakerOpenSince: opened)
        #expect(monitor.check(Self.sms(providers: [open]), now: Self.at(60)).isEmpty)
        #expect(monitor.check(Self.sms(providers: [open]), now: Self.at(119)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(providers: [open]), now: Self.at(185))) == [
            "fired breaker_open/twilio: sms: the circuit breaker of provider twilio has been open for 3m (threshold 2m)",
        ])
        #expect(monitor.check(Self.sms(providers: [open]), now: Self.at(3600)).isEmpty)
        #expect(Self.described(monitor.check(Self.sms(providers: [ChannelHealthSnapshot.Provider(name: "twilio")]), now: Self.at(3700))) == [
            "resolved breaker_open/twilio: sms: the circuit breaker of provider twilio has closed",
        ])
        // A breaker that opened and closed between two checks never alerts.
        #expect(monitor.check(Self.sms(providers: [ChannelHealthSnapshot.Provider(name: "twilio", breakerOpenSince: Self.at(3750))]), now: Self.at(3760)).isEmpty)
    }

    @Test func aProviderThatLeavesTheChannelResolvesItsIncidents() {
        var monitor = AlertMonitor(Self.thresholds)
        let broken = ChannelHealthSnapshot.Provider(name: "vonage", misconfigured: "vonage: bad credentials")
        #expect(monitor.check(Self.sms(providers: [broken]), now: Self.at(0)).count == 1)
        #expect(Self.described(monitor.check(Self.sms(providers: []), now: Self.at(10))) == [
            "resolved misconfigured/vonage: sms: provider vonage no longer carries sms",
        ])
    }

    @Test func twoChannelsAreIndependent() {
        var monitor = AlertMonitor(Self.thresholds)
        let email = { (dead: Int) in ChannelHealthSnapshot(channel: .email, attempts: 500, failures: 400, deadLetters: dead) }
        let both = monitor.check([Self.sms(attempts: 50, failures: 50), email(2)], now: Self.at(0))
        #expect(Self.described(both) == [
            "fired failure_rate: sms: 100% of 50 attempts failed in the last 5m (threshold 20%)",
            "fired failure_rate: email: 80% of 500 attempts failed in the last 5m (threshold 20%)",
            "fired dead_letters: email: 2 notifications were dead-lettered in the last 5m (threshold 1)",
        ])
        // sms recovers; email's incidents stay open and are not repeated.
        #expect(Self.described(monitor.check(Self.sms(attempts: 50, failures: 0), now: Self.at(10))) == [
            "resolved failure_rate: sms: 0% of 50 attempts failed in the last 5m (threshold 20%)",
        ])
        #expect(monitor.check(email(3), now: Self.at(20)).isEmpty)
        #expect(Set(monitor.openIncidents.keys) == [
            Alert.Key(kind: .failureRate, channel: .email), Alert.Key(kind: .deadLetters, channel: .email),
        ])
        // Checking one channel never resolves the other's incidents.
        #expect(monitor.check(Self.sms(), now: Self.at(30)).isEmpty)
        #expect(monitor.openIncidents.count == 2)
    }

    @Test func aHealthyChannelNeverAlerts() {
        var monitor = AlertMonitor(Self.thresholds)
        let healthy = Self.sms(attempts: 1000, failures: 5, deadLetters: 0, oldestDue: 30, providers: [ChannelHealthSnapshot.Provider(name: "twilio")])
        for step in 0..<20 {
            #expect(monitor.check(healthy, now: Self.at(Double(step) * 30)).isEmpty)
        }
    }
}

/// The dispatcher logs every action and posts it; a sink that fails is logged, never thrown.
@Suite(.timeLimit(.minutes(3)))
struct AlertDispatcherTests {
    static let alert = Alert(
        kind: .failureRate, channel: .sms, message: "sms: 34% of 210 attempts failed in the last 5m (threshold 20%)", severity: .critical,
        startedAt: Date(timeIntervalSince1970: 0), at: Date(timeIntervalSince1970: 0)
    )

    @Test func firesAreErrorsResolvesAreNoticesAndBothArePostedInOrder() async {
        let logs = CapturedLogs()
        let sink = ListSink()
        let dispatcher = AlertDispatcher(sink: sink, logger: logs.logger)
        let posted = await dispatcher.dispatch([.fire(Self.alert), .resolve(Self.alert)])
        #expect(posted == 2)
        #expect(sink.posted == [.fire(Self.alert), .resolve(Self.alert)])
        #expect(logs.entries.map(\.level) == [.error, .notice])
        #expect(logs.entries.map(\.message) == ["alert fired", "alert resolved"])
        #expect(logs.entries.first?.metadata["alert.message"] == "\(Self.alert.message)")
        #expect(logs.entries.first?.metadata["alert.kind"] == "failure_rate")
    }

    @Test func aFailingSinkIsLoggedAndTheNextActionIsStillPosted() async {
        let logs = CapturedLogs()
        let sink = ListSink(failing: 1)
        let posted = await AlertDispatcher(sink: sink, logger: logs.logger).dispatch([.fire(Self.alert), .resolve(Self.alert)])
        #expect(posted == 1)
        #expect(sink.posted == [.resolve(Self.alert)])
        #expect(logs.entries.map(\.message) == ["alert fired", "alert not posted", "alert resolved"])
        #expect(logs.entries[1].level == .error)
        #expect(logs.entries[1].metadata["error.message"] == "receiver down")
    }

    @Test func withoutASinkAlertsAreLoggedOnly() async {
        let logs = CapturedLogs()
        #expect(await AlertDispatcher(sink: nil, logger: logs.logger).dispatch([.fire(Self.alert)]) == 0)
        #expect(logs.entries.map(\.message) == ["alert fired"])
    }
}

final class ListSink: AlertSink {
    struct Down: Error, CustomStringConvertible {
        var description: String { "receiver down" }
    }

    private let state: Mutex<(posted: [AlertAction], failing: Int)>

    init(failing: Int = 0) {
        state = Mutex(([], failing))
    }

    var posted: [AlertAction] { state.withLock { $0.posted } }

    func post(_ action: AlertAction) async throws {
        try state.withLock { state in
            if state.failing > 0 {
                state.failing -= 1
                throw Down()
            }
            state.posted.append(action)
        }
    }
}

/// A logger whose entries a test reads back.
final class CapturedLogs: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let storage = Mutex<[Entry]>([])

    var entries: [Entry] { storage.withLock { $0 } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(logs: self) }
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let entry = Entry(level: event.level, message: "\(event.message)", metadata: metadata.merging(event.metadata ?? [:]) { $1 })
            logs.storage.withLock { $0.append(entry) }
        }
    }
}
