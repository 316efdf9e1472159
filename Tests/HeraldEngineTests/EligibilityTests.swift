import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldTesting
import Testing

/// Quiet hours, recipient-local times, throttle, expiry and frequency caps as the planner applies
/// them to one recipient: pure decisions, in virtual time, across zones and DST.
@Suite struct EligibilityTests {
    static func at(_ text: String) -> Date { ISO8601.date(from: text)! }

    static let night = QuietHours(from: TimeOfDay("21:00")!, to: TimeOfDay("08:00")!, then: .delay)

    static func sale(
        category: String = "marketing", channels: [Channel] = [.email], delivery: DeliveryMode = .firstAvailable,
        schedule: Schedule = .manual, caps: [FrequencyCap] = [], quietHours: QuietHours? = nil, throttle: RateLiteral? = nil,
        expiresAfter: DurationLiteral? = nil
    ) -> Campaign {
        Campaign(
            id: "sale", category: category, channels: channels, delivery: delivery, template: "sale", schedule: schedule,
            frequencyCaps: caps, quietHours: quietHours, throttle: throttle, expiresAfter: expiresAfter, file: "campaigns/sale.yml"
        )
    }

    static func plan(
        _ user: User, _ campaign: Campaign, fireAt: String, now: String? = nil, limits: RecipientPlanner.Limits = RecipientPlanner.Limits(),
        history: [CapEntry] = [], throttle: inout ThrottleSlots?
    ) -> [PlannedNotification] {
        let occurrence = Occurrence(id: 1, campaignID: campaign.id, fireAt: at(fireAt), definitionHash: "", isNew: true)
        return RecipientPlanner(routing: routing, limits: limits).plan(
            user, campaign: campaign, occurrence: occurrence, now: at(now ?? fireAt), history: history, throttle: &throttle, renderer: ClosureRenderer.simple
        )
    }

    static func plan(
        _ user: User, _ campaign: Campaign, fireAt: String, now: String? = nil, limits: RecipientPlanner.Limits = RecipientPlanner.Limits(),
        history: [CapEntry] = []
    ) -> [PlannedNotification] {
        var throttle: ThrottleSlots? = nil
        return plan(user, campaign, fireAt: fireAt, now: now, limits: limits, history: history, throttle: &throttle)
    }

    /// `channel=outcome@due` with the due time in UTC, or the skip reason and its detail.
    static func describe(_ decisions: [PlannedNotification]) -> [String] {
        decisions.map { planned in
            switch planned.decision {
            case .send: "\(planned.channel.rawValue)=send@\(ISO8601.string(from: planned.dueAt))"
            case .skip(let reason, let detail): "\(planned.channel.rawValue)=\(reason.rawValue)" + (detail.map { " (\($0))" } ?? "")
            }
        }
    }

    static let seoul = User(id: "u-1", email: "a@example.com", phone: "+821012345678", timezone: "Asia/Seoul")

    // MARK: quiet hours

    @Test func quietHoursDelayToTheEndOfTheWindowOnTheRecipientsClock() {
        // 13:30Z is 22:30 in Seoul: delayed to 08:00 the next morning there (23:00Z).
        let limits = RecipientPlanner.Limits(quietHours: Self.night)
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(), fireAt: "2026-12-01T13:30:00Z", limits: limits)) == ["email=send@2026-12-01T23:00:00Z"])
        // 20:00Z is 05:00 in Seoul, after midnight: delayed to 08:00 the same day.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(), fireAt: "2026-12-01T20:00:00Z", limits: limits)) == ["email=send@2026-12-01T23:00:00Z"])
        // 01:00Z is 10:00 in Seoul: unchanged.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(), fireAt: "2026-12-02T01:00:00Z", limits: limits)) == ["email=send@2026-12-02T01:00:00Z"])
        // A recipient without a zone is read in the default one (here New York: 13:30Z is 08:30 there).
        let nowhere = User(id: "u-2", email: "b@example.com", timezone: "Mars/Olympus")
        let newYork = RecipientPlanner.Limits(quietHours: Self.night, defaultZone: TimeZone(identifier: "America/New_York")!)
        #expect(Self.describe(Self.plan(nowhere, Self.sale(), fireAt: "2026-12-01T13:30:00Z", limits: newYork)) == ["email=send@2026-12-01T13:30:00Z"])
        #expect(RecipientPlanner(routing: routing, limits: newYork).zone(of: nowhere).isDefault)
    }

    @Test func aCampaignsQuietHoursOverrideTheGlobalOnesAndDropSkips() {
        let limits = RecipientPlanner.Limits(quietHours: Self.night)
        let dropAtLunch = QuietHours(from: TimeOfDay("12:00")!, to: TimeOfDay("13:00")!, then: .drop)
        // 03:30Z is 12:30 in Seoul: the campaign's window drops it; the global night window does not apply.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(quietHours: dropAtLunch), fireAt: "2026-12-01T03:30:00Z", limits: limits)) == [
            "email=quiet_hours (due at 2026-12-01T12:30:00+09:00 in quiet hours 12:00–13:00 (then: drop))",
        ])
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(quietHours: dropAtLunch), fireAt: "2026-12-01T13:30:00Z", limits: limits)) == [
            "email=send@2026-12-01T13:30:00Z",
        ])
    }

    @Test func transactionalIgnoresQuietHoursAndCaps() {
        let limits = RecipientPlanner.Limits(frequencyCaps: [FrequencyCap(max: 1, per: .calendarDay)], quietHours: Self.night)
        let history = [CapEntry(at: Self.at("2026-12-01T12:00:00Z"), channel: .email, category: "marketing", campaignID: "other")]
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(category: "transactional"), fireAt: "2026-12-01T13:30:00Z", limits: limits, history: history)) == [
            "email=send@2026-12-01T13:30:00Z",
        ])
    }

    @Test func quietHoursEndingInADSTGapEndWhenTheClockReachesThatTime() {
        // New York springs forward on 2026-03-08 at 02:00 to 03:00. A window ending at 02:30 ends
        // at 03:30 EDT (07:30Z), the moment the clock has gone as far past the jump.
        let user = User(id: "u-1", email: "a@example.com", timezone: "America/New_York")
        let early = QuietHours(from: TimeOfDay("01:00")!, to: TimeOfDay("02:30")!, then: .delay)
        #expect(Self.describe(Self.plan(user, Self.sale(quietHours: early), fireAt: "2026-03-08T06:15:00Z")) == ["email=send@2026-03-08T07:30:00Z"])
    }

    // MARK: recipient-local times

    @Test func aScheduleInTheRecipientsZoneIsDueAtTheirOwnWallClockTime() {
        let time = LocalDateTime(year: 2026, month: 12, day: 1, hour: 10)
        let campaign = Self.sale(schedule: .at(time, zone: .recipient))
        // The occurrence fires when UTC+14 reaches 10:00 (20:00Z the day before).
        let fireAt = time.instant(in: Schedule.earliestZone)
        #expect(fireAt == Self.at("2026-11-30T20:00:00Z"))
        let fire = ISO8601.string(from: fireAt)
        #expect(Self.describe(Self.plan(Self.seoul, campaign, fireAt: fire)) == ["email=send@2026-12-01T01:00:00Z"])
        let newYork = User(id: "u-2", email: "b@example.com", timezone: "America/New_York")
        #expect(Self.describe(Self.plan(newYork, campaign, fireAt: fire)) == ["email=send@2026-12-01T15:00:00Z"])
        // Sent by hand at another instant (`send --now`): now, for everyone.
        #expect(Self.describe(Self.plan(newYork, campaign, fireAt: "2026-11-30T08:00:00Z")) == ["email=send@2026-11-30T08:00:00Z"])
    }

    @Test func plannedLateInEachRecipientsZoneARecipientWhoseTimePassedByTheGraceIsNotWokenHoursLater() {
        // 10:00 in each recipient's zone fires at 20:00Z; a scheduler back at 06:00Z the next
        // day: Seoul's 10:00 (01:00Z) is five hours past, New York's (15:00Z) still ahead.
        let time = LocalDateTime(year: 2026, month: 12, day: 1, hour: 10)
        let campaign = Self.sale(schedule: .at(time, zone: .recipient))
        let fire = ISO8601.string(from: time.instant(in: Schedule.earliestZone))
        #expect(Self.describe(Self.plan(Self.seoul, campaign, fireAt: fire, now: "2026-12-01T06:00:00Z")) == [
            "email=expired (due at 2026-12-01T10:00:00+09:00, planned at 2026-12-01T06:00:00Z: more than the catch-up grace of 1h late (no expires_after))",
        ])
        let newYork = User(id: "u-2", email: "b@example.com", timezone: "America/New_York")
        #expect(Self.describe(Self.plan(newYork, campaign, fireAt: fire, now: "2026-12-01T06:00:00Z")) == ["email=send@2026-12-01T15:00:00Z"])
        // Within the grace, late but sent.
        #expect(Self.describe(Self.plan(Self.seoul, campaign, fireAt: fire, now: "2026-12-01T01:59:00Z")) == ["email=send@2026-12-01T01:00:00Z"])
        // With expires_after, the expiry decides (a 12-hour one keeps Seoul).
        let patient = Self.sale(schedule: .at(time, zone: .recipient), expiresAfter: DurationLiteral(amount: 12, unit: .hours))
        #expect(Self.describe(Self.plan(Self.seoul, patient, fireAt: fire, now: "2026-12-01T06:00:00Z")) == ["email=send@2026-12-01T01:00:00Z"])
    }

    @Test func aRecurringScheduleInTheRecipientsZoneAcrossDST() throws {
        // 01:30 on Sundays: on 2026-11-01 New York's clock shows 01:30 twice; the first is used.
        let cron = CronSchedule(expression: try CronExpression("30 1 * * SUN"), zone: .recipient)
        let campaign = Self.sale(schedule: .cron(cron))
        let fireAt = LocalDateTime(year: 2026, month: 11, day: 1, hour: 1, minute: 30).instant(in: Schedule.earliestZone)
        let user = User(id: "u-1", email: "a@example.com", timezone: "America/New_York")
        #expect(Self.describe(Self.plan(user, campaign, fireAt: ISO8601.string(from: fireAt))) == ["email=send@2026-11-01T05:30:00Z"])
    }

    // MARK: expiry

    @Test func expiryIsCountedFromTheIntendedDueTimeAndNeverSendsLate() {
        let limits = RecipientPlanner.Limits(quietHours: Self.night)
        let twoHours = DurationLiteral(amount: 2, unit: .hours)
        // Due 22:30 in Seoul, held until 08:00: past its 2-hour expiry, so never sent.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(expiresAfter: twoHours), fireAt: "2026-12-01T13:30:00Z", limits: limits)) == [
            "email=expired (due at 2026-12-02T08:00:00+09:00, after its expiry at 2026-12-02T00:30:00+09:00 (expires_after 2h))",
        ])
        // Planned an hour late (a scheduler that was down): still within the expiry, sent now.
        let late = Self.plan(Self.seoul, Self.sale(expiresAfter: twoHours), fireAt: "2026-12-02T01:00:00Z", now: "2026-12-02T02:00:00Z")
        #expect(Self.describe(late) == ["email=send@2026-12-02T01:00:00Z"])
        #expect(late.first?.expiresAt == Self.at("2026-12-02T03:00:00Z"))
        // Planned three hours late: expired.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(expiresAfter: twoHours), fireAt: "2026-12-02T01:00:00Z", now: "2026-12-02T04:00:00Z")) == [
            "email=expired (planned at 2026-12-02T04:00:00Z, after its expiry at 2026-12-02T12:00:00+09:00 (expires_after 2h))",
        ])
    }

    // MARK: frequency caps

    @Test func aCappedChannelFallsThroughToTheNextAndNamesTheCap() {
        let limits = RecipientPlanner.Limits(frequencyCaps: [FrequencyCap(max: 1, per: .calendarDay, channel: .sms)])
        let history = [CapEntry(at: Self.at("2026-12-01T00:30:00Z"), channel: .sms, category: "marketing", campaignID: "other")]
        // 09:30 and 10:30 in Seoul: the same calendar day there, so SMS is full and email takes it.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(channels: [.sms, .email]), fireAt: "2026-12-01T01:30:00Z", limits: limits, history: history)) == [
            "sms=capped (at most 1 per calendar_day on sms (herald.yml limits))", "email=send@2026-12-01T01:30:00Z",
        ])
        // The next day in Seoul (15:30Z is 00:30 there): SMS again.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(channels: [.sms, .email]), fireAt: "2026-12-01T15:30:00Z", limits: limits, history: history)) == [
            "sms=send@2026-12-01T15:30:00Z", "email=not_needed",
        ])
    }

    @Test func aCampaignsOwnCapCountsOnlyItselfAndSendsOfOneUserCountTogether() {
        let own = FrequencyCap(max: 1, per: .rolling(DurationLiteral(amount: 1, unit: .days)))
        let other = [CapEntry(at: Self.at("2026-12-01T00:00:00Z"), channel: .email, category: "marketing", campaignID: "other")]
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(caps: [own]), fireAt: "2026-12-01T01:00:00Z", history: other)) == ["email=send@2026-12-01T01:00:00Z"])
        let mine = [CapEntry(at: Self.at("2026-12-01T00:00:00Z"), channel: .email, category: "marketing", campaignID: "sale")]
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(caps: [own]), fireAt: "2026-12-01T01:00:00Z", history: mine)) == [
            "email=capped (at most 1 per 1d (campaign sale))",
        ])
        // delivery: all with a cap of one: the first channel takes the slot, the second is capped.
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(channels: [.email, .sms], delivery: .all, caps: [own]), fireAt: "2026-12-01T01:00:00Z")) == [
            "email=send@2026-12-01T01:00:00Z", "sms=capped (at most 1 per 1d (campaign sale))",
        ])
    }

    @Test func aRollingCapLooksAheadAsWellAsBack() {
        // A notification already planned for tomorrow morning counts against one tonight.
        let cap = FrequencyCap(max: 1, per: .rolling(DurationLiteral(amount: 12, unit: .hours)))
        let limits = RecipientPlanner.Limits(frequencyCaps: [cap])
        let tomorrow = [CapEntry(at: Self.at("2026-12-02T00:00:00Z"), channel: .email, category: "marketing", campaignID: "other")]
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(), fireAt: "2026-12-01T13:00:00Z", limits: limits, history: tomorrow)) == [
            "email=capped (at most 1 per 12h (herald.yml limits))",
        ])
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(), fireAt: "2026-12-01T12:00:00Z", limits: limits, history: tomorrow)) == ["email=send@2026-12-01T12:00:00Z"])
    }

    @Test func capsAreCountedAtTheDueTimeAfterQuietHours() {
        // Due 22:30 in Seoul, delayed to 08:00 on the 2nd: that day's SMS slot is the one counted.
        let limits = RecipientPlanner.Limits(frequencyCaps: [FrequencyCap(max: 1, per: .calendarDay)], quietHours: Self.night)
        let onTheSecond = [CapEntry(at: Self.at("2026-12-02T03:00:00Z"), channel: .email, category: "marketing", campaignID: "other")]
        #expect(Self.describe(Self.plan(Self.seoul, Self.sale(), fireAt: "2026-12-01T13:30:00Z", limits: limits, history: onTheSecond)) == [
            "email=capped (at most 1 per calendar_day (herald.yml limits))",
        ])
    }

    // MARK: throttle

    @Test func theThrottleSpreadsDueTimesSoNoIntervalHasMoreThanTheRate() {
        var throttle: ThrottleSlots? = ThrottleSlots(rate: RateLiteral(count: 2, per: .minute))
        let campaign = Self.sale(throttle: RateLiteral(count: 2, per: .minute))
        var dues: [String] = []
        for index in 0..<5 {
            let user = User(id: "u-\(index)", email: "\(index)@example.com", timezone: "UTC")
            dues += Self.plan(user, campaign, fireAt: "2026-12-01T12:00:30Z", throttle: &throttle).map { ISO8601.string(from: $0.dueAt) }
        }
        #expect(dues == [
            "2026-12-01T12:00:30Z", "2026-12-01T12:00:30Z", "2026-12-01T12:01:00Z", "2026-12-01T12:01:00Z", "2026-12-01T12:02:00Z",
        ])
    }

    @Test func aThrottledSendHeldByQuietHoursTakesItsSlotWhenTheWindowEnds() {
        var throttle: ThrottleSlots? = ThrottleSlots(rate: RateLiteral(count: 1, per: .minute))
        let limits = RecipientPlanner.Limits(quietHours: Self.night)
        let campaign = Self.sale(throttle: RateLiteral(count: 1, per: .minute))
        var dues: [String] = []
        for index in 0..<3 {
            // 20:59 UTC: the first is due before the window, the others are pushed into it and
            // delayed to 08:00, where each takes its own minute.
            let user = User(id: "u-\(index)", email: "\(index)@example.com", timezone: "UTC")
            dues += Self.plan(user, campaign, fireAt: "2026-12-01T20:59:00Z", limits: limits, throttle: &throttle).map { ISO8601.string(from: $0.dueAt) }
        }
        #expect(dues == ["2026-12-01T20:59:00Z", "2026-12-02T08:00:00Z", "2026-12-02T08:01:00Z"])
    }
}
