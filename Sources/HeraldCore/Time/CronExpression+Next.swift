import Foundation

extension CronExpression {
    /// The first instant strictly after `instant` at which the expression fires, read on the
    /// wall clock of `zone`; `nil` when it never fires again within 30 years (or inside
    /// `window`).
    ///
    /// Daylight saving time follows campaign-format.md: a time that falls in a gap (the clock
    /// jumps over it) fires once, moved forward by the gap (`30 2 * * *` fires at 03:30 on the
    /// day New York springs forward); a time that happens twice in an overlap fires once, at the
    /// first of the two instants. Two times that land on one instant fire once.
    ///
    /// - Parameter window: wall-clock bounds (`between: {start, end}`), inclusive; a time outside
    ///   them does not fire.
    ///
    /// ```swift
    /// let cron = try CronExpression("0 9 * * MON")
    /// cron.next(after: now, in: TimeZone(identifier: "Asia/Seoul")!)   // next Monday 09:00 in Seoul
    /// ```
    public func next(after instant: Date, in zone: TimeZone, window: ClosedRange<LocalDateTime>? = nil) -> Date? {
        // Wall times are visited in order, but their instants are not quite in order: a time in a
        // gap lands up to the gap's length past the times just after the gap. So the search starts
        // a little before the wall time of `instant` and, once it has a candidate, looks a few
        // hours further for an earlier instant.
        let lookahead = 4 * 60
        let startMinute = Self.wallMinute(of: instant, in: zone) - lookahead
        var best: (instant: Date, minute: Int)?
        var day = ISO8601.day(ofSeconds: startMinute * 60).day
        let lastDay = day + 366 * 30
        while day <= lastDay {
            if let best, day * 1440 > best.minute + lookahead { break }
            defer { day += 1 }
            let date = ISO8601.civilFromDays(day)
            guard months.contains(date.month), matchesDay(year: date.year, month: date.month, day: date.day, dayNumber: day) else { continue }
            for hour in sortedHours {
                for minute in sortedMinutes {
                    let wall = day * 1440 + hour * 60 + minute
                    if wall < startMinute { continue }
                    if let best, wall > best.minute + lookahead { break }
                    let local = LocalDateTime(year: date.year, month: date.month, day: date.day, hour: hour, minute: minute)
                    if let window, !window.contains(local) { continue }
                    let candidate = local.instant(in: zone)
                    guard candidate > instant else { continue }
                    if best == nil || candidate < best!.instant { best = (candidate, best?.minute ?? wall) }
                }
            }
            if let window, date.year > window.upperBound.year { break }
        }
        return best?.instant
    }

    /// Whether the day matches the day-of-month and day-of-week fields: either when both are
    /// restricted, both otherwise (Vixie cron's `find_jobs`). A field that starts with `*` only
    /// chooses between the two: its values still count, so `0 0 */2 * *` fires on odd days of
    /// the month and `0 8 */2 * MON` on Mondays that fall on one.
    func matchesDay(year: Int, month: Int, day: Int, dayNumber: Int) -> Bool {
        let weekday = ISO8601.weekday(ofDay: dayNumber)
        let byMonth = daysOfMonth.contains(day)
        let byWeek = daysOfWeek.contains(weekday)
        return isDayOfMonthRestricted && isDayOfWeekRestricted ? byMonth || byWeek : byMonth && byWeek
    }

    /// Whether the expression fires at this wall-clock minute (DST aside).
    public func matches(_ time: LocalDateTime) -> Bool {
        let dayNumber = ISO8601.daysFromCivil(year: time.year, month: time.month, day: time.day)
        return minutes.contains(time.minute) && hours.contains(time.hour) && months.contains(time.month)
            && matchesDay(year: time.year, month: time.month, day: time.day, dayNumber: dayNumber)
    }

    var sortedHours: [Int] { hours.sorted() }
    var sortedMinutes: [Int] { minutes.sorted() }

    /// Minutes since 1970-01-01T00:00 on the wall clock of `zone` at `instant`, rounded down.
    static func wallMinute(of instant: Date, in zone: TimeZone) -> Int {
        let seconds = instant.timeIntervalSince1970 + TimeInterval(zone.secondsFromGMT(for: instant))
        return Int((seconds / 60).rounded(.down))
    }
}
