import Foundation
import HeraldCore
import Logging

/// Delivers one channel's outbox: claims due rows with a lease, re-checks consent, hands each to
/// its provider's transport with bounded concurrency, and records every outcome.
///
/// The lease makes a crash safe: a claim that is never resolved becomes claimable again when its
/// lease runs out, and is recorded as `reclaimed` (the only case in which a send may repeat).
public struct Dispatcher: Sendable {
    public struct Configuration: Sendable {
        /// Rows claimed per transaction. Default 200.
        public var batchSize: Int
        /// Sends in flight at once. Default 32.
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
    let logger: Logger

    public init(
        channel: Channel,
        store: any Store,
        transports: [any Transport],
        retryPolicy: RetryPolicy,
        clock: any WallClock,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "herald.dispatcher")
    ) {
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

    /// Sends with at most `concurrency` in flight; results come back in claim order.
    func send(_ claimed: [ClaimedNotification]) async -> [(ClaimedNotification, DeliveryResolution)] {
        await withTaskGroup(of: (Int, DeliveryResolution).self) { group in
            var results = [DeliveryResolution?](repeating: nil, count: claimed.count)
            var next = 0
            func start() {
                let index = next
                let item = claimed[index]
                next += 1
                group.addTask { (index, await self.deliver(item)) }
            }
            while next < min(configuration.concurrency, claimed.count) { start() }
            for await (index, resolution) in group {
                results[index] = resolution
                if next < claimed.count { start() }
            }
            return zip(claimed, results).map { ($0, $1 ?? .retry(at: clock.now, reason: "no result")) }
        }
    }

    /// One send: the last consent and address checks, then the transport, then the retry policy.
    func deliver(_ item: ClaimedNotification) async -> DeliveryResolution {
        let message = item.message
        // Opt-out wins: a preference changed after planning stops the send here.
        guard item.preferences.allows(channel: message.channel, category: item.category) else {
            return .skipped(.optedOut, detail: "opted out after planning")
        }
        guard !message.address.isEmpty else {
            return .skipped(.noAddress, detail: "device deactivated after planning")
        }
        guard let transport = transports[message.provider] else {
            return .skipped(.noProvider, detail: "no transport for provider '\(message.provider)'")
        }
        let outcome = await transport.send(message)
        return retryPolicy.resolve(outcome, of: message, at: clock.now, jitter: Self.jitter(for: message))
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
