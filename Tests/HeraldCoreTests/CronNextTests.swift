import Foundation
import HeraldCore
import Testing

/// `CronExpression.next(after:in:)`: the hard cases by table, and every answer against a search
/// minute by minute over the instants themselves.
@Suite struct CronNextTests {
    static func instant(_ text: String) -> Date {
        ISO8601.date(from: text)!
    }

    static func zone(_ name: String) -> TimeZone {
        TimeZone(identifier: name)!
    }

    /// The next `count` instants after `from`, as ISO 8601 in UTC.
    static func fires(_ cron: String, _ zone: String, from: String, count: Int = 3) throws -> [String] {
        let expression = try CronExpression(cron)
        var after = instant(from)
        var result: [String] = []
        for _ in 0..<count {
            guard let next = expression.next(after: after, in: Self.zone(zone)) else { break }
            result.append(ISO8601.string(from: next))
            after = next
        }
        return result
    }

    @Test(arguments: [
        // Every 15 minutes, across an hour.
        ("*/15 * * * *", "UTC", "2026-12-01T09:50:00Z", ["2026-12-01T10:00:00Z", "2026-12-01T10:15:00Z", "2026-12-01T10:30:00Z"]),
        // Strictly after: an instant that fires is not its own next.
        ("0 9 * * *", "UTC", "2026-12-01T09:00:00Z", ["2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z", "2026-12-04T09:00:00Z"]),
        // Feb 29 only in leap years.
        ("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"]),
        // Day 31 skips the short months.
        ("0 12 31 * *", "UTC", "2027-01-31T12:00:00Z", ["2027-03-31T12:00:00Z", "2027-05-31T12:00:00Z", "2027-07-31T12:00:00Z"]),
        // Both day fields restricted: either matches (the 1st, and every Monday).
        ("0 8 1 * MON", "UTC", "2026-12-01T08:00:00Z", ["2026-12-07T08:00:00Z", "2026-12-14T08:00:00Z", "2026-12-21T08:00:00Z"]),
        ("0 8 1 * MON", "UTC", "2026-12-28T08:00:00Z", ["2027-01-01T08:00:00Z", "2027-01-04T08:00:00Z", "2027-01-11T08:00:00Z"]),
        // A day field starting with * counts as unrestricted: no OR, the day must match both
        // fields (Vixie cron), and */2 still means the odd days: Mondays that fall on one.
        ("0 8 */2 * MON", "UTC", "2026-12-01T00:00:00Z", ["2026-12-07T08:00:00Z", "2026-12-21T08:00:00Z", "2027-01-11T08:00:00Z"]),
        ("0 0 */2 * *", "UTC", "2027-01-30T12:00:00Z", ["2027-01-31T00:00:00Z", "2027-02-01T00:00:00Z", "2027-02-03T00:00:00Z"]),
        ("0 0 * * */3", "UTC", "2026-12-01T00:00:00Z", ["2026-12-02T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-06T00:00:00Z"]),
        ("0 0 4-4 * *", "UTC", "2026-12-05T00:00:00Z", ["2027-01-04T00:00:00Z", "2027-02-04T00:00:00Z", "2027-03-04T00:00:00Z"]),
        ("@weekly", "UTC", "2026-12-01T00:00:00Z", ["2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z", "2026-12-20T00:00:00Z"]),
        ("@monthly", "Asia/Seoul", "2026-12-01T00:00:00Z", ["2026-12-31T15:00:00Z", "2027-01-31T15:00:00Z", "2027-02-28T15:00:00Z"]),
        // New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist and fires at 03:30 EDT.
        ("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]),
        // A time in the gap and the time the gap moves it to fire once.
        // (In 2027 March 8 is before the change, so both fire.)
        ("30 2,3 8 3 *", "America/New_York", "2026-03-07T12:00:00Z", ["2026-03-08T07:30:00Z", "2027-03-08T07:30:00Z", "2027-03-08T08:30:00Z"]),
        // Every 15 minutes through the gap: 01:45 EST, then 03:00, 03:15, … EDT (02:xx moved to 03:xx).
        ("*/15 * * * *", "America/New_York", "2026-03-08T06:40:00Z", ["2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"]),
        // New York falls back at 02:00 on 2026-11-01: 01:30 happens twice and fires once, the first time.
        ("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]),
        ("*/30 1 * * *", "America/New_York", "2026-11-01T05:10:00Z", ["2026-11-01T05:30:00Z", "2026-11-02T06:00:00Z", "2026-11-02T06:30:00Z"]),
        // London springs forward at 01:00 on 2026-03-29.
        ("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]),
        // Lord Howe Island moves by 30 minutes: back at 02:00 on 2026-04-05, forward at 02:00 on 2026-10-04.
        ("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", ["2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z", "2026-10-05T15:15:00Z"]),
        // Its 30-minute gap moves 02:15 to 02:45, after 02:40, which exists: instants, not wall times, are in order.
        ("15,40 2 * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", ["2026-10-03T15:40:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z"]),
        ("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z", "2026-04-06T15:15:00Z"]),
    ])
    func hardCases(cron: String, zone: String, from: String, expected: [String]) throws {
        #expect(try Self.fires(cron, zone, from: from) == expected)
    }

    @Test func aWindowBoundsTheFires() throws {
        let cron = try CronExpression("0 9 * * *")
        let window = LocalDateTime("2026-12-03T00:00")!...LocalDateTime("2026-12-04T09:00")!
        let utc = Self.zone("UTC")
        let first = cron.next(after: Self.instant("2026-12-01T00:00:00Z"), in: utc, window: window)
        #expect(first == Self.instant("2026-12-03T09:00:00Z"))
        let second = cron.next(after: first!, in: utc, window: window)
        #expect(second == Self.instant("2026-12-04T09:00:00Z"))
        #expect(cron.next(after: second!, in: utc, window: window) == nil)
    }

    @Test func anExpressionThatNeverFiresGivesNothing() throws {
        #expect(try CronExpression("0 0 30 2 *").next(after: Self.instant("2026-01-01T00:00:00Z"), in: Self.zone("UTC")) == nil)
    }

    @Test func shorthandsAndTheirMistakes() throws {
        #expect(try CronExpression("@daily").hours == [0])
        #expect(try CronExpression("@hourly").minutes == [0])
        #expect(throws: CronExpression.ParseError.self) { try CronExpression("@dayly") }
        do {
            _ = try CronExpression("@dayly")
        } catch {
            #expect(error.message == "unknown shorthand '@dayly' (did you mean '@daily'?)")
        }
    }

    // MARK: - Against a brute-force search

    /// Whether `t` (a whole minute) is a fire instant, decided per instant: the wall time at `t`
    /// matches and `t` is its first reading; or the clock jumped forward within the last day and
    /// the skipped wall time that the jump moves onto `t` matches.
    static func fires(_ cron: CronExpression, at t: Date, in zone: TimeZone) -> Bool {
        let offset = zone.secondsFromGMT(for: t)
        var candidates = [t.addingTimeInterval(TimeInterval(offset))]
        let jump = offset - zone.secondsFromGMT(for: t.addingTimeInterval(-86_400))
        if jump > 0 { candidates.append(t.addingTimeInterval(TimeInterval(offset - jump))) }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        for wall in candidates {
            let parts = utc.dateComponents([.year, .month, .day, .hour, .minute], from: wall)
            let local = LocalDateTime(year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!)
            if cron.matches(local), local.instant(in: zone) == t { return true }
        }
        return false
    }

    static func randomField(_ random: inout SplitMix64, range: ClosedRange<Int>, dense: Bool) -> String {
        switch random.next(below: dense ? 3 : 5) {
        case 0: return "*"
        case 1: return "*/\(1 + random.next(below: dense ? 3 : 12))"
        case 2:
            let a = range.lowerBound + random.next(below: range.count)
            let b = a + random.next(below: range.upperBound - a + 1)
            return "\(a)-\(b)"
        case 3: return (0..<(1 + random.next(below: 3))).map { _ in String(range.lowerBound + random.next(below: range.count)) }.joined(separator: ",")
        default: return String(range.lowerBound + random.next(below: range.count))
        }
    }

    @Test func nextIsStrictlyIncreasingAndEqualsABruteForceSearch() throws {
        let seed = ProcessInfo.processInfo.environment["HERALD_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        let zones = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "Pacific/Chatham"]
        // Starting points near transitions, where the rules bite.
        let starts = ["2026-03-07T20:00:00Z", "2026-10-31T20:00:00Z", "2026-03-28T20:00:00Z", "2026-04-04T10:00:00Z", "2026-10-03T10:00:00Z", "2026-09-05T20:00:00Z"]
        for round in 0..<120 {
            let cron = try CronExpression([
                Self.randomField(&random, range: 0...59, dense: true), Self.randomField(&random, range: 0...23, dense: true), "*", "*",
                random.next(below: 3) == 0 ? Self.randomField(&random, range: 0...6, dense: false) : "*",
            ].joined(separator: " "))
            let zone = Self.zone(zones[random.next(below: zones.count)])
            var after = Self.instant(starts[random.next(below: starts.count)]).addingTimeInterval(Double(random.next(below: 600)) * 60)
            for _ in 0..<4 {
                // The brute force walks minute by minute for up to 8 days.
                var expected: Date?
                var minute = (after.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
                for _ in 0..<(8 * 1440) {
                    let t = Date(timeIntervalSince1970: minute)
                    if Self.fires(cron, at: t, in: zone) {
                        expected = t
                        break
                    }
                    minute += 60
                }
                guard let expected else { break }
                let next = cron.next(after: after, in: zone)
                #expect(next == expected, "seed \(seed) (HERALD_TEST_SEED=\(seed)), round \(round): \(cron) in \(zone.identifier) after \(ISO8601.string(from: after))")
                guard let next, next > after else {
                    Issue.record("seed \(seed): next is not after \(after)")
                    break
                }
                after = next
            }
        }
    }
}
