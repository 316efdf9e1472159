import Foundation
import HeraldCore
import HeraldRules

/// Records events received for users (`herald trigger`, `POST /v1/events`) and plans, for that
/// user alone, the campaigns whose `schedule: {trigger: …}` names the event.
///
/// Which campaigns reach the user is decided before anything is written, so a rule that cannot
/// run records nothing. The event and one occurrence per reached campaign are written in one
/// transaction; planning follows. An event sent again with the same external id records and
/// plans nothing new, and finishes a planning that an earlier receipt left unfinished.
public struct EventIntake: Sendable {
    /// What became of one campaign the event triggers.
    public enum CampaignOutcome: Sendable {
        /// Planned for the user (now or by an earlier receipt of the same event), due at
        /// `dueAt`: one decision per notification.
        case planned(campaignID: String, dueAt: Date, decisions: [PlanDecision], before: Bool)
        /// The user is outside the campaign's audience; `why` names the terms that do not hold.
        case outsideAudience(campaignID: String, why: String)
        /// An earlier receipt planned (or began) the campaign, which is no longer in the workspace.
        case unusable(campaignID: String, plannedBefore: Bool)

        public var campaignID: String {
            switch self {
            case .planned(let id, _, _, _), .outsideAudience(let id, _), .unusable(let id, _): id
            }
        }
    }

    /// What receiving an event did.
    public struct Outcome: Sendable {
        /// The event as stored (the first receipt's, when its external id was seen before).
        public var event: ReceivedEvent
        /// False when the external id was received before: nothing new was recorded.
        public var isNew: Bool
        /// One per campaign, in campaign id order.
        public var campaigns: [CampaignOutcome]
        /// Whether any campaign of the workspace names the event.
        public var triggersAnything: Bool
    }

    let store: any UserStore & PlanningStore & EventStore
    let planner: Planner
    let campaigns: [Campaign]
    let schema: AttributeSchema
    let defaultTimezone: String

    public init(store: any UserStore & PlanningStore & EventStore, planner: Planner, campaigns: [Campaign], schema: AttributeSchema, defaultTimezone: String) {
        self.store = store
        self.planner = planner
        self.campaigns = campaigns
        self.schema = schema
        self.defaultTimezone = defaultTimezone
    }

    /// Records `event` and plans what it triggers.
    ///
    /// - Throws: ``EventError`` with `.unknownUser` when no user has the event's user id, or
    ///   `.conflictingID` when its external id names another event; nothing is recorded then.
    public func receive(_ event: ReceivedEvent, at now: Date) async throws -> Outcome {
        guard let recipient = try await store.users(matching: .ids([event.userID]), after: nil, limit: 1).first else {
            throw EventError(.unknownUser, "no user with id \(Quoted.visible(event.userID))")
        }
        var reached: [TriggeredCampaign] = []
        var outside: [CampaignOutcome] = []
        let triggered = campaigns.filter { $0.triggeringEvent == event.name }
        for campaign in triggered {
            let dueAt = event.receivedAt.addingTimeInterval(campaign.triggerDelay)
            if let why = try await exclusion(of: recipient, from: campaign, at: dueAt) {
                outside.append(.outsideAudience(campaignID: campaign.id, why: why))
            } else {
                reached.append(TriggeredCampaign(campaignID: campaign.id, definitionHash: campaign.definitionHash, dueAt: dueAt))
            }
        }
        let receipt = try await store.recordEvent(event, triggering: reached, at: now)
        let recorded = receipt.event
        var outcomes: [CampaignOutcome] = []
        for (campaignID, occurrence) in receipt.occurrences.sorted(by: { $0.key < $1.key }) {
            guard var campaign = campaigns.first(where: { $0.id == campaignID }) else {
                outcomes.append(.unusable(campaignID: campaignID, plannedBefore: occurrence.isPlanned))
                continue
            }
            if !occurrence.isPlanned {
                campaign.override(properties: recorded.properties)
                _ = try await planner.plan(campaign, occurrence: occurrence, recipients: [recorded.userID])
            }
            outcomes.append(.planned(
                campaignID: campaignID, dueAt: occurrence.fireAt, decisions: try await store.decisions(occurrenceID: occurrence.id),
                before: !receipt.isNew && occurrence.isPlanned
            ))
        }
        // Who was outside the audience is known only when the event is new: a repeated receipt
        // decided nothing again.
        if receipt.isNew { outcomes += outside }
        return Outcome(event: recorded, isNew: receipt.isNew, campaigns: outcomes, triggersAnything: !triggered.isEmpty)
    }

    /// Why `user` is outside the audience of `campaign` at `dueAt`, or nil when the campaign
    /// reaches them. The store decides, with the campaign's audience query restricted to the
    /// user, so that the answer is the one planning the audience would give; the terms that do
    /// not hold are named from the in-memory evaluation.
    func exclusion(of user: User, from campaign: Campaign, at dueAt: Date) async throws -> String? {
        let audience = try await planner.audience(of: campaign, at: dueAt)
        guard case .rule(let source, let now, let campaignID) = audience else { return nil }
        let restricted = UserFilter.ruleAmong(ids: [user.id], source, now: now, campaignID: campaignID)
        try await store.checkAudience(restricted)
        guard try await store.countUsers(matching: restricted) == 0 else { return nil }
        let rule = try Rule(source, schema: schema)
        let context = try await store.ruleContext(now: now, campaignID: campaignID, defaultTimezone: defaultTimezone, for: [user.id])
        let failing = rule.explain(user, in: context).filter { !$0.holds }.map(\.text)
        switch failing.count {
        case 0: return source.text
        case 1: return "\(failing[0]) does not hold"
        default: return "these do not hold: " + failing.joined(separator: "; ")
        }
    }
}

extension EventStore {
    /// A rule context with the events `userIDs` received, for `performed()` and `count()` in
    /// memory (`audience --user`, `preview`, the reasons a user is outside an audience); SQL
    /// reads them from the store itself.
    public func ruleContext(now: Date, campaignID: String, defaultTimezone: String, for userIDs: [String]) async throws -> RuleContext {
        var context = RuleContext(now: now, campaignID: campaignID, defaultTimezone: defaultTimezone)
        for id in userIDs {
            let events = try await receivedEvents(userID: id, named: nil, limit: 100_000)
            context.add(events.map { (name: $0.name, at: $0.receivedAt) }, for: id)
        }
        return context
    }
}

extension Campaign {
    /// The event that triggers the campaign, when its schedule is a trigger.
    public var triggeringEvent: String? {
        if case .trigger(let event, _) = schedule { return event }
        return nil
    }

    /// A triggered campaign's delay in seconds (0 without one).
    public var triggerDelay: TimeInterval {
        if case .trigger(_, let delay?) = schedule { return TimeInterval(delay.seconds) }
        return 0
    }
}
