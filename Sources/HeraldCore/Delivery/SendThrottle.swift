import Foundation

/// A campaign's `throttle` (`throttle: 2000/min`) at send time: how many of its notifications
/// may be claimed now, by every worker process on the database together, and when the next may.
///
/// The rate's interval of the clock (a minute from :00 for `/min`, aligned to 1970 as planning's
/// ``ThrottleSlots`` counts) is cut into slots: one a second, or as many as the rate allows
/// when it is under one a second (`50/h`: 50 slots of 72 s). The j-th slot of an interval takes
/// ⌊(j+1)·count/slots⌋ − ⌊j·count/slots⌋ sends, at least one: `2000/min` is 33 or 34 a second
/// and exactly 2,000 a minute. So no interval of the clock holds more than the rate, and a
/// backlog (every notification due at once after the workers were stopped) goes out evenly
/// instead of all at the start of each interval.
///
/// A pure value; the store keeps one ``SendLedger/Entry`` per campaign (a slot and how much of
/// it is used) and reads and writes it in the transaction that claims.
///
/// ```swift
/// let throttle = SendThrottle(rate: RateLiteral(count: 600, per: .minute))   // 10 a second
/// throttle.room(given: nil, at: now)                                            // 10
/// let entry = throttle.taking(10, given: nil, at: now)
/// throttle.room(given: entry, at: now)                                          // 0
/// throttle.nextRoom(given: entry, at: now)                                      // the next second
/// ```
public struct SendThrottle: Sendable, Hashable {
    public let rate: RateLiteral
    /// Slots per interval of the rate: the rate's count, at most one a second.
    public let slotsPerInterval: Int

    public init(rate: RateLiteral) {
        self.rate = rate
        slotsPerInterval = max(1, min(rate.count, Int(rate.per.seconds)))
    }

    /// The length of one slot, in seconds (what a ledger entry is kept for).
    public var slotSeconds: Double { rate.per.seconds / Double(slotsPerInterval) }

    /// The slot holding `instant`, numbered from 1970.
    public func slot(at instant: Date) -> Int64 {
        Int64((instant.timeIntervalSince1970 * Double(slotsPerInterval) / rate.per.seconds).rounded(.down))
    }

    /// An instant in `slot` at (or within a rounding step after) its start: one that
    /// ``slot(at:)`` surely places in it, so that a dispatcher woken there finds the slot begun.
    public func start(ofSlot slot: Int64) -> Date {
        var instant = Date(timeIntervalSince1970: Double(slot) * rate.per.seconds / Double(slotsPerInterval))
        while self.slot(at: instant) < slot {
            instant = Date(timeIntervalSinceReferenceDate: instant.timeIntervalSinceReferenceDate.nextUp)
        }
        return instant
    }

    /// How many sends `slot` takes: its share of the interval's count, at least one.
    public func quota(ofSlot slot: Int64) -> Int {
        let slots = Int64(slotsPerInterval)
        let index = ((slot % slots) + slots) % slots
        // Full-width arithmetic: (index + 1) · count overflows 64 bits for an absurd count.
        func share(_ part: Int64) -> Int64 {
            slots.dividingFullWidth(part.multipliedFullWidth(by: Int64(rate.count))).quotient
        }
        return Int(share(index + 1) - share(index))
    }

    /// The slot the ledger counts in at `now`: the current one, or a later one that a process
    /// whose clock runs ahead has started (so that a slot is never filled twice).
    func currentSlot(given entry: SendLedger.Entry?, at now: Date) -> (slot: Int64, used: Int) {
        let current = slot(at: now)
        guard let entry, entry.slotSeconds == slotSeconds, entry.slot >= current else { return (current, 0) }
        return (entry.slot, entry.used)
    }

    /// How many sends may be claimed at `now`, given the campaign's ledger entry.
    public func room(given entry: SendLedger.Entry?, at now: Date) -> Int {
        let (slot, used) = currentSlot(given: entry, at: now)
        return max(0, quota(ofSlot: slot) - used)
    }

    /// The ledger entry after `count` sends are claimed at `now`.
    public func taking(_ count: Int, given entry: SendLedger.Entry?, at now: Date) -> SendLedger.Entry {
        let (slot, used) = currentSlot(given: entry, at: now)
        return SendLedger.Entry(slotSeconds: slotSeconds, slot: slot, used: used + count)
    }

    /// When the next send may be claimed: `now` if there is room, else the start of the next slot.
    public func nextRoom(given entry: SendLedger.Entry?, at now: Date) -> Date {
        guard room(given: entry, at: now) == 0 else { return now }
        return start(ofSlot: currentSlot(given: entry, at: now).slot + 1)
    }
}
