import Foundation
import HeraldCore
import Testing

/// What is due, in virtual time: fire instants, catch-up after downtime, DST, and the zone of
/// `timezone: recipient`.
@Suite struct ScheduleDueTests {
    func instant(_ text: String) -> Date {
        ISO8601.date(from: text)!
    }

    func cron(_ expression: String, zone: ScheduleZone = .fixed("UTC"), start: LocalDateTime? = nil, end: LocalDateTime? = nil) -> Schedule {
        .cron(CronSchedule(expression: try! CronExpression(expression), zone: zone, start: start, end: end))
    }

    /// The due occurrences as `instant` or `instant expired`, and the next instant, as a person reads them.
    func describe(_ due: ScheduleDue) -> [String] {
        due.occurrences.map { ISO8601.string(from: $0.fireAt) + ($0.isExpired ? " expired" : "") }
            + ["next " + (due.next.map(ISO8601.string(from:)) ?? "none")]
    }

    let hour: TimeInterval = 3600
    let longAgo = ISO8601.date(from: "2026-01-01T00:00:00Z")!

    // MARK: one-off

    @Test func aOneOffIsDueOnceAtItsInstantAndNeverAgainOnceRecorded() {
        let schedule = Schedule.at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 9), zone: .fixed("Asia/Seoul"))
        let fire = instant("2026-12-01T00:00:00Z")
        // Before: nothing due, and it is next.
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-11-30T23:59:59Z"), grace: hour))
            == ["next 2026-12-01T00:00:00Z"])
        // At the instant (and just after): due.
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: fire, grace: hour)) == ["2026-12-01T00:00:00Z", "next none"])
        // Recorded: never due again.
        #expect(describe(schedule.due(lastFireAt: fire, firstSeen: longAgo, now: fire.addingTimeInterval(60), grace: hour)) == ["next none"])
    }

    @Test func aOneOffInThePastNeverSeenBeforeIsSentWithinTheGraceAndOtherwiseExpired() {
        let schedule = Schedule.instant(instant("2026-12-01T09:00:00+09:00"))
        // Missed by 59 min 59 s: still sent (the grace is an hour without expires_after).
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: instant("2026-12-01T00:59:59Z"), now: instant("2026-12-01T00:59:59Z"), grace: hour))
            == ["2026-12-01T00:00:00Z", "next none"])
        // Missed by exactly the grace, or more: recorded expired.
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: instant("2026-12-01T01:00:00Z"), now: instant("2026-12-01T01:00:00Z"), grace: hour))
            == ["2026-12-01T00:00:00Z expired", "next none"])
        // With expires_after 2d, a day late is still sent.
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-12-02T00:00:00Z"), grace: 2 * 86_400))
            == ["2026-12-01T00:00:00Z", "next none"])
    }

    @Test func anEditedOneOffLaterThanTheRecordedOneIsDueAgain() {
        let schedule = Schedule.instant(instant("2026-12-05T09:00:00Z"))
        #expect(describe(schedule.due(lastFireAt: instant("2026-12-01T09:00:00Z"), firstSeen: longAgo, now: instant("2026-12-05T09:10:00Z"), grace: hour))
            == ["2026-12-05T09:00:00Z", "next none"])
    }

    @Test func recipientLocalTimesFireAtTheEarliestZoneOnEarth() {
        // 10:00 on December 1 happens first at UTC+14:00: 20:00 UTC the day before.
        let schedule = Schedule.at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 10), zone: .recipient)
        #expect(schedule.firstFireInstant == instant("2026-11-30T20:00:00Z"))
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-11-30T12:00:00Z"), grace: hour))
            == ["next 2026-11-30T20:00:00Z"])
        // A weekly cron in each recipient's zone: Monday 09:00 at UTC+14:00 is Sunday 19:00 UTC.
        let weekly = cron("0 9 * * MON", zone: .recipient)
        #expect(describe(weekly.due(lastFireAt: nil, firstSeen: instant("2026-12-06T00:00:00Z"), now: instant("2026-12-06T19:00:00Z"), grace: 12 * hour))
            == ["2026-12-06T19:00:00Z", "next 2026-12-13T19:00:00Z"])
    }

    @Test func inEachRecipientsZoneTheGraceCountsFromTheLastRecipientsTime() {
        // Fired at 20:00Z (10:00 at UTC+14:00); the last zone, UTC−12:00, reaches 10:00 at 22:00Z
        // the next day. A scheduler back ten hours late still plans it (New York's 10:00 is
        // ahead); past the last recipient's time by the grace, it is expired.
        let schedule = Schedule.at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 10), zone: .recipient)
        #expect(schedule.recipientSpread == 26 * hour)
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-12-01T06:00:00Z"), grace: hour))
            == ["2026-11-30T20:00:00Z", "next none"])
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-12-01T22:59:59Z"), grace: hour))
            == ["2026-11-30T20:00:00Z", "next none"])
        #expect(describe(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-12-01T23:00:00Z"), grace: hour))
            == ["2026-11-30T20:00:00Z expired", "next none"])
        // The same schedule in one zone is expired an hour after its instant.
        let tokyo = Schedule.at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 10), zone: .fixed("Asia/Tokyo"))
        #expect(tokyo.recipientSpread == 0)
        #expect(describe(tokyo.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-12-01T02:00:00Z"), grace: hour))
            == ["2026-12-01T01:00:00Z expired", "next none"])
        // A cron in each recipient's zone likewise.
        let daily = cron("0 9 * * *", zone: .recipient)
        #expect(describe(daily.due(lastFireAt: instant("2026-11-29T19:00:00Z"), firstSeen: longAgo, now: instant("2026-12-01T08:00:00Z"), grace: hour))
            == ["2026-11-30T19:00:00Z", "next 2026-12-01T19:00:00Z"])
    }

    // MARK: cron

    @Test func aNewCronStartsWhenFirstSeenWithoutBackfill() {
        let hourly = cron("0 * * * *")
        let seen = instant("2026-12-01T09:30:00Z")
        // Seen at 09:30: 09:00 and earlier are not sent; 10:00 is next.
        #expect(describe(hourly.due(lastFireAt: nil, firstSeen: seen, now: seen, grace: hour)) == ["next 2026-12-01T10:00:00Z"])
        // A scheduler that first sees it on the hour sends that occurrence.
        let onTheHour = instant("2026-12-01T09:00:00Z")
        #expect(describe(hourly.due(lastFireAt: nil, firstSeen: onTheHour, now: onTheHour, grace: hour))
            == ["2026-12-01T09:00:00Z", "next 2026-12-01T10:00:00Z"])
    }

    @Test func aDowntimeOfSeveralOccurrencesSendsTheRecentOnesAndRecordsTheOlderExpired() {
        let hourly = cron("0 * * * *")
        let last = instant("2026-12-01T09:00:00Z")
        let now = instant("2026-12-01T14:30:00Z")
        // Without expires_after: the grace is an hour; only 14:00 (30 min late) is sent.
        #expect(describe(hourly.due(lastFireAt: last, firstSeen: longAgo, now: now, grace: hour)) == [
            "2026-12-01T10:00:00Z expired", "2026-12-01T11:00:00Z expired", "2026-12-01T12:00:00Z expired",
            "2026-12-01T13:00:00Z expired", "2026-12-01T14:00:00Z", "next 2026-12-01T15:00:00Z",
        ])
        // With expires_after 3h: 12:00 (2 h 30 late) and later are still sent.
        #expect(describe(hourly.due(lastFireAt: last, firstSeen: longAgo, now: now, grace: 3 * hour)) == [
            "2026-12-01T10:00:00Z expired", "2026-12-01T11:00:00Z expired", "2026-12-01T12:00:00Z",
            "2026-12-01T13:00:00Z", "2026-12-01T14:00:00Z", "next 2026-12-01T15:00:00Z",
        ])
        // The campaign's own expires_after is its grace.
        let campaign = Campaign(id: "digest", channels: [.email], template: "digest", schedule: hourly, expiresAfter: DurationLiteral("3h"), file: "campaigns/digest.yml")
        #expect(campaign.catchUpGrace == 3 * hour)
        #expect(describe(campaign.due(lastFireAt: last, firstSeen: longAgo, now: now)) == describe(hourly.due(lastFireAt: last, firstSeen: longAgo, now: now, grace: 3 * hour)))
        #expect(Campaign(id: "digest", channels: [.email], template: "digest", schedule: hourly, file: "campaigns/digest.yml").catchUpGrace == hour)
    }

    @Test func aLongDowntimeIsHandedOutInBoundedSteps() {
        let everyMinute = cron("* * * * *")
        let last = instant("2026-12-01T00:00:00Z")
        let now = instant("2026-12-31T00:00:00Z")
        let first = everyMinute.due(lastFireAt: last, firstSeen: longAgo, now: now, grace: hour, limit: 100)
        #expect(first.occurrences.count == 100)
        #expect(first.occurrences.allSatisfy { $0.isExpired })
        // The next is the first left out, already due: the scheduler goes on at once from there.
        #expect(first.next == instant("2026-12-01T01:41:00Z"))
        let second = everyMinute.due(lastFireAt: first.occurrences.last!.fireAt, firstSeen: longAgo, now: now, grace: hour, limit: 100)
        #expect(second.occurrences.first?.fireAt == instant("2026-12-01T01:41:00Z"))
    }

    @Test func springForwardInNewYorkFiresOnceAtTheShiftedInstant() {
        // 02:30 does not happen on 2026-03-08 in New York: it fires once, at 03:30 EDT (07:30 UTC).
        let nightly = cron("30 2 * * *", zone: .fixed("America/New_York"))
        let last = instant("2026-03-07T07:30:00Z")  // 02:30 EST the day before
        #expect(describe(nightly.due(lastFireAt: last, firstSeen: longAgo, now: instant("2026-03-08T08:00:00Z"), grace: hour))
            == ["2026-03-08T07:30:00Z", "next 2026-03-09T06:30:00Z"])
        // A downtime across the change: the day before is expired, the shifted one is sent late.
        #expect(describe(nightly.due(lastFireAt: instant("2026-03-06T07:30:00Z"), firstSeen: longAgo, now: instant("2026-03-08T08:29:59Z"), grace: hour))
            == ["2026-03-07T07:30:00Z expired", "2026-03-08T07:30:00Z", "next 2026-03-09T06:30:00Z"])
        // A one-off in the gap moves forward by the gap too.
        let once = Schedule.at(LocalDateTime(year: 2026, month: 3, day: 8, hour: 2, minute: 30), zone: .fixed("America/New_York"))
        #expect(once.firstFireInstant == instant("2026-03-08T07:30:00Z"))
    }

    @Test func fallBackInNewYorkFiresOnceAtTheFirstInstant() {
        // 01:30 happens twice on 2026-11-01 (EDT, then EST): one occurrence, at the first.
        let nightly = cron("30 1 * * *", zone: .fixed("America/New_York"))
        #expect(describe(nightly.due(lastFireAt: instant("2026-10-31T05:30:00Z"), firstSeen: longAgo, now: instant("2026-11-01T06:45:00Z"), grace: 2 * hour))
            == ["2026-11-01T05:30:00Z", "next 2026-11-02T06:30:00Z"])
    }

    @Test func aCronWindowEndsTheOccurrences() {
        let daily = cron("0 9 * * *", end: LocalDateTime(year: 2026, month: 12, day: 2, hour: 23, minute: 59))
        #expect(describe(daily.due(lastFireAt: instant("2026-12-01T09:00:00Z"), firstSeen: longAgo, now: instant("2026-12-02T09:00:00Z"), grace: hour))
            == ["2026-12-02T09:00:00Z", "next none"])
        let later = cron("0 9 * * *", start: LocalDateTime(year: 2026, month: 12, day: 10))
        #expect(describe(later.due(lastFireAt: nil, firstSeen: instant("2026-12-01T00:00:00Z"), now: instant("2026-12-01T00:00:00Z"), grace: hour))
            == ["next 2026-12-10T09:00:00Z"])
    }

    @Test(arguments: [Schedule.manual, .trigger(event: "cart_abandoned", delay: nil)])
    func manualAndTriggerSchedulesHaveNoOccurrences(_ schedule: Schedule) {
        #expect(schedule.due(lastFireAt: nil, firstSeen: longAgo, now: instant("2026-12-01T00:00:00Z"), grace: hour) == ScheduleDue())
    }
}
