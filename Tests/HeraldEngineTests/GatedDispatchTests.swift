import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import HeraldTesting
import Testing

/// What the gates in front of each provider do to a dispatcher, in virtual time over a real
/// SQLite file: the bound on calls at a provider that failing-over lanes share, the breaker that
/// sends traffic to the fallback or postpones it, and expiry after waiting at the rate limiter.
@Suite(.timeLimit(.minutes(4)))
struct GatedDispatchTests {
    typealias Fixture = DeliveryServiceTests.Fixture

    static let sms = ChannelRouting(sms: ["twilio", "vonage"])
    static let down = DeliveryOutcome.retry(after: nil, reason: "503 Service Unavailable")

    func dispatcher(
        _ fixture: Fixture, _ channel: Channel, _ transports: [any Transport], routing: ChannelRouting, gates: ProviderGates,
        concurrency: Int = 4, throttles: [String: RateLiteral] = [:], store: SQLiteStore? = nil
    ) -> Dispatcher {
        var configuration = Dispatcher.Configuration(concurrency: concurrency, groupSize: 5, idlePoll: .seconds(3600))
        configuration.campaignThrottles = throttles
        return Dispatcher(
            channel: channel, store: store ?? fixture.store, transports: transports,
            retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)),
            clock: fixture.clock, configuration: configuration, routing: routing, gates: gates, signal: fixture.signal
        )
    }

    /// Twilio is down, so its lane's groups fail over into Vonage, which has a lane of its own:
    /// together they never have more calls at Vonage than its bound (the lanes' `concurrency`).
    @Test func lanesFailingOverIntoAProviderShareItsPlaces() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 20)
            try await fixture.plan([.sms], id: "sale", routing: Self.sms)
            try await fixture.plan([.sms], id: "news", routing: ChannelRouting(sms: ["vonage"]))
            let twilio = ScriptedTransport(name: "twilio", fallback: Self.down)
            let vonage = GatedTransport(name: "vonage")
            let gates = ProviderGates()
            let dispatcher = dispatcher(fixture, .sms, [twilio, vonage], routing: Self.sms, gates: gates)
            let summary = try await withThrowingTaskGroup(of: Dispatcher.Summary.self) { group in
                group.addTask { try await dispatcher.drain() }
                // Each lane has its four groups out (20 rows in groups of 5): at Vonage, or waiting
                // for one of its places.
                try await waitUntil { vonage.waitingCalls + gates.calls(of: "vonage").waiting == 8 }
                try await Task.sleep(for: .milliseconds(200))
                #expect(vonage.waitingCalls == 4, "calls at Vonage")
                #expect(gates.calls(of: "vonage") == (inFlight: 4, waiting: 4))
                vonage.open()
                return try await group.next()!
            }
            #expect(vonage.mostConcurrentCalls == 4)
            #expect(summary.sent == 40)
            #expect(try await fixture.store.rows(sql: "SELECT provider, state, COUNT(*) FROM notifications GROUP BY 1, 2") == [["vonage", "sent", "40"]])
            #expect(gates.calls(of: "vonage") == (inFlight: 0, waiting: 0), "every place was given back")
            #expect(gates.calls(of: "twilio") == (inFlight: 0, waiting: 0))
        }
    }

    /// A waiter for a place that is cancelled leaves the line without taking one, and a place
    /// freed afterwards goes to the next in line.
    @Test func aCancelledWaitForAPlaceLeaksNothing() async throws {
        let gates = ProviderGates(configuration: .init(concurrency: ["vonage": 1]))
        let signal = WorkSignal()
        try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: signal)
        let waiter = Task { try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: signal) }
        try await waitUntil { gates.calls(of: "vonage").waiting == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gates.calls(of: "vonage") == (inFlight: 1, waiting: 0))
        gates.releaseCall(for: "vonage")
        #expect(gates.calls(of: "vonage") == (inFlight: 0, waiting: 0))
        // Stopping the signal ends a wait the same way.
        try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: signal)
        let stopped = Task { try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: signal) }
        try await waitUntil { gates.calls(of: "vonage").waiting == 1 }
        signal.stop(deadline: Date())
        await #expect(throws: CancellationError.self) { try await stopped.value }
        gates.releaseCall(for: "vonage")
        #expect(gates.calls(of: "vonage") == (inFlight: 0, waiting: 0))
    }

    /// A place given back goes to the first in line.
    @Test func aPlaceGivenBackGoesToTheFirstInLine() async throws {
        let gates = ProviderGates(configuration: .init(concurrency: ["vonage": 1]))
        let signal = WorkSignal()
        try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: signal)
        let waiter = Task { try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: signal) }
        try await waitUntil { gates.calls(of: "vonage").waiting == 1 }
        gates.releaseCall(for: "vonage")
        try await waiter.value
        #expect(gates.calls(of: "vonage") == (inFlight: 1, waiting: 0))
        gates.releaseCall(for: "vonage")
        #expect(gates.calls(of: "vonage") == (inFlight: 0, waiting: 0))
    }

    /// Five failures in a row open Twilio's breaker: the next group goes to Vonage without
    /// calling Twilio.
    @Test func anOpenBreakerSendsTheNextGroupToTheFallbackWithoutCallingTheProvider() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 10)
            try await fixture.plan([.sms], routing: Self.sms)
            let twilio = ScriptedTransport(name: "twilio", fallback: Self.down)
            let vonage = ScriptedTransport(name: "vonage")
            let gates = ProviderGates()
            // One group of 5 at a time: the first fails at Twilio (and fails over), the second
            // finds the breaker open.
            let summary = try await dispatcher(fixture, .sms, [twilio, vonage], routing: Self.sms, gates: gates, concurrency: 1).drain()
            #expect(twilio.batches.map(\.count) == [5])
            #expect(vonage.batches.map(\.count) == [5, 5])
            #expect(summary.sent == 10 && summary.retried == 0 && summary.postponed == 0)
            #expect(try await fixture.store.rows(sql: "SELECT provider, state, COUNT(*) FROM notifications GROUP BY 1, 2") == [["vonage", "sent", "10"]])
            #expect(gates.health(at: fixture.clock.now).filter { $0.provider == "twilio" }.map(\.breaker) == ["open"])
        }
    }

    /// With no provider to fail over to, rows that find the breaker open wait for it to
    /// half-open, without their attempt counted.
    @Test func anOpenBreakerWithoutAFallbackPostponesUntilItHalfOpens() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 10)
            try await fixture.plan([.email])
            let sendgrid = ScriptedTransport(name: "sendgrid", fallback: Self.down)
            let gates = ProviderGates()
            let email = ChannelRouting(email: ["sendgrid"])
            let summary = try await dispatcher(fixture, .email, [sendgrid], routing: email, gates: gates, concurrency: 1).drain()
            #expect(sendgrid.messages.count == 5, "the second group never reached the provider")
            #expect(summary.retried == 5 && summary.postponed == 5)
            let halfOpen = fixture.clock.now.addingTimeInterval(30)
            let rows = try await fixture.store.rows(sql: """
                SELECT n.state, n.attempts, o.attempts, o.due_at FROM notifications n JOIN outbox o ON o.notification_id = n.id
                WHERE n.id IN (SELECT notification_id FROM events WHERE type = 'postponed') ORDER BY n.id
                """)
            #expect(rows == Array(repeating: ["planned", "0", "0", "\(halfOpen.timeIntervalSince1970)"], count: 5))
            let reasons = try await fixture.store.rows(sql: "SELECT DISTINCT detail FROM events WHERE type = 'postponed'")
            #expect(reasons.count == 1 && reasons[0][0].contains("circuit breaker open"), "\(reasons)")
            // Half open, the breaker lets them through again, as their first attempt.
            fixture.clock.set(halfOpen)
            let again = try await fixture.store.claim(channel: .email, limit: 10, leaseOwner: "next", lease: .seconds(60), at: fixture.clock.now)
            let postponedIDs = Set(try await fixture.store.rows(sql: "SELECT notification_id FROM events WHERE type = 'postponed'").compactMap { Int64($0[0]) })
            #expect(again.filter { postponedIDs.contains($0.message.notificationID) }.map(\.message.attempt) == Array(repeating: 1, count: 5))
        }
    }

    /// A running worker whose provider's breaker is open, with no provider to fail over to,
    /// claims nothing until the cool-down ends (claimed, the rows would only be postponed, each
    /// with a write and an event, the whole backlog at every look); then they go.
    @Test func aRunningLaneWhoseBreakerIsOpenWaitsWithoutClaimingThenSends() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 4)
            try await fixture.plan([.email])
            let gates = ProviderGates()
            let opened = fixture.clock.now
            gates.record(Array(repeating: Self.down, count: 5), for: "sendgrid", at: opened)
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let lane = dispatcher(fixture, .email, [sendgrid], routing: ChannelRouting(email: ["sendgrid"]), gates: gates)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = await lane.run() }
                try await fixture.clock.waitForSleeper(until: opened.addingTimeInterval(30))
                #expect(try await fixture.states() == ["email:planned": 4])
                #expect(try await fixture.store.eventCounts()["postponed"] == nil)
                fixture.clock.set(opened.addingTimeInterval(30))
                try await waitUntil { try await fixture.states() == ["email:sent": 4] }
                fixture.signal.stop(deadline: fixture.clock.now)
                try await group.next()
            }
            #expect(sendgrid.messages.count == 4)
            #expect(try await fixture.store.eventCounts()["postponed"] == nil)
        }
    }

    /// The same for a lane with a fallback, while the fallback's breaker is open too: nothing
    /// would take the rows. Once Twilio's cool-down ends, it takes them.
    @Test func aRunningLaneWhoseProviderAndFallbackAreBothHeldWaitsWithoutClaiming() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 4)
            try await fixture.plan([.sms], routing: Self.sms)
            let gates = ProviderGates()
            let opened = fixture.clock.now
            gates.record(Array(repeating: Self.down, count: 5), for: "twilio", at: opened)
            gates.record(Array(repeating: Self.down, count: 5), for: "vonage", at: opened.addingTimeInterval(10))
            let twilio = ScriptedTransport(name: "twilio")
            let vonage = ScriptedTransport(name: "vonage")
            let lanes = dispatcher(fixture, .sms, [twilio, vonage], routing: Self.sms, gates: gates)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = await lanes.run() }
                try await fixture.clock.waitForSleeper(until: opened.addingTimeInterval(30))
                #expect(try await fixture.states() == ["sms:planned": 4])
                fixture.clock.set(opened.addingTimeInterval(30))
                try await waitUntil { try await fixture.states() == ["sms:sent": 4] }
                fixture.signal.stop(deadline: fixture.clock.now)
                try await group.next()
            }
            #expect(twilio.messages.count == 4 && vonage.messages.isEmpty)
            #expect(try await fixture.store.eventCounts()["postponed"] == nil)
        }
    }

    /// A message whose provider failed goes on only to a provider that takes it: with Vonage's
    /// breaker open, Twilio's failure is the outcome, and no hop is recorded.
    @Test func noFailoverIsRecordedWhenTheNextProviderIsHeld() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 2)
            try await fixture.plan([.sms], routing: Self.sms)
            let gates = ProviderGates()
            gates.record(Array(repeating: Self.down, count: 5), for: "vonage", at: fixture.clock.now)
            let twilio = ScriptedTransport(name: "twilio", fallback: Self.down)
            let vonage = ScriptedTransport(name: "vonage")
            let summary = try await dispatcher(fixture, .sms, [twilio, vonage], routing: Self.sms, gates: gates).drain()
            #expect(summary.retried == 2 && vonage.messages.isEmpty)
            let trail = try await fixture.store.rows(sql: "SELECT type, COALESCE(detail, '') FROM events WHERE type NOT IN ('planned', 'sending') ORDER BY id")
            #expect(trail == Array(repeating: ["retry_scheduled", "503 Service Unavailable"], count: 2))
        }
    }

    /// Twilio could not take the messages, and their claim ran out while they waited for
    /// Vonage's one place: another worker has taken the rows over, so they are not sent from
    /// here. Twilio had them, so its answer is their outcome (a late one: the other worker's
    /// stands), with no hop to Vonage in the trail, and they are not given back as never sent.
    @Test func aClaimThatRunsOutOnTheWayToTheFallbackKeepsTheFirstProvidersAnswer() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 2)
            try await fixture.plan([.sms], routing: Self.sms)
            let gates = ProviderGates(configuration: ProviderGates.Configuration(concurrency: ["vonage": 1]))
            // Another lane's call holds Vonage's place.
            try await gates.acquireCall(for: "vonage", maximum: 4, unlessStopping: WorkSignal())
            let twilio = ScriptedTransport(name: "twilio", fallback: Self.down)
            let vonage = ScriptedTransport(name: "vonage")
            let dispatcher = dispatcher(fixture, .sms, [twilio, vonage], routing: Self.sms, gates: gates)
            let summary = try await withThrowingTaskGroup(of: Dispatcher.Summary.self) { group in
                group.addTask { try await dispatcher.drain() }
                try await waitUntil { gates.calls(of: "vonage").waiting == 1 }
                // The 60-second lease ends, and another worker claims both rows.
                fixture.clock.advance(by: 70)
                let other = try await fixture.store.claim(channel: .sms, limit: 10, leaseOwner: "other", lease: .seconds(60), at: fixture.clock.now)
                #expect(other.count == 2)
                gates.releaseCall(for: "vonage")
                return try await group.next()!
            }
            #expect(twilio.messages.count == 2 && vonage.messages.isEmpty)
            #expect(summary.released == 0 && summary.sent == 0)
            let trail = try await fixture.store.rows(sql: "SELECT type, COALESCE(detail, '') FROM events WHERE type NOT IN ('planned', 'sending') ORDER BY id")
            #expect(trail.map { $0[0] } == ["reclaimed", "reclaimed", "late_outcome", "late_outcome"], "\(trail)")
            #expect(trail.suffix(2).allSatisfy { $0[1].contains("retry(") && $0[1].contains("503 Service Unavailable") }, "\(trail)")
            // The other worker's claim is untouched: the rows are its to send.
            #expect(try await fixture.states() == ["sms:sending": 2])
        }
    }

    /// A Retry-After storm holds the claimed rows at the rate limiter past their expiry: they are
    /// skipped as expired when the wait ends, never sent late.
    @Test func aMessageHeldAtTheRateLimiterPastItsExpiryIsSkippedNotSent() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 4)
            let planner = Planner(store: fixture.store, renderer: ClosureRenderer.simple, routing: routing, clock: fixture.clock)
            let flash = Campaign(
                id: "flash", channels: [.email], delivery: .all, template: "flash", schedule: .manual,
                expiresAfter: DurationLiteral(amount: 10, unit: .seconds), file: "campaigns/flash.yml"
            )
            _ = try await planner.plan(flash, fireAt: fixture.clock.now)
            let gates = ProviderGates()
            gates.record(Self.storm(retryAfter: .seconds(60)), for: "sendgrid", at: fixture.clock.now)
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let dispatcher = dispatcher(fixture, .email, [sendgrid], routing: routing, gates: gates)
            let summary = try await withThrowingTaskGroup(of: Dispatcher.Summary.self) { group in
                group.addTask { try await dispatcher.drain() }
                // Claimed before their expiry, then held until the Retry-After has passed.
                try await fixture.clock.waitForSleeper(until: fixture.clock.now.addingTimeInterval(60))
                #expect(try await fixture.states() == ["email:sending": 4])
                fixture.clock.advance(by: 120)
                return try await group.next()!
            }
            #expect(sendgrid.messages.isEmpty)
            #expect(summary.skipped == 4 && summary.sent == 0)
            let rows = try await fixture.store.rows(sql: "SELECT state, reason FROM notifications")
            #expect(rows == Array(repeating: ["skipped", "expired"], count: 4))
        }
    }

    /// A throttled campaign's backlog (every notification due at once, as after an hour with the
    /// workers stopped) goes out at the campaign's rate, not the provider's, from two workers
    /// (two store connections, two sets of gates, as two processes have) draining it at once:
    /// 30 emails at 10 a minute is one every 6 s between them, never more, and a campaign
    /// without a throttle on the same lane is not held up behind it.
    @Test func twoWorkersDrainAThrottledCampaignsBacklogAtItsRateBetweenThem() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try await Fixture(directory, users: 30)
            try await fixture.plan([.email], id: "sale")
            try await fixture.plan([.email], id: "receipt")
            let start = fixture.clock.now
            let throttles = ["sale": RateLiteral(count: 10, per: .minute)]
            let sendgrid = ScriptedTransport(name: "sendgrid")
            let workers = try (0..<2).map { _ in
                dispatcher(
                    fixture, .email, [sendgrid], routing: routing, gates: ProviderGates(), throttles: throttles,
                    store: try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
                )
            }
            let drains = workers.map { worker in Task { try await worker.drain() } }
            // Both have taken what they could before the clock moves: every receipt and one sale.
            try await waitUntil { sendgrid.messages.count == 31 }
            try await fixture.clock.waitForSleeper(until: start.addingTimeInterval(6))
            var samples: [(seconds: Double, sent: Int)] = []
            // The clock moves 2 s at a time once both workers sleep on it again and the slot's sale
            // has gone out, or a moment has passed (a loaded machine may starve the workers, and
            // a clock running ahead of them would let their leases lapse): slowness only makes the
            // counts lower, never higher.
            func sales() -> Int { sendgrid.messages.filter { $0.campaignID == "sale" }.count }
            for _ in 0..<400 where sendgrid.messages.count < 60 {
                let seconds = fixture.clock.now.timeIntervalSince(start)
                let due = min(30, Int(seconds / 6) + 1)
                let settled = ContinuousClock.now + .seconds(2)
                while ContinuousClock.now < settled, sendgrid.messages.count < 60,
                      fixture.clock.sleepingUntil.count < 2 || sales() < due {
                    try await Task.sleep(for: .milliseconds(5))
                }
                samples.append((seconds, sales()))
                fixture.clock.advance(by: 2)
            }
            var summary = Dispatcher.Summary()
            for drain in drains { summary = summary + (try await drain.value) }
            #expect(summary.sent == 60 && sendgrid.messages.count == 60)
            // The clock starts at a slot's start (1,800,000,000 is a multiple of 6).
            for sample in samples {
                #expect(sample.sent <= Int(sample.seconds / 6) + 1, "\(sample.sent) sent by \(sample.seconds) s")
            }
            let finished = fixture.clock.now.timeIntervalSince(start)
            #expect(finished >= 174, "30 at 10 a minute took \(finished) s")
            // Held back, the rows were never claimed: one attempt each, no release or postponement.
            #expect(summary.postponed == 0 && summary.released == 0)
            #expect(try await fixture.store.rows(sql: "SELECT DISTINCT attempts FROM notifications") == [["1"]])
        }
    }

    /// Answers of one second in which a tenth are 429s with `retryAfter`: enough to block the
    /// provider, not enough failures in a row to open its breaker.
    static func storm(retryAfter: Duration) -> [DeliveryOutcome] {
        Array(repeating: .throttled(after: retryAfter, reason: "429 Too Many Requests"), count: 4)
            + Array(repeating: .accepted(providerMessageID: "ok"), count: 36)
    }
}
