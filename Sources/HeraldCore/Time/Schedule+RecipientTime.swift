import Foundation

extension Schedule {
    /// The wall-clock time every recipient gets the occurrence at, on their own clock, when the
    /// schedule is in each recipient's zone and `fireAt` is one of its fire instants (read in
    /// ``Schedule/earliestZone``); `nil` otherwise: a schedule in one zone, or an occurrence that
    /// was not fired by the schedule (`herald send --now` sends now, to everyone).
    ///
    /// `at: 2026-12-01T09:00` with `timezone: recipient` fires at 2026-11-30T19:00:00Z (09:00 at
    /// UTC+14), and answers 2026-12-01T09:00 for that instant: a recipient in Seoul is due at
    /// 00:00Z, one in New York at 14:00Z.
    public func recipientWallClock(forFireAt fireAt: Date) -> LocalDateTime? {
        let wall = LocalDateTime(instant: fireAt, in: Schedule.earliestZone)
        switch self {
        case .at(let time, zone: .recipient):
            return time.instant(in: Schedule.earliestZone) == fireAt ? time : nil
        case .cron(let cron) where cron.zone == .recipient:
            let exact = fireAt.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0
            return exact && cron.expression.matches(wall) ? wall : nil
        default:
            return nil
        }
    }
}

/// A campaign's throttle (`throttle: 2000/min`) while it is planned: how many notifications are
/// already due in each interval of the rate, so that no interval gets more than the rate.
///
/// Intervals are aligned to the rate's unit from 1970 (minutes start at :00), so planning the
/// same campaign in pages, or resuming it, fills the same intervals.
public struct ThrottleSlots: Sendable {
    public let rate: RateLiteral
    private var used: [Int64: Int] = [:]

    public init(rate: RateLiteral) {
        self.rate = rate
    }

    /// The earliest instant at or after `instant` whose interval has room for `count` more
    /// notifications (an interval takes a group larger than the rate only when empty). Reserves
    /// nothing: see ``reserve(_:at:)``.
    public func firstFree(atOrAfter instant: Date, count: Int = 1) -> Date {
        let length = rate.per.seconds
        guard rate.count > 0, length > 0 else { return instant }
        var index = interval(of: instant)
        while let taken = used[index], taken > 0, taken + count > rate.count {
            index += 1
        }
        return index == interval(of: instant) ? instant : Date(timeIntervalSince1970: Double(index) * length)
    }

    /// Counts `count` notifications due at `instant`.
    public mutating func reserve(_ count: Int, at instant: Date) {
        guard rate.count > 0, rate.per.seconds > 0 else { return }
        used[interval(of: instant), default: 0] += count
    }

    private func interval(of instant: Date) -> Int64 {
        Int64((instant.timeIntervalSince1970 / rate.per.seconds).rounded(.down))
    }
}
