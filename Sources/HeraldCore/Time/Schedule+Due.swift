import Foundation

/// One fire instant of a schedule that the scheduler has to act on now.
public struct DueOccurrence: Sendable, Hashable {
    /// The occurrence's fire instant: its key in the store, with the campaign.
    public var fireAt: Date
    /// Missed by the catch-up grace or more: recorded as expired (skipped(expired)), not planned.
    public var isExpired: Bool

    public init(fireAt: Date, isExpired: Bool) {
        self.fireAt = fireAt
        self.isExpired = isExpired
    }
}

/// What a schedule asks of the scheduler at one moment: the occurrences due (in order) and when
/// the next one comes.
public struct ScheduleDue: Sendable, Hashable {
    /// Fire instants at or before `now` not recorded yet, oldest first.
    public var occurrences: [DueOccurrence]
    /// The first fire instant after those: in the future, or at or before `now` when more were
    /// due than the limit allowed (then the scheduler goes on at once). `nil`: never again.
    public var next: Date?

    public init(occurrences: [DueOccurrence] = [], next: Date? = nil) {
        self.occurrences = occurrences
        self.next = next
    }
}

extension Schedule {
    /// The catch-up grace of a campaign without `expires_after`: a scheduler restarted within an
    /// hour still sends what it missed.
    public static let defaultCatchUpGrace: TimeInterval = 3600

    /// The earliest zone on Earth (Kiribati's Line Islands, UTC+14:00) as a fixed offset: a
    /// wall-clock time of every recipient's own zone happens there first.
    public static let earliestZone = TimeZone(secondsFromGMT: 14 * 3600)!

    /// The occurrences due at `now` and the next fire instant: the scheduler's whole decision,
    /// as a pure function of what the store recorded and the time.
    ///
    /// **Fire instants.** `at` with a zone is that wall-clock time in the zone (a DST gap moves
    /// it forward by the gap, an overlap takes the first instant); `at` with an offset is that
    /// instant; `cron` is `CronExpression.next(after:in:window:)` in its zone, inside `between`.
    /// With `timezone: recipient` the occurrence fires at the wall-clock time in the earliest
    /// zone on Earth, UTC+14:00 (a fixed offset, ``earliestZone``), so that it is planned ahead of
    /// every recipient and the earliest ones are on time; each recipient's notification is then
    /// due at that wall-clock time in their own zone (the planner's part). A cron with
    /// `timezone: recipient` is likewise evaluated at UTC+14:00. Manual and trigger schedules
    /// have no occurrences here.
    ///
    /// **Catch-up.** An occurrence missed by less than `grace` (the campaign's `expires_after`,
    /// else ``defaultCatchUpGrace``, one hour) is due late; one missed by `grace` or more is
    /// due as expired: recorded, never planned. A cron never seen before starts at `firstSeen`
    /// (no backfill of earlier instants); after that it goes on from the last recorded fire
    /// instant, so every instant missed while no scheduler ran is either planned late or
    /// recorded expired. A one-off `at` is due once whether or not it was seen before: in the
    /// past and never recorded, the same grace decides. With `timezone: recipient` the grace is
    /// counted from the last recipient's time (``recipientSpread``, 26 hours after the fire
    /// instant): a scheduler back after ten hours still plans the occurrence, and the planner
    /// skips as expired each recipient whose own time passed by the grace or more.
    ///
    /// ```swift
    /// // cron "0 * * * *" in UTC, last recorded 09:00, now 12:30, grace 1h:
    /// schedule.due(lastFireAt: nine, firstSeen: monday, now: halfPastTwelve, grace: 3600)
    /// // occurrences: 10:00 and 11:00 expired, 12:00 due late; next: 13:00
    /// ```
    ///
    /// - Parameters:
    ///   - lastFireAt: the latest fire instant the store recorded for the campaign (planned,
    ///     being planned or expired), or `nil`.
    ///   - firstSeen: when a scheduler first saw the campaign.
    ///   - grace: how late an occurrence may still be planned, in seconds.
    ///   - limit: at most this many occurrences (a cron of every minute after a month of
    ///     downtime); `next` then names the first left out.
    public func due(lastFireAt: Date?, firstSeen: Date, now: Date, grace: TimeInterval, limit: Int = 1000) -> ScheduleDue {
        let spread = recipientSpread
        func occurrence(_ fireAt: Date) -> DueOccurrence {
            DueOccurrence(fireAt: fireAt, isExpired: now.timeIntervalSince(fireAt) >= grace + spread)
        }
        switch self {
        case .manual, .trigger:
            return ScheduleDue()
        case .at, .instant:
            guard let fireAt = firstFireInstant else { return ScheduleDue() }
            if let lastFireAt, lastFireAt >= fireAt { return ScheduleDue() }
            if fireAt > now { return ScheduleDue(next: fireAt) }
            return ScheduleDue(occurrences: [occurrence(fireAt)])
        case .cron(let cron):
            let zone = cron.zone.fireZone
            let window = cron.window
            // Never seen: start at the first sight itself, inclusive (a scheduler started at
            // 09:00:00 sends the 09:00 occurrence).
            var after = lastFireAt ?? firstSeen.addingTimeInterval(-0.001)
            var due = ScheduleDue()
            while let fireAt = cron.expression.next(after: after, in: zone, window: window) {
                guard fireAt <= now, due.occurrences.count < max(limit, 1) else {
                    due.next = fireAt
                    break
                }
                due.occurrences.append(occurrence(fireAt))
                after = fireAt
            }
            return due
        }
    }

    /// How long after its fire instant an occurrence's last recipient is due: 26 hours for a
    /// schedule in each recipient's zone (from UTC+14:00, where it fires, to UTC−12:00), zero
    /// for a schedule in one zone.
    public var recipientSpread: TimeInterval {
        switch self {
        case .at(_, zone: .recipient): 26 * 3600
        case .cron(let cron) where cron.zone == .recipient: 26 * 3600
        default: 0
        }
    }

    /// The fire instant of a one-off schedule (`at`), `nil` for the others.
    public var firstFireInstant: Date? {
        switch self {
        case .at(let time, let zone): time.instant(in: zone.fireZone)
        case .instant(let instant): instant
        case .cron, .trigger, .manual: nil
        }
    }
}

extension ScheduleZone {
    /// The zone fire instants are computed in: the named one, or ``Schedule/earliestZone`` for
    /// `recipient`. An unknown name (the parser refuses them) reads as UTC.
    public var fireZone: TimeZone {
        switch self {
        case .recipient: Schedule.earliestZone
        case .fixed(let name): TimeZone(identifier: name) ?? TimeZone(identifier: "UTC")!
        }
    }
}

extension Campaign {
    /// How late an occurrence may still be planned: `expires_after`, else one hour.
    public var catchUpGrace: TimeInterval {
        expiresAfter.map { TimeInterval($0.seconds) } ?? Schedule.defaultCatchUpGrace
    }

    /// ``Schedule/due(lastFireAt:firstSeen:now:grace:limit:)`` with this campaign's grace.
    public func due(lastFireAt: Date?, firstSeen: Date, now: Date, limit: Int = 1000) -> ScheduleDue {
        schedule.due(lastFireAt: lastFireAt, firstSeen: firstSeen, now: now, grace: catchUpGrace, limit: limit)
    }
}
