import Foundation

extension LocalDateTime {
    /// The wall-clock time of `instant` in `zone`, to the second.
    public init(instant: Date, in zone: TimeZone) {
        let (days, seconds) = ISO8601.day(ofSeconds: Int((instant.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: instant))).rounded(.down)))
        let date = ISO8601.civilFromDays(days)
        self.init(year: date.year, month: date.month, day: date.day, hour: seconds / 3600, minute: seconds / 60 % 60, second: seconds % 60)
    }

    /// The same wall-clock time `days` days later (or earlier).
    func adding(days: Int) -> LocalDateTime {
        let date = ISO8601.civilFromDays(ISO8601.daysFromCivil(year: year, month: month, day: day) + days)
        return LocalDateTime(year: date.year, month: date.month, day: date.day, hour: hour, minute: minute, second: second)
    }
}

extension QuietHours {
    /// What quiet hours do to a notification due at `due` for a recipient in `zone`.
    public enum Decision: Sendable, Hashable {
        /// Outside the window: due as planned.
        case unchanged
        /// Inside the window with `then: delay`: due when the window ends, on the recipient's clock.
        case delayed(until: Date)
        /// Inside the window with `then: drop`: `skipped(quiet_hours)`.
        case dropped
    }

    /// Whether `due` falls in the window on the wall clock of `zone` (`from` inclusive, `to`
    /// exclusive; a window whose `from` is later than its `to` runs past midnight), and if so
    /// what happens. A delayed notification is due at the window's end, read with the DST rule of
    /// `LocalDateTime.instant(in:)`, so a window that ends in a DST gap ends when the clock
    /// reaches that time after the jump.
    ///
    /// For `{from: "21:00", to: "08:00", then: delay}` in Seoul, a notification due at 23:30 local
    /// time is delayed to 08:00 the next morning; one due at 07:00 is delayed to 08:00 that day.
    public func decision(for due: Date, in zone: TimeZone) -> Decision {
        let local = LocalDateTime(instant: due, in: zone)
        guard contains(TimeOfDay(hour: local.hour, minute: local.minute)) else { return .unchanged }
        guard then == .delay else { return .dropped }
        var end = LocalDateTime(year: local.year, month: local.month, day: local.day, hour: to.hour, minute: to.minute)
        // Past `from` in a window that wraps past midnight: it ends tomorrow.
        if from > to, TimeOfDay(hour: local.hour, minute: local.minute) >= from {
            end = end.adding(days: 1)
        }
        let instant = end.instant(in: zone)
        return .delayed(until: max(instant, due))
    }
}
