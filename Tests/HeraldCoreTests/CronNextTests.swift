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
        // London falls back at 02:00 BST on 2026-10-25 (the last Sunday of October): 01:00-02:00
        // happens twice, and 01:30 fires once, the first time (BST, +01:00), then at 01:30 GMT.
        ("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"]),
        // Every 20 minutes of the repeated hour fires in its first pass only.
        ("*/20 1 * * *", "Europe/London", "2026-10-25T00:10:00Z", ["2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z", "2026-10-26T01:00:00Z"]),
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

    /// A random cron field: its text and the values it names, worked out here from how it was
    /// made, not by the parser.
    struct Field {
        var text: String
        var values: Set<Int>
        /// Starts with `*`: for the day fields, Vixie cron's "unrestricted" (no OR).
        var isStar: Bool { text.hasPrefix("*") }
    }

    /// `*`, `*/n`, `a-b`, a list or one value in `range`; `values` maps them (7 → 0 for
    /// weekdays, where `range` is 0...7).
    static func randomField(_ random: inout SplitMix64, range: ClosedRange<Int>, dense: Bool, modulo: Int? = nil) -> Field {
        let lower = range.lowerBound, upper = range.upperBound
        var field: Field
        switch random.next(below: dense ? 3 : 5) {
        case 0:
            field = Field(text: "*", values: Set(range))
        case 1:
            let step = 1 + random.next(below: dense ? 3 : 12)
            field = Field(text: "*/\(step)", values: Set(stride(from: lower, through: upper, by: step)))
        case 2:
            let a = lower + random.next(below: range.count)
            let b = a + random.next(below: upper - a + 1)
            field = Field(text: "\(a)-\(b)", values: Set(a...b))
        case 3:
            var values: [Int] = []
            for _ in 0..<(1 + random.next(below: 3)) { values.append(lower + random.next(below: range.count)) }
            field = Field(text: values.map(String.init).joined(separator: ","), values: Set(values))
        default:
            let value = lower + random.next(below: range.count)
            field = Field(text: "\(value)", values: [value])
        }
        if let modulo { field.values = Set(field.values.map { $0 % modulo }) }
        return field
    }

    /// A day of month, often among the last days, which short months lack.
    static func randomDayOfMonth(_ random: inout SplitMix64) -> Field {
        switch random.next(below: 4) {
        case 0: return Field(text: "*", values: Set(1...31))
        case 1:
            let late: [(String, Set<Int>)] = [("31", [31]), ("29", [29]), ("30,31", [30, 31]), ("29-31", [29, 30, 31]), ("1,31", [1, 31])]
            let (text, values) = late[random.next(below: late.count)]
            return Field(text: text, values: values)
        default: return randomField(&random, range: 1...31, dense: false)
        }
    }

    /// The fire instants of a cron expression in `(after, until]`, at most `limit` of them,
    /// found by walking every UTC minute from a day before `after` and reading the zone's wall
    /// clock with Foundation alone (nothing of HeraldCore's time code), with the rule of
    /// campaign-format.md: "A time that falls in a DST gap moves forward by the gap; in an
    /// overlap the first instant is used." So a wall time fires at the first instant the clock
    /// shows it, and one the clock jumps over fires at the instant that shows it plus the
    /// jump's length (02:30 on the night New York springs forward fires at 03:30 EDT). Two
    /// wall times on one instant fire once.
    struct BruteForce {
        var minute: Field
        var hour: Field
        var dayOfMonth: Field
        var month: Field
        var dayOfWeek: Field
        var zone: TimeZone

        /// Vixie cron: either day field when both are restricted, both otherwise.
        func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
            guard self.month.values.contains(month) else { return false }
            let byMonth = dayOfMonth.values.contains(day), byWeek = dayOfWeek.values.contains(weekday)
            return dayOfMonth.isStar || dayOfWeek.isStar ? byMonth && byWeek : byMonth || byWeek
        }

        func fires(after: Date, until: Date, limit: Int) -> [Date] {
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let minutes = (0..<60).map { minute.values.contains($0) }
            let hours = (0..<24).map { hour.values.contains($0) }
            var dayCache: (day: Int, matches: Bool) = (.min, false)
            /// Whether the wall-clock minute (minutes since 1970-01-01T00:00 on the zone's clock) matches.
            func matches(_ wall: Int) -> Bool {
                let day = wall >= 0 ? wall / 1440 : (wall - 1439) / 1440
                let inDay = wall - day * 1440
                guard minutes[inDay % 60], hours[inDay / 60] else { return false }
                if dayCache.day != day {
                    let parts = utc.dateComponents([.month, .day, .weekday], from: Date(timeIntervalSince1970: Double(day) * 86_400))
                    dayCache = (day, matchesDay(month: parts.month!, day: parts.day!, weekday: parts.weekday! - 1))
                }
                return dayCache.matches
            }
            // The zone's offset in minutes, asked at both ends of each UTC quarter hour and minute
            // by minute only in a quarter where they differ.
            var quarter: (index: Int, offset: Int?) = (.min, nil)
            func offset(at t: Int) -> Int {
                let index = t >= 0 ? t / 15 : (t - 14) / 15
                if quarter.index != index {
                    let first = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(index * 15) * 60)) / 60
                    let last = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(index * 15 + 14) * 60)) / 60
                    quarter = (index, first == last ? first : nil)
                }
                return quarter.offset ?? zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t) * 60)) / 60
            }
            let start = Int((after.timeIntervalSince1970 / 60).rounded(.down)) - 1440
            let end = Int((until.timeIntervalSince1970 / 60).rounded(.down))
            var previousWall: Int?
            var latestWall = Int.min
            // Wall times the clock jumped over, by the instant (UTC minute) they move to.
            var moved: [Int: [Int]] = [:]
            var result: [Date] = []
            for t in start...end {
                let wall = t + offset(at: t)
                if let previousWall, wall > previousWall + 1 {
                    // A gap: previousWall+1 ..< wall never shows. Each moves forward by the gap's
                    // length, onto the instant that many minutes after the first one past the gap.
                    let length = wall - previousWall - 1
                    for k in 0..<length { moved[t + k, default: []].append(previousWall + 1 + k) }
                }
                let isFirstReading = wall > latestWall
                var fires = isFirstReading && matches(wall)
                if let skipped = moved.removeValue(forKey: t), skipped.contains(where: matches) { fires = true }
                latestWall = max(latestWall, wall)
                previousWall = wall
                let instant = Date(timeIntervalSince1970: Double(t) * 60)
                if fires, instant > after {
                    result.append(instant)
                    if result.count == limit { break }
                }
            }
            return result
        }
    }

    @Test func theBruteForceFollowsTheSpecAcrossGapsAndOverlaps() {
        func fires(_ minute: Int, _ hour: Int, _ zone: String, after: String, days: Double) -> [String] {
            let search = BruteForce(
                minute: Field(text: "\(minute)", values: [minute]), hour: Field(text: "\(hour)", values: [hour]),
                dayOfMonth: Field(text: "*", values: Set(1...31)), month: Field(text: "*", values: Set(1...12)),
                dayOfWeek: Field(text: "*", values: Set(0...6)), zone: Self.zone(zone)
            )
            let start = Self.instant(after)
            return search.fires(after: start, until: start.addingTimeInterval(days * 86_400), limit: 10).map(ISO8601.string(from:))
        }
        // New York's gap moves 02:30 to 03:30 EDT; its overlap fires 01:30 once, in EDT.
        #expect(fires(30, 2, "America/New_York", after: "2026-03-07T12:00:00Z", days: 2) == ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"])
        #expect(fires(30, 1, "America/New_York", after: "2026-10-31T12:00:00Z", days: 2) == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
        // Lord Howe's 30-minute gap moves 02:15 to 02:45 (+11:00).
        #expect(fires(15, 2, "Australia/Lord_Howe", after: "2026-10-03T00:00:00Z", days: 1) == ["2026-10-03T15:45:00Z"])
    }

    @Test func nextIsStrictlyIncreasingAndEqualsABruteForceSearch() throws {
        let seed = ProcessInfo.processInfo.environment["HERALD_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        let zones = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "Pacific/Chatham"]
        // Half the rounds start up to ten hours before one of the zone's clock changes (found by
        // Foundation), where the rules bite; the others near the ends of short months.
        let monthEnds = ["2027-02-27T00:00:00Z", "2028-02-27T00:00:00Z", "2026-04-29T00:00:00Z", "2026-11-29T12:00:00Z", "2026-12-30T00:00:00Z"]
        // The brute force looks this far ahead; an expression that fires more rarely is checked
        // up to there (next(after:) must find nothing earlier), not to its next fire.
        let horizon: TimeInterval = 400 * 86_400
        let rounds = 150
        let firesPerRound = 6
        var checked = 0
        var beyondHorizon = 0
        var acrossAClockChange = 0
        var byKind: [String: Int] = [:]
        for round in 0..<rounds {
            let search = BruteForce(
                minute: Self.randomField(&random, range: 0...59, dense: true),
                hour: Self.randomField(&random, range: 0...23, dense: true),
                dayOfMonth: random.next(below: 3) == 0 ? Field(text: "*", values: Set(1...31)) : Self.randomDayOfMonth(&random),
                month: random.next(below: 2) == 0 ? Field(text: "*", values: Set(1...12)) : Self.randomField(&random, range: 1...12, dense: false),
                dayOfWeek: random.next(below: 2) == 0 ? Self.randomField(&random, range: 0...7, dense: false, modulo: 7) : Field(text: "*", values: Set(0...6)),
                zone: Self.zone(zones[random.next(below: zones.count)])
            )
            var start = Self.instant(monthEnds[random.next(below: monthEnds.count)])
            if random.next(below: 2) == 0 {
                let base = Self.instant("2026-01-01T00:00:00Z").addingTimeInterval(Double(random.next(below: 3 * 365)) * 86_400)
                if let change = search.zone.nextDaylightSavingTimeTransition(after: base) { start = change }
            }
            start.addTimeInterval(-Double(random.next(below: 600)) * 60)
            let text = [search.minute, search.hour, search.dayOfMonth, search.month, search.dayOfWeek].map(\.text).joined(separator: " ")
            let cron = try CronExpression(text)
            let context = "seed \(seed) (HERALD_TEST_SEED=\(seed)), round \(round): \(text) in \(search.zone.identifier)"
            let until = start.addingTimeInterval(horizon)
            let expected = search.fires(after: start, until: until, limit: firesPerRound)
            var after = start
            for fire in expected {
                let next = cron.next(after: after, in: search.zone)
                #expect(next == fire, "\(context) after \(ISO8601.string(from: after))")
                guard let next, next > after else {
                    Issue.record("\(context): next is not after \(ISO8601.string(from: after))")
                    break
                }
                after = next
                checked += 1
            }
            if search.zone.secondsFromGMT(for: start) != search.zone.secondsFromGMT(for: after) { acrossAClockChange += 1 }
            if expected.count < firesPerRound {
                // Nothing more until the horizon: next(after:) must not find anything before it.
                let next = cron.next(after: after, in: search.zone)
                #expect(next.map { $0 > until } ?? true, "\(context): next after \(ISO8601.string(from: after)) is \(next.map(ISO8601.string(from:)) ?? "nil"), the brute force found nothing until \(ISO8601.string(from: until))")
                beyondHorizon += 1
            }
            let dayFields = (search.dayOfMonth.isStar ? "" : "dom") + (search.dayOfWeek.isStar ? "" : "dow")
            byKind[dayFields.isEmpty ? "any day" : dayFields, default: 0] += 1
            if !search.month.isStar { byKind["month", default: 0] += 1 }
            if search.dayOfMonth.text.hasPrefix("*/") || search.dayOfWeek.text.hasPrefix("*/") { byKind["*/n day", default: 0] += 1 }
        }
        // Not vacuous: most rounds compare fires, many across a clock change, and each kind of
        // day rule comes up.
        #expect(checked >= rounds * 3, "only \(checked) fires compared (\(beyondHorizon) rounds ran out of horizon)")
        #expect(acrossAClockChange >= 10, "only \(acrossAClockChange) rounds compared fires across a clock change")
        #expect(byKind["domdow", default: 0] >= 5 && byKind["dom", default: 0] >= 10 && byKind["dow", default: 0] >= 5 && byKind["month", default: 0] >= 20
            && byKind["*/n day", default: 0] >= 5, "\(byKind)")
    }
}
