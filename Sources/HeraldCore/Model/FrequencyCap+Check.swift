import Foundation

/// One notification already sent (or reserved) to a user, as frequency caps count it.
public struct CapEntry: Sendable, Hashable {
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

    /// The first instant of the window that holds `instant`, for a recipient in `zone`: `instant`
    /// minus the duration for a rolling window, or the start of the day or week (Monday) on the
    /// recipient's clock.
    public func windowStart(for instant: Date, in zone: TimeZone) -> Date {
        switch per {
        case .rolling(let duration):
            return instant.addingTimeInterval(-Double(duration.seconds))
        case .calendarDay, .calendarWeek:
            let local = LocalDateTime(instant: instant, in: zone)
            var start = LocalDateTime(year: local.year, month: local.month, day: local.day)
            if case .calendarWeek = per {
                let weekday = ISO8601.weekday(ofDay: ISO8601.daysFromCivil(year: local.year, month: local.month, day: local.day))
                start = start.adding(days: -((weekday + 6) % 7))
            }
            return start.instant(in: zone)
        }
    }

    /// Whether one more notification at `instant` would go past this cap, given what the user
    /// already has: the entries in the window that this cap counts (`scope` narrows it to one
    /// campaign for a campaign's own caps).
    public func isFull(
        adding channel: Channel, category: String, at instant: Date, in zone: TimeZone, history: [CapEntry], campaignID scope: String? = nil
    ) -> Bool {
        guard counts(channel: channel, category: category) else { return false }
        let start = windowStart(for: instant, in: zone)
        let used = history.lazy.filter { entry in
            entry.at >= start && entry.at <= instant && counts(channel: entry.channel, category: entry.category)
                && (scope == nil || entry.campaignID == scope)
        }.count
        return used >= max
    }
}
