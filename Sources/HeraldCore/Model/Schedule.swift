import Foundation

/// When a campaign is sent: exactly one of `at`, `cron` or `trigger`.
public enum Schedule: Sendable, Hashable {
    /// Once, at a wall-clock time in a zone.
    case at(LocalDateTime, zone: ScheduleZone)
    /// Once, at an instant written with an explicit offset (`at: 2026-12-01T09:00:00Z` or
    /// `…+09:00`): the same moment for everyone, so no `timezone:` applies.
    case instant(Date)
    /// Recurring; each occurrence is planned once.
    case cron(CronSchedule)
    /// When the API receives `event` for a user, after `delay`.
    case trigger(event: String, delay: DurationLiteral?)
    /// No `schedule:` given: sent only by `herald send --now` or the API.
    case manual
}

/// The zone a wall-clock schedule is read in.
public enum ScheduleZone: Sendable, Hashable {
    /// Each recipient's own zone (falling back to `default_timezone`).
    case recipient
    /// One IANA zone for everyone.
    case fixed(String)
}

/// `cron: "0 9 * * MON"` with its zone and optional window.
public struct CronSchedule: Sendable, Hashable {
    public var expression: CronExpression
    public var zone: ScheduleZone
    /// `between: {start:, end:}`: occurrences only inside this window (inclusive).
    public var start: LocalDateTime?
    public var end: LocalDateTime?

    public init(expression: CronExpression, zone: ScheduleZone, start: LocalDateTime? = nil, end: LocalDateTime? = nil) {
        self.expression = expression
        self.zone = zone
        self.start = start
        self.end = end
    }

    /// `between:` as the wall-clock range `CronExpression.next(after:in:window:)` takes; `nil`
    /// without one. An open end reaches the first or last minute a `LocalDateTime` can name.
    public var window: ClosedRange<LocalDateTime>? {
        switch (start, end) {
        case (nil, nil): nil
        case (let start?, let end): start...(end ?? LocalDateTime(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59))
        case (nil, let end?): LocalDateTime(year: 1, month: 1, day: 1)...end
        }
    }
}

/// `{max: 3, per: 1d, channel: push}`: at most `max` notifications per window.
public struct FrequencyCap: Sendable, Hashable {
    public enum Window: Sendable, Hashable, CustomStringConvertible {
        /// A sliding window.
        case rolling(DurationLiteral)
        /// The calendar day in the recipient's zone.
        case calendarDay
        /// The calendar week (Monday to Sunday) in the recipient's zone.
        case calendarWeek

        public var description: String {
            switch self {
            case .rolling(let duration): duration.description
            case .calendarDay: "calendar_day"
            case .calendarWeek: "calendar_week"
            }
        }
    }

    public var max: Int
    public var per: Window
    /// `nil`: counts every channel.
    public var channel: Channel?
    /// `nil`: counts every category (transactional notifications never count).
    public var category: String?

    public init(max: Int, per: Window, channel: Channel? = nil, category: String? = nil) {
        self.max = max
        self.per = per
        self.channel = channel
        self.category = category
    }
}

/// `{from: "21:00", to: "08:00", then: delay}` in the recipient's local time.
public struct QuietHours: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// Send when the quiet hours end.
        case delay
        /// Do not send: `skipped(quiet_hours)`.
        case drop
    }

    public var from: TimeOfDay
    public var to: TimeOfDay
    public var then: Action

    public init(from: TimeOfDay, to: TimeOfDay, then: Action) {
        self.from = from
        self.to = to
        self.then = then
    }

    /// Whether a local time of day falls inside the quiet window (which may wrap past midnight).
    public func contains(_ time: TimeOfDay) -> Bool {
        if from == to { return false }
        if from < to { return time >= from && time < to }
        return time >= from || time < to
    }
}
