import Foundation
import HeraldContent
import HeraldCore
import Logging
import Synchronization

/// Delivers one channel's outbox, one lane per provider, so that a slow or failing provider
/// never holds up another.
///
/// A lane claims due rows of its provider with a lease (the claim marks them in flight, in the
/// same transaction), re-checks consent and expiry, hands them to the transport in small groups
/// (at most `concurrency` groups of the lane at once, and at most `concurrency` transport calls
/// at each provider, whichever lanes they come from; each within the provider's rate limit and
/// circuit breaker, and checked for expiry again after waiting for them), and records each
/// group's outcomes in one transaction as soon as they are known, so that a crash can repeat
/// only the sends that were at a provider. A claim takes a throttled campaign's rows only while
/// its send ledger in the store has room (``Configuration/campaignThrottles``: every process
/// counts in the same ledger); a row held back is left as it is, and a lane with nothing it may
/// claim sleeps until a row comes due or a throttle has room again. The lease is renewed while a
/// batch is slow. A row whose lease ran out without an outcome (a crash) is claimed again as
/// `reclaimed`, with the same attempt number and therefore the same idempotency id.
///
/// ``drain()`` delivers what is due now (waiting for throttles to let it go) and returns
/// (`herald deliver`); ``run()`` delivers until
/// told to stop (`herald worker`, `herald run`): it sleeps until the next row is due, a ring of
/// its ``WorkSignal`` or the idle poll interval, whichever comes first.
public struct Dispatcher: Sendable {
    public struct Configuration: Sendable {
        /// Rows claimed per lane per transaction. Default 200.
        public var batchSize: Int
        /// Groups of one lane at a provider at once, and transport calls at one provider at once
        /// across every lane of the process (unless ``ProviderGates/Configuration/concurrency``
        /// names the provider): groups failing over into a provider wait for its places. With
        /// `groupSize` it bounds the requests at a provider (32 by default, within the HTTP
        /// client's 64 connections per host). Default 4.
        public var concurrency: Int
        /// Messages handed to a transport in one call, whose outcomes are recorded in one
        /// transaction. Small, because a transport answers for its whole call at once: a crash
        /// can repeat at most the groups at a provider (`concurrency × groupSize` per lane). A
        /// transport that multiplexes requests (APNs) gets groups that fill its streams
        /// (``Transport/multiplexedRequests``). Default 8.
        public var groupSize: Int
        /// The most messages handed over together to a transport that sends several in one
        /// request (``Transport/batchKey(for:)``: SendGrid's personalizations), capping its
        /// ``Transport/batchLimit``. One such group is one request, so a crash still repeats only
        /// what was at the provider. Default 1,000.
        public var maximumBatch: Int
        /// How long a claim is held before another dispatcher may take it over; renewed every
        /// third of it while a batch is being sent. Default 60 seconds.
        public var lease: Duration
        /// Who holds the leases, for diagnosing stuck rows; unique per dispatcher so that a late
        /// outcome is told from the current holder's. Default `herald-<pid>-<random>`.
        public var leaseOwner: String
        /// How long an idle lane sleeps at most before looking again (rows planned by another
        /// process do not ring this process's signal). Default 1 second.
        public var idlePoll: Duration
        /// Told how long each claim took and how many rows it returned, for measurements
        /// (`herald bench deliver`). Default none.
        public var onClaim: (@Sendable (Duration, Int) -> Void)?
        /// Each throttled campaign's `throttle`, by campaign id. Planning spreads a campaign's due
        /// times over its rate; claims hold it at send time too, across every process on the
        /// database (the store's send ledger), so that a backlog (workers stopped for an hour)
        /// goes out at the campaign's rate, not the providers'. Default none.
        public var campaignThrottles: [String: RateLiteral] = [:]

        public init(
            batchSize: Int = 200, concurrency: Int = 4, groupSize: Int = 8, maximumBatch: Int = 1000, lease: Duration = .seconds(60),
            leaseOwner: String = "herald-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))",
            idlePoll: Duration = .seconds(1)
        ) {
            self.batchSize = batchSize
            self.concurrency = concurrency
            self.groupSize = groupSize
            self.maximumBatch = maximumBatch
            self.lease = lease
            self.leaseOwner = leaseOwner
            self.idlePoll = idlePoll
        }
    }

    /// Counts of what a run of the dispatcher did.
    public struct Summary: Sendable, Hashable {
        public var sent = 0
        public var retried = 0
        public var failed = 0
        public var skipped = 0
        public var reclaimed = 0
        /// Put back without counting an attempt (breaker open, provider misconfigured).
        public var postponed = 0
        /// Given back at shutdown without an outcome.
        public var released = 0

        public init() {}

        mutating func count(_ resolution: DeliveryResolution) {
            switch resolution {
            case .sent: sent += 1
            case .retry: retried += 1
            case .failed, .dead: failed += 1
            case .skipped, .optedOutAtProvider: skipped += 1
            case .postponed: postponed += 1
            }
        }

        public static func + (lhs: Summary, rhs: Summary) -> Summary {
            var sum = lhs
            sum.sent += rhs.sent
            sum.retried += rhs.retried
            sum.failed += rhs.failed
            sum.skipped += rhs.skipped
            sum.reclaimed += rhs.reclaimed
            sum.postponed += rhs.postponed
            sum.released += rhs.released
            return sum
        }
    }

    public let channel: Channel
    let store: any OutboxStore
    let transports: [String: any Transport]
    let retryPolicy: RetryPolicy
    let clock: any WallClock
    let configuration: Configuration
    let unsubscribeLinks: UnsubscribeLinks?
    /// herald.yml's `channels:`: the failover order of SMS and email providers.
    let routing: ChannelRouting?
    /// Rate limits and circuit breakers, shared by every dispatcher of the process.
    let gates: ProviderGates
    let signal: WorkSignal
    let logger: Logger

    /// - Parameters:
    ///   - unsubscribeLinks: signs each message's `unsubscribeURL` (the same link the planner
    ///     rendered into `{{unsubscribe_url}}`); `nil` without `tracking:`.
    ///   - routing: the failover order (`channels.sms`, `channels.email`); a message that its
    ///     provider could not take goes to the next one. `nil`: no failover.
    ///   - gates: the providers' rate limits and breakers; share one among the dispatchers of a
    ///     process. Default: no rate limits, default breakers.
    ///   - signal: rung when new work is planned in this process, and stopped at shutdown.
    public init(
        channel: Channel,
        store: any OutboxStore,
        transports: [any Transport],
        retryPolicy: RetryPolicy,
        clock: any WallClock,
        configuration: Configuration = Configuration(),
        unsubscribeLinks: UnsubscribeLinks? = nil,
        routing: ChannelRouting? = nil,
        gates: ProviderGates = ProviderGates(),
        signal: WorkSignal = WorkSignal(),
        logger: Logger = Logger(label: "herald.dispatcher")
    ) {
        self.unsubscribeLinks = unsubscribeLinks
        self.routing = routing
        self.channel = channel
        self.store = store
        self.transports = Dictionary(transports.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.retryPolicy = retryPolicy
        self.clock = clock
        self.configuration = configuration
        self.gates = gates
        self.signal = signal
        self.logger = logger
    }

    /// The lanes of this channel: one per provider that can carry it, and one for rows waiting
    /// for any other provider (renamed or removed from herald.yml), which are skipped as
    /// `no_provider` or failed over.
    var lanes: [ProviderSelection] {
        var providers = failoverOrder(for: channel)
        if channel == .push { providers += (routing?.push.values).map(Array.init) ?? [] }
        providers += transports.keys.sorted()
        var seen = Set<String>()
        let named = providers.filter { seen.insert($0).inserted }
        return named.map { ProviderSelection.only($0) } + [.except(named)]
    }

    /// Claims and sends until no row of this channel is due now, every provider's lane at once.
    /// Rows scheduled for later (retries, postponed sends) stay in the outbox.
    public func drain() async throws -> Summary {
        try await withThrowingTaskGroup(of: Summary.self) { group in
            for lane in lanes {
                group.addTask { try await runLane(lane, untilIdle: true) }
            }
            return try await group.reduce(Summary(), +)
        }
    }

    /// Delivers until the signal stops: each lane claims what is due, and otherwise sleeps until
    /// its next row is due, the signal rings, or `idlePoll` passes. On stop, a lane finishes the
    /// sends it holds (up to the signal's deadline, after which sends still at a provider are
    /// given back to be repeated with the same idempotency id) and gives back what it claimed but
    /// did not send. A store error is logged and retried after the idle poll interval.
    public func run() async -> Summary {
        await withTaskGroup(of: Summary.self) { group in
            for lane in lanes {
                group.addTask {
                    var summary = Summary()
                    while !signal.isStopping, !Task.isCancelled {
                        do {
                            summary = summary + (try await runLane(lane, untilIdle: false))
                        } catch {
                            logger.error("delivery failed; trying again", metadata: [
                                "channel": "\(channel.rawValue)", "lane": "\(lane)", "error": "\(error)",
                            ])
                            await sleep(until: clock.now.addingTimeInterval(configuration.idlePoll.timeInterval), orRingAfter: signal.generation)
                        }
                    }
                    return summary
                }
            }
            return await group.reduce(Summary(), +)
        }
    }

    /// One lane: keeps up to `concurrency` groups at its provider, claiming just enough rows to
    /// fill the free places (so that a slow request holds one place, not the lane), and records
    /// each group's outcomes as soon as they are known. Claimed groups wait in the lane until a
    /// place is free, so that no more than `concurrency` are ever at the provider. With
    /// `untilIdle` it returns once nothing is due and nothing is in flight; otherwise it sleeps
    /// then (see ``run()``) until stopped. The leases of what is still unresolved (waiting or at
    /// the provider) are renewed every third of the lease.
    func runLane(_ lane: ProviderSelection, untilIdle: Bool) async throws -> Summary {
        let width = max(configuration.concurrency, 1)
        let groupSize = laneGroupSize(lane)
        var sizing = ClaimSizing(group: groupSize, single: singleGroupSize(lane), most: max(configuration.batchSize, groupSize))
        let unresolved = UnresolvedClaims()
        return try await withThrowingTaskGroup(of: Summary?.self) { group in
            group.addTask {
                while true {
                    try await clock.sleep(until: clock.now.addingTimeInterval(configuration.lease.timeInterval / 3))
                    let ids = unresolved.ids
                    guard !ids.isEmpty else { continue }
                    let renewedAt = clock.now
                    let renewed = try await store.renewLeases(of: ids, owner: configuration.leaseOwner, lease: configuration.lease, at: renewedAt)
                    // Only what the store extended is held longer; a lease that ended may be
                    // another dispatcher's claim now, and its rows are not sent from here.
                    unresolved.extend(renewed, until: renewedAt.addingTimeInterval(configuration.lease.timeInterval))
                    logger.debug("renewed leases", metadata: ["channel": "\(channel.rawValue)", "renewed": "\(renewed.count)", "of": "\(ids.count)"])
                }
            }
            var summary = Summary()
            var inFlight = 0
            var waiting: [[ClaimedNotification]] = []
            while true {
                var claimedNothing = false
                // Due rows that a campaign's throttle holds back: `untilIdle` waits for them.
                var heldBack = false
                while !signal.isStopping {
                    while inFlight < width, !waiting.isEmpty {
                        let items = waiting.removeFirst()
                        inFlight += 1
                        group.addTask {
                            let part = try await deliver(items, holding: unresolved)
                            unresolved.remove(items.map(\.message.notificationID))
                            return part
                        }
                    }
                    guard inFlight < width else { break }
                    let generation = signal.generation
                    // The lane's provider takes nothing now (breaker open, its probe out, paused),
                    // nor does any it would fail over to: what the lane claimed would only be
                    // postponed, a write and an event each, the whole backlog at every look. It
                    // waits instead.
                    if !untilIdle, let held = heldAlongFailover(lane) {
                        if inFlight == 0 {
                            let poll = clock.now.addingTimeInterval(configuration.idlePoll.timeInterval)
                            await sleep(until: min(held, poll), orRingAfter: generation)
                        }
                        break
                    }
                    let started = ContinuousClock.now
                    // The lease runs from this instant, whenever the store gets to the claim.
                    let claimedAt = clock.now
                    let limit = sizing.limit(free: width - inFlight)
                    let claimed = try await store.claim(
                        channel: channel, providers: lane, limit: limit,
                        leaseOwner: configuration.leaseOwner, lease: configuration.lease, throttles: configuration.campaignThrottles, at: claimedAt
                    )
                    configuration.onClaim?(ContinuousClock.now - started, claimed.count)
                    guard !claimed.isEmpty else {
                        claimedNothing = true
                        if inFlight == 0 {
                            // Sleeps until a claim can take something: a row comes due, or a
                            // throttled campaign's ledger has room again (no spinning on rows it
                            // holds back, nor on rows another process has leased).
                            let next = try await store.nextClaimable(channel: channel, providers: lane, throttles: configuration.campaignThrottles, at: clock.now)
                            heldBack = next.isHeldBack
                            if !untilIdle || heldBack {
                                let poll = clock.now.addingTimeInterval(configuration.idlePoll.timeInterval)
                                await sleep(until: min(next.at ?? poll, poll), orRingAfter: generation)
                            }
                        }
                        break
                    }
                    summary.reclaimed += claimed.filter(\.wasInFlight).count
                    let (groups, skipped, roomLeft) = split(claimed, into: groupSize)
                    sizing.learn(claimed: claimed.count, limit: limit, groups: groups.count, roomLeft: roomLeft)
                    try await store.resolve(skipped, at: clock.now)
                    for (_, resolution) in skipped { summary.count(resolution) }
                    let heldUntil = claimedAt.addingTimeInterval(configuration.lease.timeInterval)
                    for items in groups { unresolved.insert(items.map(\.message.notificationID), heldUntil: heldUntil) }
                    waiting += groups
                }
                if signal.isStopping, !waiting.isEmpty {
                    // Claimed but never handed to a provider: free at once, the attempt not counted.
                    let items = waiting.flatMap { $0 }
                    waiting = []
                    try await store.release(items, wasHandedOver: false, at: clock.now)
                    unresolved.remove(items.map(\.message.notificationID))
                    summary.released += items.count
                }
                if inFlight == 0 {
                    if untilIdle, (claimedNothing && !heldBack) || signal.isStopping { break }
                    if signal.isStopping || Task.isCancelled { break }
                    continue
                }
                // The renewal task never finishes on its own; every other task returns a summary.
                while let finished = try await group.next() {
                    guard let part = finished else { continue }
                    inFlight -= 1
                    summary = summary + part
                    break
                }
            }
            group.cancelAll()
            return summary
        }
    }

    /// Until when neither the lane's provider nor any provider after it in the failover order
    /// takes a send (the first of them to take one again); nil when one of them would take one
    /// now, or the lane is not one provider's.
    func heldAlongFailover(_ lane: ProviderSelection) -> Date? {
        guard case .only(let first) = lane, transports[first] != nil else { return nil }
        let now = clock.now
        var provider: String? = first
        var earliest: Date?
        while let candidate = provider {
            if transports[candidate] != nil {
                guard let held = gates.heldUntil(candidate, at: now) else { return nil }
                earliest = min(earliest ?? held, held)
            }
            provider = nextProvider(after: candidate, on: channel)
        }
        return earliest
    }

    /// The most rows a lane hands over at once: the transport's batch (capped by
    /// `maximumBatch`) when its provider sends several messages per request, else a group of
    /// single messages (``groupSize(for:)``).
    func laneGroupSize(_ lane: ProviderSelection) -> Int {
        guard case .only(let provider) = lane, let transport = transports[provider] else { return max(configuration.groupSize, 1) }
        guard transport.batchLimit > 1 else { return groupSize(for: transport) }
        return max(groupSize(for: transport), min(transport.batchLimit, max(configuration.maximumBatch, 1)))
    }

    /// The group of single-message requests of a lane (``groupSize(for:)`` of its provider).
    func singleGroupSize(_ lane: ProviderSelection) -> Int {
        guard case .only(let provider) = lane, let transport = transports[provider] else { return max(configuration.groupSize, 1) }
        return groupSize(for: transport)
    }

    /// Messages sent one per request handed to `transport` in one call: `groupSize`, or more for
    /// a transport that multiplexes many requests on one connection, so that the lane's
    /// `concurrency` groups fill its streams (APNs' 300 streams: 4 groups of 75). A crash can
    /// repeat what is at the provider, which is then the transport's own bound. At most 128.
    func groupSize(for transport: (any Transport)?) -> Int {
        let small = max(configuration.groupSize, 1)
        guard let streams = transport?.multiplexedRequests, streams > 0 else { return small }
        let width = max(configuration.concurrency, 1)
        return min(max(small, (streams + width - 1) / width), max(small, 128))
    }

    /// Sleeps on the clock until `deadline`, or until the signal rings after `generation`.
    func sleep(until deadline: Date, orRingAfter generation: UInt64) async {
        guard deadline > clock.now else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(until: deadline) }
            group.addTask { await signal.wait(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    /// The claimed rows that must not be sent (the last checks), and the rest in groups of one
    /// provider: the messages its transport sends in one request together (equal
    /// ``Transport/batchKey(for:)``, up to its batch limit and `maximumBatch`), each other
    /// message in groups of at most `groupSize`. `roomLeft`: a batch could have taken more of
    /// the claim's rows (the content is shared; a larger claim would fill it).
    func split(_ claimed: [ClaimedNotification], into groupSize: Int) -> (
        groups: [[ClaimedNotification]], skipped: [(ClaimedNotification, DeliveryResolution)], roomLeft: Bool
    ) {
        var skipped: [(ClaimedNotification, DeliveryResolution)] = []
        var byProvider: [String: [ClaimedNotification]] = [:]
        for item in claimed {
            if let skip = check(item) {
                skipped.append((item, skip))
            } else {
                byProvider[item.message.provider, default: []].append(item)
            }
        }
        var groups: [[ClaimedNotification]] = []
        var roomLeft = false
        for provider in byProvider.keys.sorted() {
            let items = byProvider[provider]!
            let small = self.groupSize(for: transports[provider])
            guard let transport = transports[provider], transport.batchLimit > 1 else {
                for start in stride(from: 0, to: items.count, by: small) {
                    groups.append(Array(items[start..<min(start + small, items.count)]))
                }
                continue
            }
            let limit = max(1, min(transport.batchLimit, configuration.maximumBatch, max(groupSize, small)))
            var batches: [AnyHashable: Int] = [:]
            var alone: [ClaimedNotification] = []
            for item in items {
                guard let key = transport.batchKey(for: prepared(item.message)) else {
                    alone.append(item)
                    continue
                }
                if let index = batches[key], groups[index].count < limit {
                    groups[index].append(item)
                } else {
                    batches[key] = groups.count
                    groups.append([item])
                }
            }
            roomLeft = roomLeft || batches.values.contains { groups[$0].count < limit }
            for start in stride(from: 0, to: alone.count, by: small) {
                groups.append(Array(alone[start..<min(start + small, alone.count)]))
            }
        }
        return (groups, skipped, roomLeft)
    }

    /// One group of one provider: routed through its gate (or a fallback's), sent, and recorded
    /// in one transaction.
    func deliver(_ items: [ClaimedNotification], holding claims: UnresolvedClaims) async throws -> Summary {
        var summary = Summary()
        switch await outcomes(of: items, holding: claims) {
        case .resolved(let resolved, let lost):
            try await store.resolve(resolved, at: clock.now)
            for (_, resolution) in resolved { summary.count(resolution) }
            if !lost.isEmpty {
                // Never handed to a provider: given back if still this dispatcher's (a no-op
                // for a row another dispatcher has claimed since), the attempt not counted.
                try await store.release(lost, wasHandedOver: false, at: clock.now)
                summary.released += lost.count
                logger.warning("claims ran out before their send; not sent from here", metadata: [
                    "channel": "\(channel.rawValue)", "notifications": "\(lost.count)",
                ])
            }
        case .notSent:
            // Stopping before the provider saw them: free at once, the attempt not counted.
            try await store.release(items, wasHandedOver: false, at: clock.now)
            summary.released += items.count
        case .abandoned:
            // The shutdown deadline passed while the provider had them: repeated after the
            // restart with the same idempotency id.
            try await store.release(items, wasHandedOver: true, at: clock.now)
            summary.released += items.count
        }
        return summary
    }

    /// How close to its end a claim is treated as ended: a tenth of the lease, for clocks of
    /// different machines that differ a little.
    var leaseMargin: TimeInterval { configuration.lease.timeInterval / 10 }

    /// Renews the claims among `ids` whose lease ends within twice ``leaseMargin``, at once:
    /// those the store still holds for this dispatcher are held a whole lease longer. A store
    /// error renews nothing (the claims then count as ended, and are not sent from here).
    func renewExpiring(_ ids: [Int64], holding claims: UnresolvedClaims) async {
        let now = clock.now
        let expiring = ids.filter { !claims.holds($0, at: now, margin: 2 * leaseMargin) }
        guard !expiring.isEmpty else { return }
        do {
            let renewed = try await store.renewLeases(of: expiring, owner: configuration.leaseOwner, lease: configuration.lease, at: now)
            claims.extend(renewed, until: now.addingTimeInterval(configuration.lease.timeInterval))
        } catch {
            logger.warning("cannot renew claims about to run out", metadata: ["channel": "\(channel.rawValue)", "error": "\(error)"])
        }
    }

    enum GroupResult {
        /// The outcomes, and the claims whose lease ran out before their send (not sent: the
        /// rows may be another dispatcher's by then).
        case resolved([(ClaimedNotification, DeliveryResolution)], lost: [ClaimedNotification])
        /// Stopping before any provider saw the group.
        case notSent
        /// Stopping, and the deadline passed while a provider had the group.
        case abandoned
    }

    /// The last consent and address checks before a send: a resolution when the row must not go.
    func check(_ item: ClaimedNotification) -> DeliveryResolution? {
        let message = item.message
        // Never sent late: past its expiry (`expires_after`), a notification is worthless.
        if let expiresAt = message.expiresAt, expiresAt <= clock.now {
            return .skipped(.expired, detail: "not sent by its expiry at \(ISO8601.string(from: expiresAt))")
        }
        // Opt-out wins: a preference changed after planning stops the send here.
        guard item.preferences.allows(channel: message.channel, category: item.category) else {
            return .skipped(.optedOut, detail: "opted out after planning")
        }
        guard !message.address.isEmpty else {
            return .skipped(.noAddress, detail: "device deactivated after planning")
        }
        guard transports[message.provider] != nil else {
            return .skipped(.noProvider, detail: "no transport for provider '\(message.provider)'")
        }
        return nil
    }

    /// The message with what the dispatcher adds: an email's signed unsubscribe link (the one
    /// the planner rendered), for its List-Unsubscribe header. Push and SMS carry a link only in
    /// their rendered text, and their transports never read this one: signing it for each push
    /// cost a twentieth of a push's time.
    func prepared(_ message: OutboundMessage) -> OutboundMessage {
        guard message.channel == .email else { return message }
        var message = message
        if let unsubscribeLinks, message.unsubscribeURL == nil {
            message.unsubscribeURL = unsubscribeLinks.url(
                for: NotificationKey(occurrenceID: message.occurrenceID, userID: message.userID, channel: message.channel)
            )
        }
        return message
    }

    /// The group's resolutions: sent through its provider when the provider's gate admits it,
    /// else through the next provider of the channel's failover order that does; a message that a
    /// provider could not take (a temporary failure or its own misconfiguration, not a problem of
    /// the message or the recipient) moves on to the next provider at once. The provider that
    /// takes a message is recorded as its provider. A message no provider would admit (breakers
    /// open, no fallback) is postponed without counting the attempt. `.abandoned` when the
    /// shutdown deadline passed while a provider had the group.
    func outcomes(of items: [ClaimedNotification], holding claims: UnresolvedClaims) async -> GroupResult {
        var messages = items.map { prepared($0.message) }
        var outcomes = [DeliveryOutcome?](repeating: nil, count: items.count)
        /// Resolved without a provider's answer: expired while waiting to be sent.
        var skipped = [DeliveryResolution?](repeating: nil, count: items.count)
        /// What each provider passed over answered (``ClaimedNotification/failovers``), added
        /// when the next provider takes the message.
        var failovers = [[String]](repeating: [], count: items.count)
        var pending = Array(items.indices)
        /// Claims that ran out while waiting: not sent from here again. One that a provider
        /// before had answered is resolved with that answer (the provider had it); the rest are
        /// given back as never handed over.
        var lost = Set<Int>()
        /// The provider whose answer is in `outcomes`.
        var answeredBy = [String?](repeating: nil, count: items.count)
        var heldUntil: Date?
        var heldBecause: [String] = []
        let first = messages[0].provider
        var candidates = [first]
        var provider = first
        while let next = nextProvider(after: provider, on: channel) {
            candidates.append(next)
            provider = next
        }
        for (position, candidate) in candidates.enumerated() where !pending.isEmpty {
            guard let transport = transports[candidate] else { continue }
            let now = clock.now
            if case .held(let until, let reason) = gates.admit(candidate, at: now) {
                heldUntil = min(heldUntil ?? until, until)
                heldBecause.append("\(candidate): \(reason)")
                continue
            }
            if candidate != first {
                logger.debug("failing over", metadata: [
                    "provider.name": "\(first)", "provider.next": "\(candidate)", "messages": "\(pending.count)",
                ])
            }
            for index in pending {
                // A message with an outcome here failed at the provider before this one.
                if let answer = outcomes[index] {
                    let passed = messages[index].provider
                    // Named once: most reasons start with the provider already ("twilio 503: …").
                    failovers[index].append(answer.reason.hasPrefix(passed) ? answer.reason : "\(passed): \(answer.reason)")
                }
                messages[index].provider = candidate
            }
            // Given back if nothing is sent from here after all (it may be a half-open
            // breaker's probe, which would otherwise be out until another cool-down).
            var answered = false
            defer { if !answered { gates.unused(candidate) } }
            let isFirstRequest = pending.count == items.count && outcomes.allSatisfy { $0 == nil } && skipped.allSatisfy { $0 == nil }
            // One of the provider's places, shared with every lane that sends through it (its
            // own, and those failing over into it); given back when this candidate is done.
            do {
                try await gates.acquireCall(for: candidate, maximum: max(configuration.concurrency, 1), unlessStopping: signal)
            } catch {
                if isFirstRequest { return .notSent }
                return .abandoned
            }
            defer { gates.releaseCall(for: candidate) }
            do {
                try await gates.acquire(pending.count, for: candidate, clock: clock, unlessStopping: signal)
            } catch {
                if isFirstRequest { return .notSent }
                return .abandoned
            }
            if isFirstRequest, signal.isStopping { return .notSent }
            // A claim about to run out (its renewal is late: a store busy with other writers, a
            // claim that waited long for the store) is renewed now; the store extends only what
            // nobody else has claimed meanwhile.
            await renewExpiring(pending.map { items[$0].message.notificationID }, holding: claims)
            // The waits above can outlast a message's expiry (a Retry-After, a slow provider):
            // never sent late.
            let checkedAt = clock.now
            pending = pending.filter { index in
                // Nor after its claim ran out: another dispatcher may have taken it over and
                // sent it (a margin of a tenth of the lease covers clocks that differ a little).
                guard claims.holds(items[index].message.notificationID, at: checkedAt, margin: leaseMargin) else {
                    lost.insert(index)
                    return false
                }
                guard let expiresAt = messages[index].expiresAt, expiresAt <= checkedAt else { return true }
                skipped[index] = .skipped(.expired, detail: "not sent by its expiry at \(ISO8601.string(from: expiresAt))")
                return false
            }
            if pending.isEmpty { break }
            guard let answers = await outcomesUnlessAbandoned(of: pending.map { messages[$0] }, through: transport) else {
                return .abandoned
            }
            gates.record(answers, for: candidate, at: clock.now)
            answered = true
            let isLast = position == candidates.count - 1
            var failed: [Int] = []
            for (index, outcome) in zip(pending, answers) {
                outcomes[index] = outcome
                answeredBy[index] = candidate
                if outcome.isProviderFailure, !isLast { failed.append(index) }
            }
            pending = failed
        }
        let now = clock.now
        return .resolved(items.indices.filter { !lost.contains($0) || outcomes[$0] != nil }.map { index in
            var message = messages[index]
            var item = items[index]
            item.failovers = failovers[index]
            if lost.contains(index), let provider = answeredBy[index] {
                // Its claim ran out on the way to the next provider: the last answer is its
                // outcome, and no hop was made (the one noted on the way is taken back).
                message.provider = provider
                _ = item.failovers.popLast()
            }
            if let resolution = skipped[index] { return (item, resolution) }
            guard let outcome = outcomes[index] else {
                // No provider admitted it: wait for the first breaker to half-open.
                let until = heldUntil ?? now.addingTimeInterval(configuration.idlePoll.timeInterval)
                return (item, .postponed(at: until, reason: heldBecause.isEmpty ? "no provider could take it" : heldBecause.joined(separator: "; ")))
            }
            item.message.provider = message.provider
            if case .misconfigured(let reason) = outcome {
                // Credentials do not fix themselves by retrying: the attempt is not counted, and
                // the provider is paused until an operator can fix them.
                return (item, .postponed(at: now.addingTimeInterval(gates.misconfiguredPause.timeInterval), reason: "\(message.provider) misconfigured: \(reason)"))
            }
            return (item, retryPolicy.resolve(outcome, of: message, at: now, jitter: Self.jitter(for: message)))
        }, lost: lost.sorted().filter { outcomes[$0] == nil }.map { items[$0] })
    }

    /// The transport's outcomes, or nil when the shutdown deadline passes first.
    func outcomesUnlessAbandoned(of messages: [OutboundMessage], through transport: any Transport) async -> [DeliveryOutcome]? {
        await withTaskGroup(of: [DeliveryOutcome]?.self) { group in
            group.addTask { await outcomes(of: messages, through: transport) }
            group.addTask {
                await signal.waitUntilStopping()
                if let deadline = signal.stopsAt { try? await clock.sleep(until: deadline) }
                // Cancelled: the transport answered first, and this result is not read.
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// One outcome per message, whatever the transport returned.
    private func outcomes(of messages: [OutboundMessage], through transport: any Transport) async -> [DeliveryOutcome] {
        let started = ContinuousClock.now
        let outcomes = await transport.send(messages)
        DeliveryMetrics.record(outcomes, channel: channel, provider: transport.name, duration: ContinuousClock.now - started)
        if outcomes.count != messages.count {
            logger.error("transport returned a wrong number of outcomes", metadata: [
                "provider.name": "\(transport.name)", "messages": "\(messages.count)", "outcomes": "\(outcomes.count)",
            ])
        }
        return messages.indices.map { position in
            position < outcomes.count
                ? outcomes[position]
                : .retry(after: nil, reason: "the transport \(transport.name) returned no outcome for this message")
        }
    }

    /// The provider after `provider` in herald.yml's failover order for SMS and email.
    func nextProvider(after provider: String, on channel: Channel) -> String? {
        let order = failoverOrder(for: channel)
        guard let index = order.firstIndex(of: provider), index + 1 < order.count else { return nil }
        return order[index + 1]
    }

    func failoverOrder(for channel: Channel) -> [String] {
        switch channel {
        case .sms: routing?.sms ?? []
        case .email: routing?.email ?? []
        case .push: []
        }
    }

    /// A jitter fraction that differs between notifications and attempts but needs no random
    /// generator, so that runs are reproducible.
    static func jitter(for message: OutboundMessage) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(message.notificationID):\(message.attempt)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Double(hash % 10_000) / 10_000
    }
}

extension DeliveryOutcome {
    /// A failure of the provider rather than of the message or the recipient: worth another
    /// provider.
    var isProviderFailure: Bool {
        switch self {
        case .retry, .throttled, .misconfigured: true
        case .accepted, .rejected, .deadAddress, .optedOut: false
        }
    }
}

/// How many rows a lane claims at once: enough for the groups its free places can send, no more,
/// so that one worker does not hold (leased, unsent) what another could be sending.
///
/// A lane whose provider sends many messages in one request (SendGrid's personalizations)
/// cannot know how many of its rows share their content, so that they go as one batch, before it
/// claims them: it starts with a group of single messages per free place and learns from each
/// full claim. When a batch had room left (the rows shared their content), the next claims are
/// twice as large per place, up to the batch limit; when every group was full (personal mail,
/// one request per message), they are as large as those groups were. For other lanes it is the
/// group size per free place, capped by `most`.
struct ClaimSizing: Sendable, Hashable {
    /// The most rows in one group (a batch's limit, or the group of single messages).
    let group: Int
    /// The group of single-message requests.
    let single: Int
    /// The most rows in one claim.
    let most: Int
    /// Rows one free place is expected to send in one group.
    private(set) var perPlace: Int

    init(group: Int, single: Int, most: Int) {
        self.group = max(group, 1)
        self.single = min(max(single, 1), self.group)
        self.most = max(most, 1)
        perPlace = self.single
    }

    /// Rows to claim with `free` places free (at least one row).
    func limit(free: Int) -> Int {
        max(1, min(most, max(free, 1) * perPlace))
    }

    /// Learns from a claim of `limit` rows that returned `claimed`, in `groups` groups.
    mutating func learn(claimed: Int, limit: Int, groups: Int, roomLeft: Bool) {
        // A claim that took less than it asked for emptied the outbox: it says nothing.
        guard claimed >= limit, groups > 0 else { return }
        let average = claimed / groups
        perPlace = roomLeft ? min(group, max(2 * perPlace, average)) : min(group, max(single, average))
    }
}

/// The claims of a lane still without a recorded outcome, whose leases are renewed, each with
/// the instant its lease is known to last until (the claim's or the last renewal's).
final class UnresolvedClaims: Sendable {
    private let state: Mutex<[Int64: Date]>

    init(_ claims: [Int64: Date] = [:]) {
        state = Mutex(claims)
    }

    var ids: [Int64] { state.withLock { Array($0.keys) } }

    func insert(_ ids: [Int64], heldUntil: Date) {
        state.withLock { claims in
            for id in ids { claims[id] = heldUntil }
        }
    }

    func remove(_ ids: [Int64]) {
        state.withLock { claims in
            for id in ids { claims[id] = nil }
        }
    }

    /// Extends the claims among `ids` that are still unresolved.
    func extend(_ ids: Set<Int64>, until: Date) {
        state.withLock { claims in
            for id in ids where claims[id] != nil { claims[id] = max(claims[id]!, until) }
        }
    }

    /// Whether the claim on `id` lasts past `now` by more than `margin` seconds.
    func holds(_ id: Int64, at now: Date, margin: TimeInterval) -> Bool {
        state.withLock { $0[id].map { $0.timeIntervalSince(now) > margin } ?? false }
    }
}
