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
        let lastDay = Self.floorDivide(startMinute, 1440) + 366 * 30
        var day = Self.floorDivide(startMinute, 1440)
        while day <= lastDay {
            if let best, day * 1440 > best.minute + lookahead { break }
            defer { day += 1 }
            let date = Self.civil(fromDays: day)
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

    /// Whether the day matches the day-of-month and day-of-week fields: both when only one is
    /// restricted, either when both are (Vixie cron).
    func matchesDay(year: Int, month: Int, day: Int, dayNumber: Int) -> Bool {
        let weekday = ((dayNumber % 7) + 11) % 7 // 1970-01-01 was a Thursday (4)
        let byMonth = daysOfMonth.contains(day)
        let byWeek = daysOfWeek.contains(weekday)
        switch (isDayOfMonthRestricted, isDayOfWeekRestricted) {
        case (true, true): return byMonth || byWeek
        case (true, false): return byMonth
        case (false, true): return byWeek
        case (false, false): return true
        }
    }

    /// Whether the expression fires at this wall-clock minute (DST aside).
    public func matches(_ time: LocalDateTime) -> Bool {
        let dayNumber = Self.days(fromCivil: time.year, time.month, time.day)
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

    static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number (days since 1970-01-01).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPart = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPart + 2) / 5 + 1
        let month = monthPart < 10 ? monthPart + 3 : monthPart - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
