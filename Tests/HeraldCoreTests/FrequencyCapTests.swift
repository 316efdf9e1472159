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
}
