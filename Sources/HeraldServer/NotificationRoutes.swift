import Crypto
import Foundation
import HeraldCore
import HeraldEngine
import HTTPTypes
import HeraldStore
import Hummingbird

extension APIServer {
    /// The most recipients one request may name.
    static let maximumRecipients = 1000

    /// `POST /v1/notifications` and the shorthands `POST /v1/{push|sms|email}/send`: a one-off
    /// send of a workspace template to named users, answered with each notification's id and
    /// initial state (202: delivery follows through the outbox).
    func addNotificationRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("notifications") { request, context in
            try await send(request, context, channel: nil)
        }
        for channel in Channel.allCases {
            group.post("\(channel.rawValue)/send") { request, context in
                try await send(request, context, channel: channel)
            }
        }
    }

    func send(_ request: Request, _ context: APIRequestContext, channel fixed: Channel?) async throws -> Response {
        guard let key = context.key else { throw APIAuthenticator.unauthorized("no key") }
        let idempotencyKey = try Self.idempotencyKey(request)
        let bytes = try await JSONBody.bytes(of: request)
        let send = try parseSend(try JSONBody.object(fromBytes: bytes), channel: fixed)
        // Unknown users are refused before anything is written.
        let known = Set(try await store.users(matching: .ids(send.userIDs), after: nil, limit: send.userIDs.count).map(\.id))
        let unknown = send.userIDs.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw APIError(
                .notFound, code: "user.not_found",
                "no user with id " + unknown.prefix(5).map { Quoted.visible($0) }.joined(separator: ", ") + (unknown.count > 5 ? " and \(unknown.count - 5) more" : "")
                    + "; nothing was sent (create users with PUT /v1/users/{id})",
                field: "to"
            )
        }
        let path = fixed.map { "/v1/\($0.rawValue)/send" } ?? "/v1/notifications"
        let hash = SHA256.hash(data: Data(path.utf8) + Data([0]) + Data(bytes)).map { String(format: "%02x", $0) }.joined()
        let now = self.now
        let start = try await store.beginAPISend(
            OccurrenceRequest(
                campaignID: DirectSend.campaignID(template: send.template), definitionHash: "api", fireAt: now, kind: .users,
                resumesUnfinished: false, repeatsFinished: true
            ),
            appKey: key.appKey, idempotencyKey: idempotencyKey, requestHash: hash, at: now
        )
        let occurrence: Occurrence
        switch start {
        case .started(let new), .resumed(let new):
            occurrence = new
        case .replay(let status, let body):
            var response = JSONBody.response(body, status: HTTPResponse.Status(code: status))
            response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true"
            return response
        case .keyReused(let firstAt):
            throw APIError(
                .unprocessableContent, code: "idempotency.key_reused",
                "the Idempotency-Key was used on \(ISO8601.string(from: firstAt)) for another request; use a new key for a new request",
                field: "Idempotency-Key"
            )
        }
        let decisions = try await parts.directSend.plan(send, occurrence: occurrence, store: store)
        parts.onPlanned()
        let answer: [String: Any] = [
            "send_id": occurrence.id, "template": send.template, "category": send.category,
            "notifications": decisions.map { decision in
                var object = Self.json(decision)
                object["user_id"] = decision.userID
                return object
            },
        ]
        let text = String(decoding: JSONBody.encode(answer), as: UTF8.self)
        if let idempotencyKey {
            try await store.finishAPISend(appKey: key.appKey, idempotencyKey: idempotencyKey, status: 202, body: text)
        }
        return JSONBody.response(text, status: .accepted)
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let value = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard (1...255).contains(value.utf8.count), value.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw APIError.invalidField("Idempotency-Key", "give 1 to 255 visible ASCII characters, e.g. a UUID")
        }
        return value
    }

    /// The request's fields, checked: every problem is a 4xx naming the field.
    func parseSend(_ object: [String: Any], channel fixed: Channel?) throws -> DirectSend.Request {
        let fields = JSONFields(object: object)
        var known = ["to", "template", "params", "category", "delivery"]
        if fixed == nil { known.append("channels") }
        if object["subject"] != nil || object["content"] != nil || object["from"] != nil {
            throw APIError.invalidField(
                object["subject"] != nil ? "subject" : object["content"] != nil ? "content" : "from",
                "raw content is not supported yet; send a workspace template with \"template\" and \"params\""
            )
        }
        try fields.refuseUnknown(known)

        guard let to = object["to"] else { throw APIError.missingField("to", "a list of recipients such as [{\"user_id\": \"u-1\"}]") }
        guard let recipients = to as? [Any], !recipients.isEmpty else {
            throw APIError.invalidField("to", "expected a non-empty list of recipients such as [{\"user_id\": \"u-1\"}]")
        }
        guard recipients.count <= Self.maximumRecipients else {
            throw APIError.invalidField("to", "\(recipients.count) recipients; at most \(Self.maximumRecipients) per request")
        }
        var userIDs: [String] = []
        for (index, item) in recipients.enumerated() {
            let name = "to[\(index)]"
            guard let recipient = item as? [String: Any] else { throw APIError.invalidField(name, "expected an object such as {\"user_id\": \"u-1\"}") }
            let recipientFields = JSONFields(object: recipient, path: name + ".")
            if let address = ["email", "phone", "token"].first(where: { recipient[$0] != nil }) {
                throw APIError.invalidField(
                    name + "." + address, "recipients Herald does not know are not supported yet; create the user with PUT /v1/users/{id} and send to its user_id"
                )
            }
            try recipientFields.refuseUnknown(["user_id"])
            let id = try recipientFields.requiredString("user_id", "the id of a user")
            if let problem = UserJSON.problem(withID: id) { throw APIError.invalidField(name + ".user_id", problem) }
            if !userIDs.contains(id) { userIDs.append(id) }
        }

        let templateName = try fields.requiredString("template", "the name of a template of the workspace, e.g. order-shipped")
        guard let template = parts.templates[templateName] else {
            let near = Suggestion.closest(to: templateName, in: parts.templates.keys.sorted()).map { " (did you mean '\($0)'?)" } ?? ""
            throw APIError(.notFound, code: "template.not_found", "no template \(Quoted.visible(templateName))\(near)", field: "template")
        }
        let offered = Channel.allCases.filter { template.offers($0) }
        var channels: [Channel]
        if let fixed {
            channels = [fixed]
        } else if let names = try fields.strings("channels") {
            guard !names.isEmpty else { throw APIError.invalidField("channels", "expected at least one of: push, sms, email") }
            channels = []
            for (index, name) in names.enumerated() {
                guard let channel = Channel(rawValue: name) else {
                    throw APIError.invalidField("channels[\(index)]", "unknown channel \(Quoted.visible(name)); expected push, sms or email")
                }
                if !channels.contains(channel) { channels.append(channel) }
            }
        } else {
            channels = offered
        }
        for (index, channel) in channels.enumerated() where !template.offers(channel) {
            throw APIError.invalidField(
                fixed == nil ? "channels[\(index)]" : "template",
                "template \(Quoted.visible(templateName)) has no \(channel.rawValue) content (it has: \(offered.map(\.rawValue).joined(separator: ", ")))"
            )
        }

        let category = try fields.string("category") ?? Campaign.transactionalCategory
        guard category == Campaign.transactionalCategory || parts.preferenceKeys.categories.contains(category) else {
            throw APIError.invalidField(
                "category", "unknown category \(Quoted.visible(category)); expected transactional or one of: "
                    + parts.preferenceKeys.categories.sorted().joined(separator: ", ")
            )
        }
        var delivery = DeliveryMode.firstAvailable
        if let text = try fields.string("delivery") {
            guard let mode = DeliveryMode(rawValue: text) else { throw APIError.invalidField("delivery", "expected first_available or all") }
            delivery = mode
        }
        var params: [String: TemplateValue] = [:]
        if let object = try fields.objectValue("params") {
            do throws(EventPropertiesError) {
                params = try EventProperties(json: String(decoding: JSONBody.encode(object), as: UTF8.self)).values
            } catch {
                throw APIError.invalidField("params", error.description)
            }
        }
        return DirectSend.Request(userIDs: userIDs, template: templateName, params: params, channels: channels, category: category, delivery: delivery)
    }
}

extension Template {
    /// Whether the template has content for `channel`.
    func offers(_ channel: Channel) -> Bool {
        switch channel {
        case .push: base.push != nil
        case .sms: base.sms != nil
        case .email: base.email != nil
        }
    }
}
