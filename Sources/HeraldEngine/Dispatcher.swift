import Foundation
import HeraldContent
import HeraldCore
import Logging

/// Delivers one channel's outbox: claims due rows with a lease, re-checks consent, hands the
/// batch to the transports (one call per provider, so that a provider taking several recipients
/// per request can batch them), and records every outcome.
///
/// The lease makes a crash safe: a claim that is never resolved becomes claimable again when its
/// lease runs out, and is recorded as `reclaimed` (the only case in which a send may repeat).
public struct Dispatcher: Sendable {
    public struct Configuration: Sendable {
        /// Rows claimed per transaction. Default 200.
        public var batchSize: Int
        /// Provider groups of one batch sent at once. Default 32. Each transport bounds its own
        /// requests in flight.
        public var concurrency: Int
        /// How long a claim is held before another dispatcher may take it over. Default 5 minutes.
        public var lease: Duration
        /// Who holds the leases, for diagnosing stuck rows; unique per dispatcher so that a late
        /// outcome is told from the current holder's. Default `herald-<pid>-<random>`.
        public var leaseOwner: String

        public init(
            batchSize: Int = 200, concurrency: Int = 32, lease: Duration = .seconds(300),
            leaseOwner: String = "herald-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        ) {
            self.batchSize = batchSize
            self.concurrency = concurrency
            self.lease = lease
            self.leaseOwner = leaseOwner
        }
    }

    /// Counts of what a run of the dispatcher did.
    public struct Summary: Sendable, Hashable {
        public var sent = 0
        public var retried = 0
        public var failed = 0
        public var skipped = 0
        public var reclaimed = 0

        public init() {}
    }

    public let channel: Channel
    let store: any Store
    let transports: [String: any Transport]
    let retryPolicy: RetryPolicy
    let clock: any WallClock
    let configuration: Configuration
    let unsubscribeLinks: UnsubscribeLinks?
    /// herald.yml's `channels:`: the failover order of SMS and email providers.
    let routing: ChannelRouting?
    let logger: Logger

    /// - Parameters:
    ///   - unsubscribeLinks: signs each message's `unsubscribeURL` (the same link the planner
    ///     rendered into `{{unsubscribe_url}}`); `nil` without `tracking:`.
    ///   - routing: the failover order (`channels.sms`, `channels.email`); a message that its
    ///     provider could not take goes to the next one. `nil`: no failover.
    public init(
        channel: Channel,
        store: any Store,
        transports: [any Transport],
        retryPolicy: RetryPolicy,
        clock: any WallClock,
        configuration: Configuration = Configuration(),
        unsubscribeLinks: UnsubscribeLinks? = nil,
        routing: ChannelRouting? = nil,
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
        self.logger = logger
    }

    /// Claims and sends batches until no row of this channel is due now. Rows scheduled for later
    /// (retries) stay in the outbox.
    public func drain() async throws -> Summary {
        var summary = Summary()
        while try await dispatchBatch(into: &summary) > 0 {}
        return summary
    }

    /// Claims one batch, sends it and records the outcomes; returns how many rows it claimed.
    @discardableResult
    public func dispatchBatch(into summary: inout Summary) async throws -> Int {
        let claimed = try await store.claim(
            channel: channel, limit: configuration.batchSize, leaseOwner: configuration.leaseOwner,
            lease: configuration.lease, at: clock.now
        )
        guard !claimed.isEmpty else { return 0 }
        let results = await send(claimed)
        try await store.resolve(results, at: clock.now)
        for (item, resolution) in results {
            if item.wasInFlight { summary.reclaimed += 1 }
            switch resolution {
            case .sent: summary.sent += 1
            case .retry: summary.retried += 1
            case .failed, .dead: summary.failed += 1
            case .skipped, .optedOutAtProvider: summary.skipped += 1
            }
        }
        return claimed.count
    }

    /// Sends a claimed batch: the last checks per row, then one `send` per provider with the rows
    /// it carries (at most `concurrency` providers at once); results come back in claim order.
    func send(_ claimed: [ClaimedNotification]) async -> [(ClaimedNotification, DeliveryResolution)] {
        var results = [DeliveryResolution?](repeating: nil, count: claimed.count)
        var groups: [(transport: any Transport, indexes: [Int])] = []
        var groupIndex: [String: Int] = [:]
        for (index, item) in claimed.enumerated() {
            if let skip = check(item) {
                results[index] = skip
                continue
            }
            let provider = item.message.provider
            if let existing = groupIndex[provider] {
                groups[existing].indexes.append(index)
            } else if let transport = transports[provider] {
                groupIndex[provider] = groups.count
                groups.append((transport, [index]))
            }
        }
        await withTaskGroup(of: [(Int, DeliveryResolution)].self) { group in
            var next = 0
            func start() {
                let (transport, indexes) = groups[next]
                next += 1
                let messages = indexes.map { prepared(claimed[$0].message) }
                group.addTask { await self.deliver(messages, at: indexes, through: transport) }
            }
            while next < min(max(configuration.concurrency, 1), groups.count) { start() }
            for await resolved in group {
                for (index, resolution) in resolved { results[index] = resolution }
                if next < groups.count { start() }
            }
        }
        return zip(claimed, results).map { ($0, $1 ?? .retry(at: clock.now, reason: "no result")) }
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

    /// The message with what the dispatcher adds: the signed unsubscribe link (the one the
    /// planner rendered: email and SMS have no device, and push renders once for every device).
    func prepared(_ message: OutboundMessage) -> OutboundMessage {
        var message = message
        if let unsubscribeLinks, message.unsubscribeURL == nil {
            message.unsubscribeURL = unsubscribeLinks.url(
                for: NotificationKey(occurrenceID: message.occurrenceID, userID: message.userID, channel: message.channel)
            )
        }
        return message
    }

    /// One provider's share of the batch: the transport, then the retry policy per outcome. A
    /// transport that answers with the wrong number of outcomes is a bug; the messages it left
    /// without one are retried rather than lost.
    func deliver(_ messages: [OutboundMessage], at indexes: [Int], through transport: any Transport) async -> [(Int, DeliveryResolution)] {
        var messages = messages
        var outcomes = await outcomes(of: messages, through: transport)
        // Failover: a message the provider could not take (a temporary failure or its own
        // misconfiguration, not a problem of the message or the recipient) goes to the next
        // provider of the channel at once; the one that takes it is recorded as its provider.
        var provider = transport.name
        while let next = nextProvider(after: provider, on: channel), let fallback = transports[next] {
            let failed = outcomes.indices.filter { outcomes[$0].isProviderFailure }
            guard !failed.isEmpty else { break }
            logger.warning("failing over", metadata: [
                "provider.name": "\(provider)", "provider.next": "\(next)", "messages": "\(failed.count)",
            ])
            let moved = failed.map { position -> OutboundMessage in
                var message = messages[position]
                message.provider = next
                return message
            }
            let retried = await self.outcomes(of: moved, through: fallback)
            for (position, (message, outcome)) in zip(failed, zip(moved, retried)) where !outcome.isProviderFailure || next == lastProvider(on: channel) {
                messages[position] = message
                outcomes[position] = outcome
            }
            provider = next
        }
        return messages.indices.map { position in
            let message = messages[position]
            return (indexes[position], retryPolicy.resolve(outcomes[position], of: message, at: clock.now, jitter: Self.jitter(for: message)))
        }
    }

    /// One outcome per message, whatever the transport returned.
    private func outcomes(of messages: [OutboundMessage], through transport: any Transport) async -> [DeliveryOutcome] {
        let outcomes = await transport.send(messages)
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

    func lastProvider(on channel: Channel) -> String? {
        failoverOrder(for: channel).last
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
        case .retry, .misconfigured: true
        case .accepted, .rejected, .deadAddress, .optedOut: false
        }
    }
}
