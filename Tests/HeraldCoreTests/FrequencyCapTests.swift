import Foundation
import HeraldCore
import Testing

@Suite struct FrequencyCapTests {
    static let seoul = TimeZone(identifier: "Asia/Seoul")!

    static func entry(_ at: String, _ channel: Channel = .push, category: String = "marketing", campaign: String = "sale") -> CapEntry {
        CapEntry(at: ISO8601.date(from: at)!, channel: channel, category: category, campaignID: campaign)
    }

    @Test func aRollingWindowCountsTheLastDurationOnly() {
        let cap = FrequencyCap(max: 2, per: .rolling(DurationLiteral(amount: 1, unit: .days)))
        let history = [Self.entry("2026-12-01T09:00:00Z"), Self.entry("2026-12-01T20:00:00Z")]
        #expect(cap.isFull(adding: .push, category: "marketing", at: ISO8601.date(from: "2026-12-02T08:59:00Z")!, in: Self.seoul, history: history))
        #expect(!cap.isFull(adding: .push, category: "marketing", at: ISO8601.date(from: "2026-12-02T09:00:01Z")!, in: Self.seoul, history: history))
    }

    @Test func aCalendarDayIsTheRecipientsDay() {
        let cap = FrequencyCap(max: 1, per: .calendarDay, channel: .sms)
        // 14:00Z is 23:00 in Seoul; 15:30Z is 00:30 the next day there.
        let history = [Self.entry("2026-12-01T14:00:00Z", .sms)]
        #expect(cap.isFull(adding: .sms, category: "marketing", at: ISO8601.date(from: "2026-12-01T14:59:00Z")!, in: Self.seoul, history: history))
        #expect(!cap.isFull(adding: .sms, category: "marketing", at: ISO8601.date(from: "2026-12-01T15:30:00Z")!, in: Self.seoul, history: history))
        // In UTC both are the same day.
        #expect(cap.isFull(adding: .sms, category: "marketing", at: ISO8601.date(from: "2026-12-01T15:30:00Z")!, in: TimeZone(identifier: "UTC")!, history: history))
        // Another channel does not count against an SMS cap.
        #expect(!cap.isFull(adding: .push, category: "marketing", at: ISO8601.date(from: "2026-12-01T14:59:00Z")!, in: Self.seoul, history: history))
    }

    @Test func aCalendarWeekStartsOnMonday() {
        let cap = FrequencyCap(max: 1, per: .calendarWeek)
        // 2026-12-06 is a Sunday, 2026-12-07 a Monday.
        let start = cap.windowStart(for: ISO8601.date(from: "2026-12-06T12:00:00Z")!, in: TimeZone(identifier: "UTC")!)
        #expect(start == ISO8601.date(from: "2026-11-30T00:00:00Z"))
        #expect(cap.windowStart(for: ISO8601.date(from: "2026-12-07T00:00:00Z")!, in: TimeZone(identifier: "UTC")!) == ISO8601.date(from: "2026-12-07T00:00:00Z"))
        let history = [Self.entry("2026-12-06T10:00:00Z")]
        #expect(cap.isFull(adding: .email, category: "marketing", at: ISO8601.date(from: "2026-12-06T12:00:00Z")!, in: TimeZone(identifier: "UTC")!, history: history))
        #expect(!cap.isFull(adding: .email, category: "marketing", at: ISO8601.date(from: "2026-12-07T00:00:00Z")!, in: TimeZone(identifier: "UTC")!, history: history))
    }

    @Test func transactionalIsNeverCappedAndCategoriesAndCampaignsNarrowACap() {
        let cap = FrequencyCap(max: 1, per: .rolling(DurationLiteral(amount: 7, unit: .days)), category: "newsletter")
        let now = ISO8601.date(from: "2026-12-02T00:00:00Z")!
        let utc = TimeZone(identifier: "UTC")!
        let history = [Self.entry("2026-12-01T00:00:00Z", category: "marketing"), Self.entry("2026-12-01T01:00:00Z", category: "transactional")]
        #expect(!cap.isFull(adding: .push, category: "newsletter", at: now, in: utc, history: history))
        #expect(cap.isFull(adding: .push, category: "newsletter", at: now, in: utc, history: history + [Self.entry("2026-12-01T02:00:00Z", category: "newsletter")]))
        #expect(!cap.isFull(adding: .push, category: "transactional", at: now, in: utc, history: history + [Self.entry("2026-12-01T02:00:00Z", category: "newsletter")]))
        let own = FrequencyCap(max: 1, per: .rolling(DurationLiteral(amount: 7, unit: .days)))
        #expect(!own.isFull(adding: .push, category: "marketing", at: now, in: utc, history: history, campaignID: "other"))
        #expect(own.isFull(adding: .push, category: "marketing", at: now, in: utc, history: history, campaignID: "sale"))
    }

    // MARK: - Calendar periods across clock changes

    static let newYork = TimeZone(identifier: "America/New_York")!

    /// A day in New York when the clocks change, as instants: its first minute (local
    /// midnight), 00:30 and 23:30 on it, 23:55 the day before and 00:05 the day after.
    struct ChangeDay: Sendable, CustomTestStringConvertible {
        var name: String
        var midnight: String
        var early: String
        var late: String
        var dayBefore: String
        var dayAfter: String
        var hours: Double
        var testDescription: String { name }
    }

    @Test(arguments: [
        // 2026-03-08 has 23 hours: EST (-05:00) until 02:00, EDT (-04:00) after.
        ChangeDay(
            name: "2026-03-08, 23 hours", midnight: "2026-03-08T05:00:00Z", early: "2026-03-08T05:30:00Z", late: "2026-03-09T03:30:00Z",
            dayBefore: "2026-03-08T04:55:00Z", dayAfter: "2026-03-09T04:05:00Z", hours: 23
        ),
        // 2026-11-01 has 25 hours: EDT until 02:00, EST after, so 23:30 is exactly 24 hours after 00:30.
        ChangeDay(
            name: "2026-11-01, 25 hours", midnight: "2026-11-01T04:00:00Z", early: "2026-11-01T04:30:00Z", late: "2026-11-02T04:30:00Z",
            dayBefore: "2026-11-01T03:55:00Z", dayAfter: "2026-11-02T05:05:00Z", hours: 25
        ),
    ])
    func aCalendarDayIsTheRecipientsLocalDayWhenItHas23Or25Hours(_ change: ChangeDay) {
        let cap = FrequencyCap(max: 1, per: .calendarDay)
        func isFull(at instant: String, after slot: String) -> Bool {
            cap.isFull(adding: .email, category: "marketing", at: ISO8601.date(from: instant)!, in: Self.newYork, history: [Self.entry(slot, .email)])
        }
        // 00:30 and 23:30 on the same local day count together, whichever was planned first.
        #expect(isFull(at: change.late, after: change.early))
        #expect(isFull(at: change.early, after: change.late))
        // Just after the next local midnight is the next day, and just before this one the day before.
        #expect(!isFull(at: change.dayAfter, after: change.late))
        #expect(!isFull(at: change.dayAfter, after: change.early))
        #expect(!isFull(at: change.dayBefore, after: change.early))
        #expect(!isFull(at: change.late, after: change.dayAfter))
        #expect(!isFull(at: change.early, after: change.dayBefore))
        // The day starts at local midnight and lasts until the next one: 23 or 25 hours.
        let start = cap.windowStart(for: ISO8601.date(from: change.late)!, in: Self.newYork)
        #expect(start == ISO8601.date(from: change.midnight))
        let next = cap.windowStart(for: ISO8601.date(from: change.dayAfter)!, in: Self.newYork)
        #expect(next.timeIntervalSince(start) == change.hours * 3600)
    }

    /// Weeks run Monday to Sunday (README: "`calendar_week` (Monday to Sunday)"), on the
    /// recipient's clock.
    @Test func aCalendarWeekRunsMondayToSundayOnTheRecipientsClock() {
        let cap = FrequencyCap(max: 1, per: .calendarWeek)
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        func isFull(at instant: String, after slot: String, in zone: TimeZone) -> Bool {
            cap.isFull(adding: .push, category: "marketing", at: ISO8601.date(from: instant)!, in: zone, history: [Self.entry(slot)])
        }
        // Sunday 2026-12-06 23:30 in Tokyo is 14:30Z; Monday 00:10 there is 15:10Z, still Sunday in UTC.
        #expect(!isFull(at: "2026-12-06T15:10:00Z", after: "2026-12-06T14:30:00Z", in: tokyo))
        #expect(isFull(at: "2026-12-06T15:10:00Z", after: "2026-12-06T14:30:00Z", in: TimeZone(identifier: "UTC")!))
        // Monday 00:10 and the next Sunday 23:50 in Tokyo are one week; the Monday after is the next.
        #expect(isFull(at: "2026-12-13T14:50:00Z", after: "2026-12-06T15:10:00Z", in: tokyo))
        #expect(!isFull(at: "2026-12-13T15:00:00Z", after: "2026-12-06T15:10:00Z", in: tokyo))
        // From a Wednesday, the week started on Monday at midnight in Tokyo (Sunday 15:00Z).
        #expect(cap.windowStart(for: ISO8601.date(from: "2026-12-09T03:00:00Z")!, in: tokyo) == ISO8601.date(from: "2026-12-06T15:00:00Z"))

        // New York's week of Monday 2026-10-26 ends on Sunday 2026-11-01, the 25-hour day: it
        // lasts 7 days and an hour, so Sunday 23:30 EST is in it although exactly 7 days after
        // Monday 00:30 EDT.
        #expect(isFull(at: "2026-11-02T04:30:00Z", after: "2026-10-26T04:30:00Z", in: Self.newYork))
        #expect(isFull(at: "2026-10-26T04:30:00Z", after: "2026-11-02T04:30:00Z", in: Self.newYork))
        #expect(!isFull(at: "2026-11-02T05:05:00Z", after: "2026-10-26T04:30:00Z", in: Self.newYork))
        #expect(cap.windowStart(for: ISO8601.date(from: "2026-11-02T04:30:00Z")!, in: Self.newYork) == ISO8601.date(from: "2026-10-26T04:00:00Z"))
    }
}
