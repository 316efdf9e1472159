import Foundation
import HeraldCore
import Testing

@Suite struct QuietHoursTests {
    static let night = QuietHours(from: TimeOfDay(hour: 21, minute: 0), to: TimeOfDay(hour: 8, minute: 0), then: .delay)

    static func decide(_ hours: QuietHours, _ due: String, _ zone: String) -> String {
        switch hours.decision(for: ISO8601.date(from: due)!, in: TimeZone(identifier: zone)!) {
        case .unchanged: "unchanged"
        case .dropped: "dropped"
        case .delayed(let until): "until " + ISO8601.string(from: until, in: TimeZone(identifier: zone)!)
        }
    }

    @Test(arguments: [
        // Seoul is UTC+9: 14:30Z is 23:30 there, quiet until 08:00 the next day.
        ("2026-12-01T14:30:00Z", "Asia/Seoul", "until 2026-12-02T08:00:00+09:00"),
        // 07:00 local is quiet too, until 08:00 the same day.
        ("2026-12-01T22:00:00Z", "Asia/Seoul", "until 2026-12-02T08:00:00+09:00"),
        // 08:00 is no longer quiet; 20:59 not yet.
        ("2026-12-01T23:00:00Z", "Asia/Seoul", "unchanged"),
        ("2026-12-01T11:59:00Z", "Asia/Seoul", "unchanged"),
        ("2026-12-01T12:00:00Z", "Asia/Seoul", "until 2026-12-02T08:00:00+09:00"),
        // The same instant is midday in New York.
        ("2026-12-01T14:30:00Z", "America/New_York", "unchanged"),
        // The night New York springs forward: 23:00 EST, quiet until 08:00 EDT.
        ("2026-03-08T04:00:00Z", "America/New_York", "until 2026-03-08T08:00:00-04:00"),
        // Year end: 22:00 on 31 December waits until the new year.
        ("2026-12-31T13:00:00Z", "Asia/Seoul", "until 2027-01-01T08:00:00+09:00"),
    ])
    func delaysToTheEndOfTheWindowOnTheRecipientsClock(due: String, zone: String, expected: String) {
        #expect(Self.decide(Self.night, due, zone) == expected)
    }

    @Test func aDaytimeWindowAndDropAndAnEmptyWindow() {
        let lunch = QuietHours(from: TimeOfDay(hour: 12, minute: 0), to: TimeOfDay(hour: 13, minute: 30), then: .drop)
        #expect(Self.decide(lunch, "2026-12-01T12:15:00Z", "UTC") == "dropped")
        #expect(Self.decide(lunch, "2026-12-01T13:30:00Z", "UTC") == "unchanged")
        #expect(Self.decide(lunch, "2026-12-01T11:59:59Z", "UTC") == "unchanged")
        let none = QuietHours(from: TimeOfDay(hour: 9, minute: 0), to: TimeOfDay(hour: 9, minute: 0), then: .drop)
        #expect(Self.decide(none, "2026-12-01T09:00:00Z", "UTC") == "unchanged")
        // A window ending in a DST gap (02:30 does not exist in New York on 2026-03-08) ends at 03:30 EDT.
        let early = QuietHours(from: TimeOfDay(hour: 1, minute: 0), to: TimeOfDay(hour: 2, minute: 30), then: .delay)
        #expect(Self.decide(early, "2026-03-08T06:30:00Z", "America/New_York") == "until 2026-03-08T03:30:00-04:00")
    }
}

@Suite struct ThrottleTests {
    /// 7,000 sends wanted at 12:00:30 at 2000/min: each takes the first instant whose minute of
    /// the clock has room, so no minute gets more than 2,000 and the spill starts at :00.
    @Test func noMinuteOfTheClockHasMoreThanTheRate() {
        let start = Date(timeIntervalSince1970: 1_800_000_030)  // 30 s into a minute
        var slots = ThrottleSlots(rate: RateLiteral(count: 2000, per: .minute))
        var dues: [Date] = []
        for _ in 0..<7000 {
            let due = slots.firstFree(atOrAfter: start)
            slots.reserve(1, at: due)
            dues.append(due)
        }
        let perMinute = Dictionary(grouping: dues) { Int($0.timeIntervalSince1970 / 60) }.mapValues(\.count)
        #expect(perMinute.values.sorted() == [1000, 2000, 2000, 2000])
        #expect(dues[0] == start && dues[1999] == start)
        #expect(dues[2000] == Date(timeIntervalSince1970: 1_800_000_060))
        // A push to several devices is one group: it goes whole into the first second with room.
        var small = ThrottleSlots(rate: RateLiteral(count: 3, per: .second))
        small.reserve(2, at: start)
        #expect(small.firstFree(atOrAfter: start, count: 2) == start.addingTimeInterval(1))
        #expect(small.firstFree(atOrAfter: start, count: 1) == start)
    }
}
