import Foundation
import HeraldCore

/// A one-off send to named users with one of the workspace's templates (`POST
/// /v1/notifications`): planned like a campaign sent to those users, so that opt-outs, caps,
/// quiet hours (for anything but transactional sends), channel fallback and the outbox are the
/// same, and delivered by the same workers.
public struct DirectSend: Sendable {
    /// What a service asked to send.
    public struct Request: Sendable, Hashable {
        public var userIDs: [String]
        /// A template of the workspace; empty with `rawContent`.
        public var template: String
        /// The raw form's content, sent as given in place of a template's.
        public var rawContent: RawContent?
        public var params: [String: TemplateValue]
        /// In order of preference.
        public var channels: [Channel]
        public var category: String
        public var delivery: DeliveryMode

        public init(
            userIDs: [String], template: String, rawContent: RawContent? = nil, params: [String: TemplateValue], channels: [Channel], category: String,
            delivery: DeliveryMode
        ) {
            self.userIDs = userIDs
            self.template = template
            self.rawContent = rawContent
            self.params = params
            self.channels = channels
            self.category = category
            self.delivery = delivery
        }
    }

    let planner: Planner

    public init(planner: Planner) {
        self.planner = planner
    }

    /// The campaign id API sends of `template` are recorded under: `api:` and the template's
    /// name, which no campaign file can have (campaign ids are `[a-z0-9-]+`), so reports show
    /// them apart.
    public static func campaignID(template: String) -> String {
        "api:" + template
    }

    /// The campaign id of sends in the raw form: `api:(raw)`, which no template name can give
    /// (template names are letters, digits, `-` and `_`).
    public static let rawCampaignID = "api:(raw)"

    /// The campaign id `request` is recorded under.
    public static func campaignID(for request: Request) -> String {
        request.rawContent == nil ? campaignID(template: request.template) : rawCampaignID
    }

    /// The send as a campaign to its users.
    public static func campaign(for request: Request) -> Campaign {
        Campaign(
            id: campaignID(for: request), category: request.category, channels: request.channels, delivery: request.delivery,
            template: request.template, params: request.params, schedule: .manual, file: "(API request)", definitionHash: "api",
            rawContent: request.rawContent
        )
    }

    /// What a store needs to plan `request` inside its own transaction: how far back the cap
    /// ledger matters, and the planner's decisions for the occurrence's users given their ledger.
    public func decider(for request: Request) -> (capReach: Double?, decide: @Sendable (Occurrence, [User], [String: [CapEntry]]) -> [PlannedNotification]) {
        let campaign = Self.campaign(for: request)
        let planner = self.planner
        return (planner.capReach(of: campaign), { occurrence, users, history in
            planner.decide(campaign, occurrence: occurrence, users: users, history: history)
        })
    }
}
