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
        public var template: String
        public var params: [String: TemplateValue]
        /// In order of preference.
        public var channels: [Channel]
        public var category: String
        public var delivery: DeliveryMode

        public init(userIDs: [String], template: String, params: [String: TemplateValue], channels: [Channel], category: String, delivery: DeliveryMode) {
            self.userIDs = userIDs
            self.template = template
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

    /// The send as a campaign to its users.
    public static func campaign(for request: Request) -> Campaign {
        Campaign(
            id: campaignID(template: request.template), category: request.category, channels: request.channels, delivery: request.delivery,
            template: request.template, params: request.params, schedule: .manual, file: "(API request)", definitionHash: "api"
        )
    }

    /// Plans `request` on `occurrence` (new, or resumed after a crash: nobody is planned twice)
    /// and returns one decision per notification.
    public func plan(_ request: Request, occurrence: Occurrence, store: any Store) async throws -> [PlanDecision] {
        if !occurrence.isPlanned {
            _ = try await planner.plan(Self.campaign(for: request), occurrence: occurrence, recipients: request.userIDs)
        }
        return try await store.decisions(occurrenceID: occurrence.id)
    }
}
