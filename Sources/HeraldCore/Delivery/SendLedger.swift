import Foundation

/// The send ledger of throttled campaigns as one claim sees it: which campaigns have room now,
/// a send taken per row claimed, and the entries to write back in the same transaction.
///
/// The store reads the entries of the campaigns it is given throttles for, asks ``take(_:isExpired:)``
/// for each due row in due order (a row is claimed only when it says yes), and writes
/// ``changes``. Rows of a campaign without room are left in the outbox untouched: not leased,
/// no attempt counted. A row already past its expiry takes no room (the dispatcher skips it
/// without sending). Campaigns without a throttle always pass.
///
/// ```swift
/// var ledger = SendLedger(throttles: ["sale": RateLiteral(count: 600, per: .minute)], entries: [:], at: now)
/// ledger.take("sale")     // true, ten times in this second
/// ledger.take("sale")     // false: held back until the next second
/// ledger.take("news")     // true: not throttled
/// ledger.changes          // ["sale": Entry(slotSeconds: 1, slot: …, used: 10)]
/// ```
public struct SendLedger: Sendable {
    /// One campaign's row in the store: the slot last counted in, and the sends claimed in it.
    public struct Entry: Sendable, Hashable {
        /// The slot length it was counted with (``SendThrottle/slotSeconds``): a changed
        /// throttle starts counting afresh.
        public var slotSeconds: Double
        public var slot: Int64
        public var used: Int

        public init(slotSeconds: Double, slot: Int64, used: Int) {
            self.slotSeconds = slotSeconds
            self.slot = slot
            self.used = used
        }
    }

    public let throttles: [String: SendThrottle]
    public let now: Date
    public private(set) var entries: [String: Entry]
    /// Campaigns this claim may not take from whatever their entry says (their entry is being
    /// changed by another claim at this moment).
    private var withheld: Set<String> = []
    /// The campaigns ``take(_:isExpired:)`` counted a send for.
    private var taken: Set<String> = []

    public init(throttles: [String: RateLiteral], entries: [String: Entry], at now: Date) {
        self.throttles = throttles.mapValues(SendThrottle.init(rate:))
        self.entries = entries
        self.now = now
    }

    /// The throttled campaigns without room now, sorted: their rows are not claimed.
    public var full: [String] {
        throttles.keys.filter { withheld.contains($0) || throttles[$0]!.room(given: entries[$0], at: now) == 0 }.sorted()
    }

    /// Takes one send of `campaignID` if its throttle has room now (always for a campaign
    /// without one, and for a row past its expiry, which counts nothing): whether the row may be
    /// claimed.
    public mutating func take(_ campaignID: String, isExpired: Bool = false) -> Bool {
        guard let throttle = throttles[campaignID] else { return true }
        guard !withheld.contains(campaignID) else { return false }
        if isExpired { return true }
        guard throttle.room(given: entries[campaignID], at: now) > 0 else { return false }
        entries[campaignID] = throttle.taking(1, given: entries[campaignID], at: now)
        taken.insert(campaignID)
        return true
    }

    /// Replaces the entries of campaigns nothing was taken from yet with `fresh` ones (read
    /// again under a lock).
    public mutating func update(_ fresh: [String: Entry]) {
        for (campaign, entry) in fresh where !taken.contains(campaign) { entries[campaign] = entry }
    }

    /// Takes nothing more of `campaignID` in this claim.
    public mutating func withhold(_ campaignID: String) {
        withheld.insert(campaignID)
    }

    /// The entries to write back: those of campaigns a send was taken from.
    public var changes: [String: Entry] {
        entries.filter { taken.contains($0.key) }
    }

    /// When the first campaign in ``full`` has room again; nil when none is full.
    public var nextRoom: Date? {
        full.compactMap { campaign in withheld.contains(campaign) ? nil : throttles[campaign]!.nextRoom(given: entries[campaign], at: now) }.min()
    }
}
