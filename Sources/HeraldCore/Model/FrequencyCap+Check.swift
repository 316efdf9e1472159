import Foundation

/// One notification already planned or sent to a user, as frequency caps count it: a slot in
/// the store's cap ledger, reserved in the same transaction that plans the notification.
public struct CapEntry: Sendable, Hashable {
    /// When the notification is due (its slot is counted at that instant).
    public var at: Date
    public var channel: Channel
    public var category: String
    public var campaignID: String

    public init(at: Date, channel: Channel, category: String, campaignID: String) {
        self.at = at
        self.channel = channel
        self.category = category
        self.campaignID = campaignID
    }
}

extension FrequencyCap {
    /// Whether a notification counts against this cap: transactional never does; a cap with a
    /// channel or a category counts only those.
    public func counts(channel: Channel, category: String) -> Bool {
        category != Campaign.transactionalCategory
            && (self.channel == nil || self.channel == channel)
            && (self.category == nil || self.category == category)
    }

    /// The longest stretch of time this cap can look back or ahead: its duration, a day or a
    /// week, plus a day for the zones of the recipients' calendars. The store reads cap
    /// history that far around the instants being planned.
    public var reach: TimeInterval {
        switch per {
        case .rolling(let duration): Double(duration.seconds) + 86_400
        case .calendarDay: 2 * 86_400
        case .calendarWeek: 8 * 86_400
        }
    }

    /// The first instant of the window that holds `instant`, for a recipient in `zone`: `instant`
    /// minus the duration for a rolling window, or the start of the day or week (Monday) on the
    /// recipient's clock.
    public func windowStart(for instant: Date, in zone: TimeZone) -> Date {
        switch per {
        case .rolling(let duration):
            return instant.addingTimeInterval(-Double(duration.seconds))
        case .calendarDay, .calendarWeek:
            return calendarPeriod(of: instant, in: zone).lowerBound
        }
    }

    /// The calendar day or week (Monday to Sunday) on the recipient's clock that holds `instant`.
    func calendarPeriod(of instant: Date, in zone: TimeZone) -> Range<Date> {
        let local = LocalDateTime(instant: instant, in: zone)
        var start = LocalDateTime(year: local.year, month: local.month, day: local.day)
        var days = 1
        if case .calendarWeek = per {
            let weekday = ISO8601.weekday(ofDay: ISO8601.daysFromCivil(year: local.year, month: local.month, day: local.day))
            start = start.adding(days: -((weekday + 6) % 7))
            days = 7
        }
        return start.instant(in: zone)..<start.adding(days: days).instant(in: zone)
    }

    /// Whether one more notification at `instant` would go past this cap, given what the user
    /// already has (entries before and after `instant`: a notification planned for tomorrow
    /// counts too). `scope` narrows the count to one campaign, for a campaign's own caps.
    ///
    /// A calendar cap counts the recipient's day or week that holds `instant`. A rolling cap
    /// `{max: 3, per: 1d}` holds when no stretch of 24 hours would contain more than three
    /// notifications, whichever 24 hours one looks at; two notifications exactly 24 hours apart
    /// are never in the same stretch.
    public func isFull(
        adding channel: Channel, category: String, at instant: Date, in zone: TimeZone, history: [CapEntry], campaignID scope: String? = nil
    ) -> Bool {
        guard counts(channel: channel, category: category) else { return false }
        let counted = history.filter { entry in
            counts(channel: entry.channel, category: entry.category) && (scope == nil || entry.campaignID == scope)
        }.map(\.at)
        switch per {
        case .calendarDay, .calendarWeek:
            let period = calendarPeriod(of: instant, in: zone)
            return counted.lazy.filter { period.contains($0) }.count >= max
        case .rolling(let duration):
            return Self.busiestWindow(around: instant, length: Double(duration.seconds), among: counted) >= max
        }
    }

    /// The most instants of `instants` that one half-open window `[s, s + length)` containing
    /// `instant` holds. The busiest such window starts at `instant` or at one of the instants, or
    /// ends just after one of them, so only those windows are counted.
    static func busiestWindow(around instant: Date, length: TimeInterval, among instants: [Date]) -> Int {
        let near = instants.filter { abs($0.timeIntervalSince(instant)) < length }
        var starts = [instant]
        for at in near {
            if at <= instant {
                starts.append(at)
            } else {
                // The window ending just after `at`: it starts just after `at - length`.
                starts.append(at.addingTimeInterval(-length).nextUp)
            }
        }
        return starts.map { start in
            let end = start.addingTimeInterval(length)
            return near.lazy.filter { $0 >= start && $0 < end }.count
        }.max() ?? 0
    }
}

extension Date {
    /// The next representable instant: a window that must end just after an instant.
    fileprivate var nextUp: Date { Date(timeIntervalSince1970: timeIntervalSince1970.nextUp) }
}
