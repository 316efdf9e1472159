import Foundation
import HeraldContent
import HeraldCore
import HeraldRules

/// Decides, for one user, what each channel of a campaign does: send (with rendered content, a
/// due time and an expiry) or skip with a reason. Pure: no store, no clock.
///
/// Order of checks per channel: `first_available` already satisfied (`not_needed`), an address,
/// the opt-in (channel, category, channel:category), a provider for the channel; then the due
/// time (the recipient's wall clock for a schedule in their zone, the throttle, quiet hours),
/// expiry, frequency caps, and rendering. A capped channel lets `first_available` fall through
/// to the next one.
public struct RecipientPlanner: Sendable {
    /// herald.yml's `limits:` and `default_timezone`: what applies to every campaign.
    public struct Limits: Sendable {
        /// Caps across all campaigns. Default none.
        public var frequencyCaps: [FrequencyCap]
        /// Quiet hours of campaigns without their own. Default none.
        public var quietHours: QuietHours?
        /// The zone of recipients without a valid one of their own. Default UTC.
        public var defaultZone: TimeZone

        public init(frequencyCaps: [FrequencyCap] = [], quietHours: QuietHours? = nil, defaultZone: TimeZone = TimeZone(identifier: "UTC")!) {
            self.frequencyCaps = frequencyCaps
            self.quietHours = quietHours
            self.defaultZone = defaultZone
        }
    }

    public var routing: ChannelRouting
    /// Signs `{{unsubscribe_url}}`; `nil` (the variable renders empty) without `tracking:`.
    public var unsubscribeLinks: UnsubscribeLinks?
    /// Rewrites an email's links to `/c/…` and adds the `/o/…` pixel; nil without `tracking:`
    /// (or with both `opens` and `clicks` off).
    public var trackingLinks: TrackingLinks?
    public var limits: Limits
    /// Why a provider would refuse content (over its payload or length limit), checked on each
    /// notification before it is planned: a refused one is `skipped(over_limit)` with the
    /// reason. Nil (campaigns: the transport refuses it at send time) checks nothing.
    public var contentCheck: ContentCheck?

    /// Why `provider` would refuse `content`, or nil.
    public typealias ContentCheck = @Sendable (_ content: NotificationContent, _ provider: String) -> String?

    public init(routing: ChannelRouting, unsubscribeLinks: UnsubscribeLinks? = nil, trackingLinks: TrackingLinks? = nil, limits: Limits = Limits()) {
        self.routing = routing
        self.unsubscribeLinks = unsubscribeLinks
        self.trackingLinks = trackingLinks
        self.limits = limits
    }

    /// The user's zone, or the default one (`isDefault`) when theirs is missing or unknown.
    public func zone(of user: User) -> (zone: TimeZone, isDefault: Bool) {
        if let name = user.timezone, let zone = TimeZoneCache.shared.zone(named: name) { return (zone, false) }
        return (limits.defaultZone, true)
    }

    /// The first cap that one more notification at `due` would go past, with where it was
    /// written: herald.yml's caps count every campaign, a campaign's own count only itself.
    func fullCap(of campaign: Campaign, adding channel: Channel, at due: Date, in zone: TimeZone, history: [CapEntry]) -> String? {
        func isFull(_ cap: FrequencyCap, scope: String?) -> Bool {
            cap.isFull(adding: channel, category: campaign.category, at: due, in: zone, history: history, campaignID: scope)
        }
        if let cap = limits.frequencyCaps.first(where: { isFull($0, scope: nil) }) { return "\(cap.summary) (herald.yml limits)" }
        if let cap = campaign.frequencyCaps.first(where: { isFull($0, scope: campaign.id) }) { return "\(cap.summary) (campaign \(campaign.id))" }
        return nil
    }

    /// The decisions for `user`.
    ///
    /// - Parameters:
    ///   - now: when planning happens: a notification whose expiry has passed is not planned.
    ///   - history: the user's cap ledger (notifications planned or sent around this time).
    ///   - throttle: the campaign's throttle while it is planned; each send takes a slot.
    public func plan(
        _ user: User, campaign: Campaign, occurrence: Occurrence, now: Date, history: [CapEntry] = [],
        throttle: inout ThrottleSlots?, renderer: some NotificationRendering
    ) -> [PlannedNotification] {
        // The recipient's group of the campaign's test: a variant sends its own version, the
        // holdout goes through every check and is recorded where a send would have been.
        let group = campaign.experiment.splits ? Self.group(of: user.id, in: campaign) : nil
        var campaign = campaign
        if case .variant(let variant?) = group { campaign = campaign.applying(variant) }
        let zone = zone(of: user).zone
        // A schedule in each recipient's zone: due when their own clock shows the time.
        let recipientTime = campaign.schedule.recipientWallClock(forFireAt: occurrence.fireAt)
        let intended = recipientTime?.instant(in: zone) ?? occurrence.fireAt
        let expiresAt = campaign.expiresAfter.map { intended.addingTimeInterval(Double($0.seconds)) }
        // Planned late in each recipient's zone (a scheduler was down): one whose own time passed
        // by the catch-up grace or more is not woken hours later; an occurrence in one zone
        // missed by that much is not planned at all (`Schedule.due`). With `expires_after` the
        // expiry below says the same.
        let isMissed = recipientTime != nil && campaign.expiresAfter == nil && now.timeIntervalSince(intended) >= campaign.catchUpGrace
        let quietHours = campaign.isTransactional ? nil : campaign.quietHours ?? limits.quietHours
        var history = history
        var result: [PlannedNotification] = []
        var reached = false
        for channel in campaign.channels {
            func make(_ decision: PlannedNotification.Decision, dueAt: Date = intended, device: Device? = nil, provider: String?, address: String?) -> PlannedNotification {
                var planned = PlannedNotification(
                    occurrenceID: occurrence.id, campaignID: campaign.id, category: campaign.category, userID: user.id,
                    channel: channel, device: device?.address ?? "", provider: provider, address: address, dueAt: dueAt,
                    expiresAt: expiresAt, decision: decision
                )
                planned.variant = group?.name
                return planned
            }
            func skip(_ reason: SkipReason, _ detail: String? = nil, dueAt: Date = intended) -> PlannedNotification {
                make(.skip(reason, detail: detail), dueAt: dueAt, provider: nil, address: nil)
            }
            if reached, campaign.delivery == .firstAvailable {
                result.append(skip(.notNeeded))
                continue
            }
            let targets = self.targets(for: user, on: channel)
            guard !targets.isEmpty else {
                result.append(skip(.noAddress))
                continue
            }
            guard user.preferences.allows(channel: channel, category: campaign.category) else {
                result.append(skip(.optedOut))
                continue
            }
            let routed = targets.filter { $0.provider != nil }
            guard !routed.isEmpty else {
                result.append(skip(.noProvider, "no provider that can carry it in herald.yml channels.\(channel.rawValue)"))
                continue
            }
            let due: Date
            switch Self.dueTime(intended: intended, sends: routed.count, quietHours: quietHours, zone: zone, throttle: throttle) {
            case .due(let instant):
                due = instant
            case .quiet(let instant):
                let window = quietHours.map { "\($0.from)–\($0.to)" } ?? ""
                result.append(skip(.quietHours, "due at \(ISO8601.string(from: instant, in: zone)) in quiet hours \(window) (then: drop)", dueAt: instant))
                continue
            }
            if isMissed {
                result.append(skip(
                    .expired, "due at \(ISO8601.string(from: intended, in: zone)), planned at \(ISO8601.string(from: now)): "
                        + "more than the catch-up grace of 1h late (no expires_after)"
                ))
                continue
            }
            if let expiresAt, due >= expiresAt || expiresAt <= now {
                let when = due >= expiresAt ? "due at \(ISO8601.string(from: due, in: zone))" : "planned at \(ISO8601.string(from: now))"
                result.append(skip(.expired, "\(when), after its expiry at \(ISO8601.string(from: expiresAt, in: zone)) (expires_after \(campaign.expiresAfter!))", dueAt: due))
                continue
            }
            if let full = fullCap(of: campaign, adding: channel, at: due, in: zone, history: history) {
                result.append(skip(.capped, full, dueAt: due))
                continue
            }
            let decision: PlannedNotification.Decision
            var warning: String?
            do {
                // One rendering serves every device of the channel, so the link names the channel,
                // not a device; the dispatcher hands the same link to the transport.
                let key = NotificationKey(occurrenceID: occurrence.id, userID: user.id, channel: channel)
                let unsubscribeURL = unsubscribeLinks?.url(for: key) ?? ""
                let rendered = try renderer.render(campaign, channel: channel, for: user, unsubscribeURL: unsubscribeURL)
                if let trackingLinks, case .email(var email) = rendered.content, let html = email.html {
                    email.html = trackingLinks.tracked(html: html, for: key, keeping: unsubscribeURL)
                    decision = .send(.email(email))
                } else {
                    decision = .send(rendered.content)
                }
                if !rendered.missingVariables.isEmpty {
                    warning = "missing variables rendered empty: " + rendered.missingVariables.joined(separator: ", ")
                }
            } catch {
                decision = .skip(.renderFailed, detail: String(describing: error))
            }
            var sends = 0
            var heldOut = false
            for target in routed {
                var targetDecision = decision
                if case .send(let content) = decision, let contentCheck, let provider = target.provider, let refusal = contentCheck(content, provider) {
                    targetDecision = .skip(.overLimit, detail: refusal)
                }
                // The holdout goes through every check, rendering included, and is recorded where
                // a send would have been: sent nothing, it takes no throttle slot and fills no cap.
                if group == .holdout, case .send = targetDecision {
                    targetDecision = .skip(.holdout, detail: "in the campaign's \(campaign.experiment.holdoutText) holdout")
                    heldOut = true
                }
                if case .send = targetDecision { sends += 1 }
                var planned = make(targetDecision, dueAt: due, device: target.device, provider: target.provider, address: target.address)
                if case .send = targetDecision { planned.warning = warning }
                result.append(planned)
            }
            if heldOut { reached = true }
            if sends > 0 {
                reached = true
                throttle?.reserve(sends, at: due)
                history.append(CapEntry(at: due, channel: channel, category: campaign.category, campaignID: campaign.id))
            }
        }
        return result
    }

    /// The experiment group of a user in a campaign: from their bucket among 10,000 by the rules
    /// engine's stable hash (`bucket()`'s FNV-1a), of `experiment:<campaign id>` and the user id.
    /// The prefix keeps the split independent of an audience rule's own `bucket(n)`: a campaign
    /// sent to `bucket(10000) < 2500` still holds out 10% of those people, not 40%.
    public static func group(of userID: String, in campaign: Campaign) -> Experiment.Group {
        campaign.experiment.group(forBucket: Int(RuleFunctions.bucket(campaignID: "experiment:" + campaign.id, userID: userID, count: 10_000)))
    }

    /// The decisions for `user` in a campaign without throttle state: one recipient on its own
    /// (a preview, a test).
    public func plan(
        _ user: User, campaign: Campaign, occurrence: Occurrence, now: Date, history: [CapEntry] = [], renderer: some NotificationRendering
    ) -> [PlannedNotification] {
        var throttle: ThrottleSlots? = nil
        return plan(user, campaign: campaign, occurrence: occurrence, now: now, history: history, throttle: &throttle, renderer: renderer)
    }

    enum DueTime: Equatable {
        case due(Date)
        /// In quiet hours with `then: drop`, at this instant.
        case quiet(Date)
    }

    /// When `sends` notifications meant for `intended` are due: the first instant the throttle
    /// has room for them that is outside quiet hours (a notification delayed to the end of quiet
    /// hours takes a throttle slot from there). A throttle so slow that every slot falls in quiet
    /// hours gives up after a few rounds and keeps the last slot.
    static func dueTime(intended: Date, sends: Int, quietHours: QuietHours?, zone: TimeZone, throttle: ThrottleSlots?) -> DueTime {
        var due = intended
        for _ in 0..<8 {
            if let throttle { due = throttle.firstFree(atOrAfter: due, count: sends) }
            guard let quietHours else { return .due(due) }
            switch quietHours.decision(for: due, in: zone) {
            case .unchanged: return .due(due)
            case .dropped: return .quiet(due)
            case .delayed(let until): due = until
            }
        }
        return .due(due)
    }

    /// The addresses a channel reaches for this user: the email, the phone, or every active push
    /// device, each with the provider that carries it.
    func targets(for user: User, on channel: Channel) -> [(address: String, device: Device?, provider: String?)] {
        switch channel {
        case .email:
            guard let email = user.email, !email.isEmpty else { return [] }
            return [(email, nil, routing.email.first)]
        case .sms:
            guard let phone = user.phone, !phone.isEmpty else { return [] }
            return [(phone, nil, routing.sms.first)]
        case .push:
            return user.activeDevices.map { ($0.address, $0, routing.push[$0.service]) }
        }
    }
}

extension FrequencyCap {
    /// The cap as a person reads it: `at most 3 per 1d on push`.
    public var summary: String {
        var text = "at most \(max) per \(per)"
        if let channel { text += " on \(channel.rawValue)" }
        if let category { text += " in \(category)" }
        return text
    }
}

extension RecipientPlanner.Limits {
    /// herald.yml's `limits:` and `default_timezone` (UTC when the zone is unknown).
    public init(_ configuration: HeraldConfiguration) {
        self.init(
            frequencyCaps: configuration.frequencyCaps, quietHours: configuration.quietHours,
            defaultZone: TimeZoneCache.shared.zone(named: configuration.defaultTimezone) ?? TimeZone(identifier: "UTC")!
        )
    }
}
