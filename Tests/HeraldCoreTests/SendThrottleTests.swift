import Foundation
import HeraldCore
import Testing

/// A campaign's throttle at send time, and the send ledger one claim sees: how many may go now
/// and when the next may, with no store and no sleeping.
struct SendThrottleTests {
    /// 2030-01-15T08:00:00Z: the start of a minute and of an hour.
    let minute = Date(timeIntervalSince1970: 1_894_608_000)

    @Test func aRateOfAtLeastOneASecondIsCutIntoSecondsThatShareTheIntervalsCountExactly() {
        let throttle = SendThrottle(rate: RateLiteral(count: 2000, per: .minute))
        #expect(throttle.slotsPerInterval == 60 && throttle.slotSeconds == 1)
        let first = throttle.slot(at: minute)
        let quotas = (0..<60).map { throttle.quota(ofSlot: first + Int64($0)) }
        #expect(quotas.reduce(0, +) == 2000)
        #expect(Set(quotas) == [33, 34])
        // The next minute shares its count the same way.
        #expect((60..<120).map { throttle.quota(ofSlot: first + Int64($0)) } == quotas)
        // A second within the minute: one slot.
        #expect(throttle.slot(at: minute.addingTimeInterval(0.999)) == first)
        #expect(throttle.slot(at: minute.addingTimeInterval(1)) == first + 1)
    }

    @Test func aRateUnderOneASecondGetsOneSendPerSlotSpreadOverTheInterval() {
        let hourly = SendThrottle(rate: RateLiteral(count: 50, per: .hour))
        #expect(hourly.slotsPerInterval == 50 && hourly.slotSeconds == 72)
        let first = hourly.slot(at: minute)
        #expect((0..<50).allSatisfy { hourly.quota(ofSlot: first + Int64($0)) == 1 })
        #expect(hourly.start(ofSlot: first + 1) == minute.addingTimeInterval(72))

        // 7 a minute: slots of 60/7 s, whose starts are not whole seconds; a start is always in
        // its slot, so that a dispatcher woken there finds room instead of sleeping again at once.
        let seven = SendThrottle(rate: RateLiteral(count: 7, per: .minute))
        let seventh = seven.slot(at: minute)
        for slot in seventh..<(seventh + 700) {
            let start = seven.start(ofSlot: slot)
            #expect(seven.slot(at: start) == slot, "slot \(slot) starts at \(start.timeIntervalSince1970)")
            #expect(start.timeIntervalSince1970 - Double(slot) * 60 / 7 < 1e-5)
        }
        // Per second and per day: the whole interval is one slot, or one slot per send.
        #expect(SendThrottle(rate: RateLiteral(count: 100, per: .second)).quota(ofSlot: 12) == 100)
        #expect(SendThrottle(rate: RateLiteral(count: 1000, per: .day)).slotSeconds == 86.4)
        // An absurd count neither overflows nor crashes.
        let huge = SendThrottle(rate: RateLiteral(count: Int.max, per: .day))
        #expect(huge.quota(ofSlot: huge.slot(at: minute)) > 0)
    }

    @Test func roomIsTheSlotsQuotaLessWhatTheLedgerUsedAndTheNextRoomIsTheNextSlot() {
        let throttle = SendThrottle(rate: RateLiteral(count: 600, per: .minute))
        let now = minute.addingTimeInterval(12.25)
        #expect(throttle.room(given: nil, at: now) == 10)
        #expect(throttle.nextRoom(given: nil, at: now) == now)
        let seven = throttle.taking(7, given: nil, at: now)
        #expect(seven == SendLedger.Entry(slotSeconds: 1, slot: throttle.slot(at: now), used: 7))
        #expect(throttle.room(given: seven, at: now) == 3)
        let full = throttle.taking(3, given: seven, at: now)
        #expect(throttle.room(given: full, at: now) == 0)
        #expect(throttle.nextRoom(given: full, at: now) == minute.addingTimeInterval(13))
        // The next second starts afresh; an entry counted with another slot length (the
        // campaign's throttle changed) counts for nothing.
        #expect(throttle.room(given: full, at: minute.addingTimeInterval(13)) == 10)
        #expect(throttle.room(given: SendLedger.Entry(slotSeconds: 72, slot: throttle.slot(at: now), used: 10), at: now) == 10)
        // A process whose clock runs ahead has started the next slot: this one counts in it too,
        // so that no slot is filled twice.
        let ahead = throttle.taking(4, given: nil, at: minute.addingTimeInterval(13.1))
        #expect(throttle.room(given: ahead, at: minute.addingTimeInterval(12.9)) == 6)
        #expect(throttle.taking(6, given: ahead, at: minute.addingTimeInterval(12.9)).slot == ahead.slot)
        #expect(throttle.nextRoom(given: throttle.taking(6, given: ahead, at: minute.addingTimeInterval(12.9)), at: minute.addingTimeInterval(12.9))
            == minute.addingTimeInterval(14))
    }

    /// `ledger.take(campaign)` `count` times, each answer in order (`#expect` cannot call a
    /// mutating method).
    func take(_ ledger: inout SendLedger, _ campaign: String, _ count: Int = 1, isExpired: Bool = false) -> [Bool] {
        (0..<count).map { _ in ledger.take(campaign, isExpired: isExpired) }
    }

    @Test func aLedgerTakesFromThrottledCampaignsWhileTheyHaveRoomAndAlwaysFromOthers() {
        let now = minute.addingTimeInterval(30)
        let sale = SendThrottle(rate: RateLiteral(count: 600, per: .minute))
        var ledger = SendLedger(
            throttles: ["sale": RateLiteral(count: 600, per: .minute), "digest": RateLiteral(count: 60, per: .minute)],
            entries: ["digest": sale.taking(0, given: nil, at: now), "sale": sale.taking(8, given: nil, at: now)], at: now
        )
        #expect(ledger.full.isEmpty)
        #expect(take(&ledger, "sale", 3) == [true, true, false], "10 this second")
        #expect(ledger.full == ["sale"])
        #expect(take(&ledger, "sale", isExpired: true) == [true], "an expired row takes no room: it is skipped, not sent")
        #expect(take(&ledger, "receipt", 2) == [true, true], "not throttled")
        #expect(take(&ledger, "digest", 2) == [true, false])
        #expect(ledger.full == ["digest", "sale"])
        #expect(ledger.nextRoom == minute.addingTimeInterval(31))
        #expect(ledger.changes == [
            "sale": SendLedger.Entry(slotSeconds: 1, slot: sale.slot(at: now), used: 10),
            "digest": SendLedger.Entry(slotSeconds: 1, slot: sale.slot(at: now), used: 1),
        ])
    }

    @Test func aClaimReadsTheLedgerAgainUnderItsLockAndPassesOverACampaignAnotherClaimHolds() {
        let now = minute
        let rate = RateLiteral(count: 600, per: .minute)
        let throttle = SendThrottle(rate: rate)
        var ledger = SendLedger(throttles: ["sale": rate, "news": rate], entries: [:], at: now)
        // Under the lock, another process has used 9 of this second's 10.
        ledger.update(["sale": throttle.taking(9, given: nil, at: now)])
        #expect(take(&ledger, "sale", 2) == [true, false])
        // What was taken is not replaced by an older read.
        ledger.update(["sale": throttle.taking(0, given: nil, at: now)])
        #expect(take(&ledger, "sale") == [false])
        ledger.withhold("news")
        #expect(take(&ledger, "news") == [false] && ledger.full == ["news", "sale"])
        #expect(ledger.changes.keys.sorted() == ["sale"])
        #expect(ledger.nextRoom == minute.addingTimeInterval(1))
        // No throttles: nothing is full, nothing waits.
        var free = SendLedger(throttles: [:], entries: [:], at: now)
        #expect(take(&free, "sale") == [true] && free.full.isEmpty && free.nextRoom == nil && free.changes.isEmpty)
    }
}
