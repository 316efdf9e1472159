import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// Workers in two processes (two stores on one SQLite file, two sets of gates) divide a
/// provider's `rate:` between them through the store, announcement by announcement.
@Suite(.timeLimit(.minutes(3)))
struct WorkerRosterTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let routing = ChannelRouting(sms: ["twilio"], email: ["sendgrid"])
    static let rates = ["twilio": RateLiteral(count: 10, per: .second), "sendgrid": RateLiteral(count: 100, per: .second)]

    @Test func workersOnOneDatabaseDivideEachProvidersRateAndTakeBackTheShareOfOneThatLeaves() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("herald.db")
            let gates = (0..<2).map { _ in ProviderGates(configuration: .init(rates: Self.rates)) }
            let rosters = try [[Channel.sms], [.sms, .email]].enumerated().map { index, channels in
                WorkerRoster(
                    store: try SQLiteStore(path: path, schema: AttributeSchema()), gates: gates[index],
                    providers: ProviderShares.channels(of: Self.routing), channels: Set(channels), startedAt: Self.start
                )
            }
            func shares() -> [[Double]] { gates.map { gate in [gate.share(of: "twilio"), gate.share(of: "sendgrid")] } }
            // Each counts itself and whoever announced before it.
            #expect(try await rosters[0].announce(at: Self.start).count == 1)
            #expect(try await rosters[1].announce(at: Self.start).count == 2)
            #expect(shares() == [[1, 1], [0.5, 1]])
            // The first learns of the second at its next announcement, and sends at half rate.
            try await rosters[0].announce(at: Self.start.addingTimeInterval(2))
            #expect(shares() == [[0.5, 1], [0.5, 1]])
            let signal = WorkSignal()
            let clock = ManualClock(Self.start.addingTimeInterval(2))
            try await gates[0].acquire(5, for: "twilio", clock: clock, unlessStopping: signal)
            #expect(gates[0].health(at: clock.now).first?.effectiveRate == 5)
            // The second stops: the first has the whole rate again at its next announcement.
            await rosters[1].withdraw()
            try await rosters[0].announce(at: Self.start.addingTimeInterval(4))
            #expect(shares()[0] == [1, 1])
            #expect(gates[0].health(at: clock.now).first?.effectiveRate == 10)
            // One killed (never withdrawn) counts until 10 s after it last announced.
            try await rosters[1].announce(at: Self.start.addingTimeInterval(5))
            try await rosters[0].announce(at: Self.start.addingTimeInterval(15))
            #expect(shares()[0] == [0.5, 1])
            try await rosters[0].announce(at: Self.start.addingTimeInterval(15.5))
            #expect(shares()[0] == [1, 1])
        }
    }

    /// The service announces before its first claim and withdraws once stopped.
    @Test func theDeliveryServiceAnnouncesItsWorkerWhileItRunsAndWithdrawsIt() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let clock = ManualClock(Self.start)
            let signal = WorkSignal()
            let gates = ProviderGates(configuration: .init(rates: Self.rates))
            let roster = WorkerRoster(
                store: store, gates: gates, providers: ProviderShares.channels(of: Self.routing), channels: [.sms], startedAt: Self.start
            )
            let service = DeliveryService(dispatchers: [], signal: signal, clock: clock, roster: roster)
            let running = Task { try await service.run() }
            try await clock.waitForSleeper(until: Self.start.addingTimeInterval(2))
            #expect(try await store.liveWorkers(since: Self.start).map(\.id) == [roster.identity.id])
            clock.advance(by: 2)
            try await clock.waitForSleeper(until: Self.start.addingTimeInterval(4))
            #expect(try await store.liveWorkers(since: Self.start).map(\.seenAt) == [Self.start.addingTimeInterval(2)])
            signal.stop(deadline: clock.now)
            try await running.value
            #expect(try await store.liveWorkers(since: Self.start).isEmpty)
        }
    }
}
