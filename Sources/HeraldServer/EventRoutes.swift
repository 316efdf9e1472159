import Foundation
import HeraldCore
import HeraldEngine
import Hummingbird

extension APIServer {
    /// `POST /v1/events {user_id, name, properties, id, at}`: records the event and plans the
    /// campaigns it triggers for the user. 201 for a new event; 200 for an `id` received before,
    /// which records and plans nothing again.
    func addEventRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post { request, _ in
            let fields = JSONFields(object: try await JSONBody.object(of: request))
            try fields.refuseUnknown(["user_id", "name", "properties", "id", "at"])
            let userID = try fields.requiredString("user_id", "the id of the user the event happened to")
            let name = try fields.requiredString("name", "the event name, e.g. cart_abandoned")
            guard ReceivedEvent.isValidName(name) else {
                throw APIError.invalidField(
                    "name", "\(Quoted.visible(name)) is not an event name: use 1 to \(ReceivedEvent.maximumNameLength) letters, digits, '_', '-' and '.'"
                )
            }
            let externalID = try fields.string("id")
            if let externalID {
                guard !externalID.isEmpty, externalID.unicodeScalars.count <= ReceivedEvent.maximumNameLength,
                      !externalID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                else {
                    throw APIError.invalidField("id", "give 1 to \(ReceivedEvent.maximumNameLength) characters without control characters")
                }
            }
            var properties = EventProperties.empty
            if let object = try fields.objectValue("properties") {
                let text = String(decoding: JSONBody.encode(object), as: UTF8.self)
                do throws(EventPropertiesError) {
                    properties = try EventProperties(json: text)
                } catch {
                    throw APIError.invalidField("properties", error.description)
                }
            }
            let now = self.now
            var happened = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
            if let at = try fields.string("at") {
                switch ISO8601.seconds(from: at) {
                case .success(let seconds): happened = Date(timeIntervalSince1970: seconds)
                case .failure(let problem): throw APIError.invalidField("at", "\(Quoted.visible(at)) is not an instant: \(problem.hint)")
                }
            }
            let outcome: EventIntake.Outcome
            do {
                outcome = try await parts.events.receive(
                    ReceivedEvent(externalID: externalID, userID: userID, name: name, properties: properties, receivedAt: happened), at: now
                )
            } catch let error as EventError {
                switch error.code {
                case .unknownUser: throw APIError.notFound("user.not_found", error.message)
                case .conflictingID: throw APIError(.unprocessableContent, code: error.code.rawValue, error.message, field: "id")
                }
            }
            parts.onPlanned()
            return JSONBody.response(Self.json(outcome), status: outcome.isNew ? .created : .ok)
        }
    }

    static func json(_ outcome: EventIntake.Outcome) -> [String: Any] {
        var event: [String: Any] = [
            "id": outcome.event.id, "user_id": outcome.event.userID, "name": outcome.event.name,
            "at": ISO8601.string(from: outcome.event.receivedAt),
        ]
        if let external = outcome.event.externalID { event["external_id"] = external }
        let campaigns: [[String: Any]] = outcome.campaigns.map { campaign in
            switch campaign {
            case .planned(let id, let dueAt, let decisions, let before):
                return [
                    "campaign": id, "result": "planned", "due_at": ISO8601.string(from: dueAt), "planned_before": before,
                    "notifications": decisions.map(json),
                ]
            case .outsideAudience(let id, let why):
                return ["campaign": id, "result": "outside_audience", "reason": why]
            case .unusable(let id, let plannedBefore):
                return ["campaign": id, "result": plannedBefore ? "planned_before" : "campaign_removed"]
            }
        }
        return ["event": event, "new": outcome.isNew, "campaigns": campaigns]
    }

    /// One notification's initial state.
    static func json(_ decision: PlanDecision) -> [String: Any] {
        var object: [String: Any] = [
            "id": decision.notificationID, "channel": decision.channel.rawValue, "state": decision.state.rawValue,
            "due_at": ISO8601.string(from: decision.dueAt),
        ]
        if let reason = decision.reason { object["reason"] = reason }
        if let detail = decision.detail { object["detail"] = detail }
        if !decision.device.isEmpty { object["device"] = decision.device }
        return object
    }
}
