import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// Alerts as the delivery workers raise them, over a real SQLite file, look after look at chosen
/// instants: once per incident however many processes watch, only for a worker's own channels,
/// and a misconfigured provider cleared only by a success.
@Suite(.timeLimit(.minutes(3)))
struct DeliveryHealthTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let thresholds = AlertsConfiguration(webhook: "https://hooks.example.com/alerts")
    static let refused = DeliveryOutcome.misconfigured(reason: "twilio 401 20003: Authenticate")
    static let accepted = DeliveryOutcome.accepted(providerMessageID: "SM1")

    static func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    /// One worker process: its own store connection, gates and health, posting to `sink`.
    struct Worker {
        let gates = ProviderGates()
        let health: DeliveryHealth

        init(path: String, sink: ListSink, channels: Set<Channel> = Set(Channel.allCases)) throws {
            let store = try SQLiteStore(path: path, schema: AttributeSchema())
            health = DeliveryHealth(
                configuration: .init(providers: [.sms: ["twilio"], .email: ["sendgrid"]], alerts: DeliveryHealthTests.thresholds, channels: channels),
                store: store, incidents: store, gates: gates, sink: sink
            )
        }
    }

    /// Both workers look at once, twice over.
    static func lookTogether(_ workers: [Worker], at instant: Date) async throws {
        for _ in 0..<2 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { _ = try await worker.health.check(at: instant) } }
                try await group.waitForAll()
            }
        }
    }

    @Test func twoWorkersOnOneDatabasePostAnIncidentAndItsRecoveryOnce() async throws {
        try await withTemporaryDirectory { directory in
            let receiver = ListSink()
            let workers = try (0..<2).map { _ in try Worker(path: directory.file("herald.db"), sink: receiver) }
            // Twilio refuses both workers' credentials.
            for worker in workers { worker.gates.record([Self.refused], for: "twilio", at: Self.at(0)) }
            try await Self.lookTogether(workers, at: Self.at(1))
            try await Self.lookTogether(workers, at: Self.at(11))
            #expect(receiver.posted.map(\.event) == ["fired"])
            #expect(receiver.posted.first?.alert.key == Alert.Key(kind: .misconfigured, channel: .sms, provider: "twilio"))

            // The credentials are fixed: both send through Twilio again. The incident was last
            // seen at 11 s: it is closed 30 s later, by one of them.
            for worker in workers { worker.gates.record([Self.accepted], for: "twilio", at: Self.at(20)) }
            try await Self.lookTogether(workers, at: Self.at(21))
            try await Self.lookTogether(workers, at: Self.at(31))
            #expect(receiver.posted.map(\.event) == ["fired"])
            try await Self.lookTogether(workers, at: Self.at(41))
            try await Self.lookTogether(workers, at: Self.at(51))
            #expect(receiver.posted.map(\.event) == ["fired", "resolved"])
            #expect(receiver.posted.last?.alert.startedAt == Self.at(1))
        }
    }

    /// Two workers whose breakers for Twilio disagree: one has seen five failures in a row and
    /// holds it open, the other has only seen it answer. The incident stays open, posted once,
    /// however often the second looks (it would otherwise post a recovery, and the first the same
    /// alert again); once the first's breaker closes too, the recovery is posted once.
    @Test func workersWhoseBreakersDisagreePostOneAlertAndOneRecovery() async throws {
        try await withTemporaryDirectory { directory in
            let receiver = ListSink()
            let open = try Worker(path: directory.file("herald.db"), sink: receiver)
            let closed = try Worker(path: directory.file("herald.db"), sink: receiver)
            open.gates.record(Array(repeating: .retry(after: nil, reason: "503"), count: 5), for: "twilio", at: Self.at(0))
            closed.gates.record([Self.accepted], for: "twilio", at: Self.at(0))
            #expect(open.gates.health(at: Self.at(1)).first?.breaker == "open")
            #expect(closed.gates.health(at: Self.at(1)).first?.breaker == "closed")
            // The breaker alert's threshold is 2 minutes; they look every 10 s from then on.
            for seconds in stride(from: 121.0, through: 201, by: 10) {
                try await Self.lookTogether([open, closed], at: Self.at(seconds))
            }
            #expect(receiver.posted.map { "\($0.event) \($0.alert.kind.rawValue)" } == ["fired breaker_open"], "\(receiver.posted)")

            // The first's probe gets through: now neither sees it open. Last seen at 201 s, the
            // incident is closed 30 s later, once.
            #expect(open.gates.admit("twilio", at: Self.at(205)) == .allowed)
            open.gates.record([Self.accepted], for: "twilio", at: Self.at(205))
            for seconds in stride(from: 211.0, through: 261, by: 10) {
                try await Self.lookTogether([open, closed], at: Self.at(seconds))
            }
            #expect(receiver.posted.map { "\($0.event) \($0.alert.kind.rawValue)" } == ["fired breaker_open", "resolved breaker_open"], "\(receiver.posted)")
            #expect(receiver.posted.last?.alert.startedAt == Self.at(121))
            #expect(receiver.posted.last?.alert.at == Self.at(231))
        }
    }

    @Test func aWorkerThatHasNotSentThroughAProviderLeavesItsIncidentOpen() async throws {
        try await withTemporaryDirectory { directory in
            let receiver = ListSink()
            let failing = try Worker(path: directory.file("herald.db"), sink: receiver)
            let idle = try Worker(path: directory.file("herald.db"), sink: receiver)
            failing.gates.record([Self.refused], for: "twilio", at: Self.at(0))
            try await Self.lookTogether([failing, idle], at: Self.at(1))
            try await Self.lookTogether([failing, idle], at: Self.at(11))
            #expect(receiver.posted.map(\.event) == ["fired"], "\(receiver.posted)")
        }
    }

    @Test func aWorkerOfOneChannelAlertsOnlyAboutThatChannel() async throws {
        try await withTemporaryDirectory { directory in
            // Email has waited an hour; SMS has nothing due.
            let fixture = try await DeliveryServiceTests.Fixture(directory)
            try await fixture.plan([.email], at: Self.start)
            let receiver = ListSink()
            let sms = try Worker(path: directory.file("herald.db"), sink: receiver, channels: [.sms])
            try await sms.health.check(at: Self.at(3600))
            #expect(receiver.posted.isEmpty, "\(receiver.posted)")

            let email = try Worker(path: directory.file("herald.db"), sink: receiver, channels: [.email])
            try await email.health.check(at: Self.at(3600))
            #expect(receiver.posted.map(\.alert.key) == [Alert.Key(kind: .oldestDue, channel: .email)])
            // Nor does the SMS worker clear what the email worker opened.
            try await sms.health.check(at: Self.at(3610))
            #expect(receiver.posted.count == 1)
        }
    }

    @Test func aMisconfiguredProviderRecoversOnlyWhenItAcceptsASendNotWhenItsPauseLapses() async throws {
        try await withTemporaryDirectory { directory in
            let receiver = ListSink()
            let worker = try Worker(path: directory.file("herald.db"), sink: receiver)
            worker.gates.record([Self.refused], for: "twilio", at: Self.at(0))
            try await worker.health.check(at: Self.at(1))
            #expect(receiver.posted.map(\.event) == ["fired"])

            // The 5-minute pause lapses: Twilio is tried again, but nothing says it works.
            #expect(worker.gates.admit("twilio", at: Self.at(301)) == .allowed)
            try await worker.health.check(at: Self.at(301))
            #expect(receiver.posted.map(\.event) == ["fired"], "recovered while the credentials were still bad")
            // The next try is refused again: the incident goes on, not posted again.
            worker.gates.record([Self.refused], for: "twilio", at: Self.at(302))
            try await worker.health.check(at: Self.at(311))
            #expect(receiver.posted.map(\.event) == ["fired"])

            // After the next pause Twilio accepts a send: now it has recovered.
            worker.gates.record([Self.accepted], for: "twilio", at: Self.at(603))
            try await worker.health.check(at: Self.at(611))
            #expect(receiver.posted.map(\.event) == ["fired", "resolved"])
        }
    }
}
