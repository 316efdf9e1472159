import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Synchronization
import Testing

/// The dispatchers running as a service, in virtual time, over a real SQLite file: channels and
/// providers that never wait on each other, sleeping until work is due, lease renewal, and
/// shutdown that leaves nothing in flight.
@Suite(.timeLimit(.minutes(4)))
struct DeliveryServiceTests {
    struct Fixture {
        let store: SQLiteStore
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let signal = WorkSignal()

        init(_ directory: TemporaryDirectory, users: Int = 30) async throws {
            store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            _ = try await store.upsertUsers((1...users).map { User(id: String(format: "u-%02d", $0), email: "u\($0)@example.com", phone: "+1555000\(String(format: "%04d", $0))") }, at: clock.now)
        }

        func plan(_ channels: [Channel], at fireAt: Date? = nil, id: String = "sale", routing: ChannelRouting = routing) async throws {
            let planner = Planner(store: store, renderer: ClosureRenderer.simple, routing: routing, clock: clock)
            let campaign = Campaign(id: id, channels: channels, delivery: .all, template: id, schedule: .manual, file: "campaigns/\(id).yml")
            _ = try await planner.plan(campaign, fireAt: fireAt ?? clock.now)
        }

        func dispatcher(_ channel: Channel, _ transports: [any Transport], configuration: Dispatcher.Configuration = .init(groupSize: 5, idlePoll: .seconds(3600))) -> Dispatcher {
            Dispatcher(
                channel: channel, store: store, transports: transports, retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)),
                clock: clock, configuration: configuration, routing: routing, signal: signal
            )
        }

        func states() async throws -> [String: Int] {
            var counts: [String: Int] = [:]
            for row in try await store.rows(sql: "SELECT channel || ':' || state, COUNT(*) FROM notifications GROUP BY 1") {
                counts[row[0]] = Int(row[1])
            }
            return counts
        }
    }

    @Test func aHangingSMSProviderDoesNotHoldUpEmail() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory)
            try await fixture.plan([.sms, .email])
            let twilio = GatedTransport(name: "twilio")
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let service = DeliveryService(
                dispatchers: [fixture.dispatcher(.sms, [twilio]), fixture.dispatcher(.email, [sendgrid])], signal: fixture.signal, clock: fixture.clock
            )
            try await withRunning(service, fixture) {
                // Twilio holds the lane's four places (groups of 5); every email goes out meanwhile.
                try await twilio.waitForCalls(4)
                try await waitUntil { try await fixture.states()["email:sent"] == 30 }
                #expect(sendgrid.messages.count == 30)
                #expect(twilio.answered.isEmpty)
                #expect(try await fixture.states()["sms:sending"] == 20, "only what was handed to the provider is in flight")
                twilio.open()
                try await waitUntil { try await fixture.states()["sms:sent"] == 30 }
            }
            #expect(try await fixture.states() == ["email:sent": 30, "sms:sent": 30])
        }
    }

    /// A group's outcomes are recorded as soon as its call returns, not with the rest of its
    /// claim: a crash then repeats only what is still at the provider.
    @Test func eachGroupIsRecordedAsSoonAsItsCallReturns() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 15)
            try await fixture.plan([.email])
            let sendgrid = GatedTransport(name: "sendgrid")
            let service = DeliveryService(dispatchers: [fixture.dispatcher(.email, [sendgrid])], signal: fixture.signal, clock: fixture.clock)
            try await withRunning(service, fixture) {
                // One claim of 15 rows, at the provider in three calls of 5 at once.
                try await sendgrid.waitForCalls(3)
                var returned: Set<Int64> = []
                for step in 1...2 {
                    let group = Set(sendgrid.letOneThrough().map(\.notificationID))
                    #expect(group.count == 5)
                    returned.formUnion(group)
                    try await waitUntil { try await fixture.states()["email:sent"] == 5 * step }
                    let rows = try await fixture.store.rows(sql: "SELECT id, state FROM notifications ORDER BY id")
                    let sent = Set(rows.filter { $0[1] == "sent" }.compactMap { Int64($0[0]) })
                    #expect(sent == returned, "exactly the rows of the calls that returned are sent")
                    #expect(rows.filter { $0[1] == "sending" }.count == 15 - 5 * step, "the other groups' rows are still in flight")
                    #expect(try await fixture.store.eventCounts()["sent"] == 5 * step)
                }
                sendgrid.open()
                try await waitUntil { try await fixture.states()["email:sent"] == 15 }
            }
        }
    }

    @Test func aSlowProviderHoldsOnlyThePlacesItUsesInItsLane() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 20)
            // Two providers of one channel: rows planned for mandrill never wait on sendgrid.
            try await fixture.plan([.email], id: "sale")
            try await fixture.plan([.email], id: "news", routing: ChannelRouting(email: ["mandrill"]))
            let sendgrid = GatedTransport(name: "sendgrid")
            let mandrill = ScriptedTransport(name: "mandrill")
            let service = DeliveryService(dispatchers: [fixture.dispatcher(.email, [sendgrid, mandrill])], signal: fixture.signal, clock: fixture.clock)
            try await withRunning(service, fixture) {
                try await sendgrid.waitForCalls(4)
                try await waitUntil { mandrill.messages.count == 20 }
                sendgrid.open()
                try await waitUntil { try await fixture.states()["email:sent"] == 40 }
            }
            #expect(Set(mandrill.messages.map(\.notificationID)).count == 20)
            #expect(Set(sendgrid.answered.map(\.notificationID)).count == 20)
        }
    }

    @Test func anIdleWorkerSleepsUntilTheNextDueRowAndWakesAtARing() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 3)
            let later = fixture.clock.now.addingTimeInterval(600)
            try await fixture.plan([.email], at: later)
            #expect(try await fixture.store.nextDue(channel: .email) == later)
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let dispatcher = fixture.dispatcher(.email, [sendgrid])
            let service = DeliveryService(dispatchers: [dispatcher], signal: fixture.signal, clock: fixture.clock)
            try await withRunning(service, fixture) {
                // No busy polling: the sendgrid lane sleeps until the rows are due.
                try await fixture.clock.waitForSleeper(until: later)
                #expect(sendgrid.messages.isEmpty)
                fixture.clock.set(later)
                try await waitUntil { sendgrid.messages.count == 3 }
                // New work planned in this process rings the signal: no wait for the poll (an
                // hour here, in virtual time that does not move).
                try await fixture.clock.waitForSleeper(until: fixture.clock.now.addingTimeInterval(3600))
                try await fixture.plan([.email], id: "news")
                fixture.signal.ring()
                try await waitUntil { sendgrid.messages.count == 6 }
            }
        }
    }

    @Test func aSlowSendKeepsItsLeaseRenewedSoNobodyElseTakesItOver() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 2)
            try await fixture.plan([.email])
            let sendgrid = GatedTransport(name: "sendgrid")
            let configuration = Dispatcher.Configuration(groupSize: 5, lease: .seconds(30), leaseOwner: "slow", idlePoll: .seconds(3600))
            let service = DeliveryService(dispatchers: [fixture.dispatcher(.email, [sendgrid], configuration: configuration)], signal: fixture.signal, clock: fixture.clock)
            try await withRunning(service, fixture) {
                try await sendgrid.waitForCalls(1)
                // Five minutes at the provider, in steps of 5 s: the lease is renewed every 10 s.
                // Three tasks sleep between steps: the renewal of each lane (sendgrid's and the
                // one for other providers) and the idle lane.
                for _ in 0..<60 {
                    try await fixture.clock.waitForSleepers(3)
                    fixture.clock.advance(by: 5)
                }
                let taken = try await fixture.store.claim(channel: .email, limit: 10, leaseOwner: "other", lease: .seconds(30), at: fixture.clock.now)
                #expect(taken.isEmpty, "a renewed lease is not taken over")
                sendgrid.open()
                try await waitUntil { try await fixture.states()["email:sent"] == 2 }
            }
            #expect(try await fixture.store.eventCounts()["reclaimed"] == nil)
        }
    }

    /// A claim whose lease ran out while it waited for its provider (a process that stalled, a
    /// database that answered the renewal too late) may be another worker's by then: it is not
    /// sent from here, so that the other worker's send is the only one.
    @Test func aClaimThatRanOutWhileWaitingForItsProviderIsNotSent() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 2)
            try await fixture.plan([.email])
            let sendgrid = GatedTransport(name: "sendgrid")
            // Two groups of one; SendGrid takes one call at a time, so the second group waits
            // for the first, which hangs at the provider.
            let gates = ProviderGates(configuration: ProviderGates.Configuration(concurrency: ["sendgrid": 1]))
            let dispatcher = Dispatcher(
                channel: .email, store: fixture.store, transports: [sendgrid], retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)),
                clock: fixture.clock, configuration: Dispatcher.Configuration(concurrency: 2, groupSize: 1, lease: .seconds(30), leaseOwner: "stalled", idlePoll: .seconds(3600)),
                routing: routing, gates: gates, signal: fixture.signal
            )
            let service = DeliveryService(dispatchers: [dispatcher], signal: fixture.signal, clock: fixture.clock)
            try await withRunning(service, fixture) {
                try await sendgrid.waitForCalls(1)
                // The process stalls for 40 s: the renewal comes after the 30-second lease ended,
                // and another worker has taken both rows over meanwhile.
                fixture.clock.advance(by: 40)
                let other = try await fixture.store.claim(channel: .email, limit: 10, leaseOwner: "other", lease: .seconds(30), at: fixture.clock.now)
                #expect(other.count == 2)
                sendgrid.open()
                // The first group was at SendGrid already (its outcome comes late); the second
                // never goes.
                try await waitUntil { try await fixture.store.eventCounts()["late_outcome"] != nil || sendgrid.answered.count > 1 }
                try await Task.sleep(for: .milliseconds(200))
                #expect(sendgrid.received.count == 1, "sent after its claim ran out: \(sendgrid.received.map(\.userID))")
            }
            #expect(sendgrid.received.count == 1)
        }
    }

    /// A claim whose renewal is late (the store is busy with other writers) but that nobody
    /// else has taken is renewed right before its send, and sent: under a loaded store, claims
    /// must not run out, go back and be claimed again over and over.
    @Test func aClaimAboutToRunOutIsRenewedBeforeItsSendAndSent() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 2)
            try await fixture.plan([.email])
            let store = LateRenewalStore(fixture.store)
            let sendgrid = GatedTransport(name: "sendgrid")
            // Two groups of one; SendGrid takes one call at a time, so the second group waits
            // for the first, which hangs at the provider.
            let gates = ProviderGates(configuration: ProviderGates.Configuration(concurrency: ["sendgrid": 1]))
            let dispatcher = Dispatcher(
                channel: .email, store: store, transports: [sendgrid], retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)),
                clock: fixture.clock, configuration: Dispatcher.Configuration(concurrency: 2, groupSize: 1, lease: .seconds(30), leaseOwner: "busy", idlePoll: .seconds(3600)),
                routing: routing, gates: gates, signal: fixture.signal
            )
            let service = DeliveryService(dispatchers: [dispatcher], signal: fixture.signal, clock: fixture.clock)
            let start = fixture.clock.now
            try await withRunning(service, fixture) {
                try await sendgrid.waitForCalls(1)
                // The renewal due at +10 s hangs in the store; at +27 s the second group's claim
                // has 3 s left when SendGrid takes its call.
                try await fixture.clock.waitForSleeper(until: start.addingTimeInterval(10))
                fixture.clock.advance(by: 10)
                try await waitUntil { store.renewals == 1 }
                fixture.clock.advance(by: 17)
                sendgrid.open()
                try await waitUntil { try await fixture.states()["email:sent"] == 2 }
                store.letRenewalsThrough()
            }
            #expect(sendgrid.received.count == 2)
            let events = try await fixture.store.eventCounts()
            #expect(events["sending"] == 2 && events["released"] == nil, "\(events)")
        }
    }

    @Test func stoppingGivesBackWhatWasNotSentAndAbandonsSendsStillAtTheProviderAtTheDeadline() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 30)
            try await fixture.plan([.email])
            let sendgrid = GatedTransport(name: "sendgrid")
            // One group of 5 at a time: 5 at the provider, 25 never claimed.
            let configuration = Dispatcher.Configuration(concurrency: 1, groupSize: 5, idlePoll: .seconds(3600))
            let dispatcher = fixture.dispatcher(.email, [sendgrid], configuration: configuration)
            let stopped = try await withThrowingTaskGroup(of: Dispatcher.Summary.self) { group in
                group.addTask { await dispatcher.run() }
                try await sendgrid.waitForCalls(1)
                fixture.signal.stop(deadline: fixture.clock.now.addingTimeInterval(10))
                try await fixture.clock.waitForSleeper(until: fixture.clock.now.addingTimeInterval(10))
                fixture.clock.advance(by: 10)
                return try await group.next()!
            }
            #expect(stopped.released == 5 && stopped.sent == 0)
            // Nothing is left in flight: the five at the provider are repeated at once by the next
            // worker, as the same attempt (same idempotency id); the rest were never claimed.
            #expect(try await fixture.store.rows(sql: "SELECT COUNT(*) FROM outbox WHERE lease_until > \(fixture.clock.now.timeIntervalSince1970)") == [["0"]])
            let next = ScriptedTransport(name: "sendgrid")
            let summary = try await Dispatcher(
                channel: .email, store: fixture.store, transports: [next], retryPolicy: RetryPolicy(), clock: fixture.clock
            ).drain()
            #expect(summary.sent == 30 && summary.reclaimed == 5)
            let first = Dictionary(uniqueKeysWithValues: sendgrid.received.map { ($0.notificationID, $0.idempotencyID) })
            for message in next.messages where first[message.notificationID] != nil {
                #expect(message.idempotencyID == first[message.notificationID])
            }
            #expect(try await fixture.store.eventCounts()["released"] == 5)
        }
    }

    @Test func stoppingWhileWaitingForTheRateLimitGivesTheClaimBackUncounted() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 4)
            try await fixture.plan([.email])
            // SendGrid asked for 60 s of quiet (a storm of 429s with Retry-After).
            let gates = ProviderGates()
            gates.record(GatedDispatchTests.storm(retryAfter: .seconds(60)), for: "sendgrid", at: fixture.clock.now)
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let dispatcher = Dispatcher(
                channel: .email, store: fixture.store, transports: [sendgrid], retryPolicy: RetryPolicy(), clock: fixture.clock,
                configuration: .init(groupSize: 5, idlePoll: .seconds(3600)), routing: routing, gates: gates, signal: fixture.signal
            )
            let stopped = try await withThrowingTaskGroup(of: Dispatcher.Summary.self) { group in
                group.addTask { await dispatcher.run() }
                // Claimed, and waiting at the limiter until the Retry-After has passed.
                try await fixture.clock.waitForSleeper(until: fixture.clock.now.addingTimeInterval(60))
                #expect(try await fixture.states() == ["email:sending": 4])
                fixture.signal.stop(deadline: fixture.clock.now.addingTimeInterval(10))
                return try await group.next()!
            }
            #expect(stopped.released == 4 && stopped.sent == 0)
            #expect(sendgrid.messages.isEmpty)
            // Never handed to the provider: free at once, the attempt not counted.
            let rows = try await fixture.store.rows(sql: "SELECT n.state, n.attempts, o.attempts, COALESCE(o.lease_until, 'free') FROM notifications n JOIN outbox o ON o.notification_id = n.id")
            #expect(rows == Array(repeating: ["planned", "0", "0", "free"], count: 4))
            let again = try await fixture.store.claim(channel: .email, limit: 4, leaseOwner: "w2", lease: .seconds(60), at: fixture.clock.now)
            #expect(again.count == 4 && again.allSatisfy { $0.message.attempt == 1 && !$0.wasInFlight })
        }
    }

    /// Runs `service` while `body` runs, then stops it and waits for it to return.
    func withRunning(_ service: DeliveryService, _ fixture: Fixture, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            fixture.signal.stop(deadline: fixture.clock.now)
            try await group.next()
        }
    }
}

/// Polls `condition` in real time until it holds (the code under test runs on other tasks).
func waitUntil(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let start = ContinuousClock.now
    while try await !condition() {
        guard ContinuousClock.now - start < timeout else { throw ManualClockError(message: "condition not met within \(timeout)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// The outbox of a SQLite store whose first lease renewal hangs until the test lets it through:
/// a store busy with other writers, as the dispatcher's periodic renewal meets it.
final class LateRenewalStore: OutboxStore {
    let store: SQLiteStore
    private let state = Mutex((renewals: 0, open: false))

    init(_ store: SQLiteStore) {
        self.store = store
    }

    /// Renewals asked for so far.
    var renewals: Int { state.withLock { $0.renewals } }

    func letRenewalsThrough() {
        state.withLock { $0.open = true }
    }

    func renewLeases(of notificationIDs: [Int64], owner: String, lease: Duration, at now: Date) async throws -> Set<Int64> {
        let first = state.withLock { state in
            state.renewals += 1
            return state.renewals == 1
        }
        while first, !state.withLock({ $0.open }) { try await Task.sleep(for: .milliseconds(2)) }
        return try await store.renewLeases(of: notificationIDs, owner: owner, lease: lease, at: now)
    }

    func leases(channel: Channel, at now: Date) async throws -> (count: Int, until: Date?) {
        try await store.leases(channel: channel, at: now)
    }

    func claim(
        channel: Channel, providers: ProviderSelection, limit: Int, leaseOwner: String, lease: Duration, throttles: [String: RateLiteral], at now: Date
    ) async throws -> [ClaimedNotification] {
        try await store.claim(channel: channel, providers: providers, limit: limit, leaseOwner: leaseOwner, lease: lease, throttles: throttles, at: now)
    }

    func nextClaimable(channel: Channel, providers: ProviderSelection, throttles: [String: RateLiteral], at now: Date) async throws -> NextClaimable {
        try await store.nextClaimable(channel: channel, providers: providers, throttles: throttles, at: now)
    }

    func release(_ claimed: [ClaimedNotification], wasHandedOver: Bool, at now: Date) async throws {
        try await store.release(claimed, wasHandedOver: wasHandedOver, at: now)
    }

    func resolve(_ results: [(ClaimedNotification, DeliveryResolution)], at now: Date) async throws {
        try await store.resolve(results, at: now)
    }

    func nextDue(channel: Channel, providers: ProviderSelection) async throws -> Date? {
        try await store.nextDue(channel: channel, providers: providers)
    }

    func releaseLeases(at now: Date) async throws -> Int {
        try await store.releaseLeases(at: now)
    }
}
