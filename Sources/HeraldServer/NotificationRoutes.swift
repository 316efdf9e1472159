import Crypto
import Foundation
import HeraldCore
import HeraldEngine
import HTTPTypes
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
        let parsed = try parseSend(try JSONBody.object(fromBytes: bytes), channel: fixed, guestKey: try await store.guestIDKey())
        let send = parsed.request
        let path = fixed.map { "/v1/\($0.rawValue)/send" } ?? "/v1/notifications"
        let hash = SHA256.hash(data: Data(path.utf8) + Data([0]) + Data(bytes)).lowercaseHex
        let now = self.now
        let decider = parts.directSend.decider(for: send)
        let index = parsed.index
        let guestIDs = Set(parsed.guests.keys)
        let template = send.rawContent == nil ? send.template : nil
        let category = send.category
        // The whole send in one transaction, shared with the sends that arrive meanwhile: its
        // occurrence, its guests, its notifications and the answer kept for its key. A refused
        // send writes nothing.
        let result: APISendResult
        do {
            result = try await store.apiSend(APISendPlan(
                request: OccurrenceRequest(
                    campaignID: DirectSend.campaignID(for: send), definitionHash: "api", fireAt: now, kind: .users,
                    resumesUnfinished: false, repeatsFinished: true
                ),
                appKey: key.appKey, idempotencyKey: idempotencyKey, requestHash: hash, guests: parsed.guests.values.sorted { $0.id < $1.id },
                userIDs: send.userIDs, capReach: decider.capReach, decide: decider.decide,
                answer: { occurrence, decisions in
                    Self.answer(sendID: occurrence.id, category: category, template: template, decisions: decisions, index: index, guests: guestIDs)
                }
            ), at: now)
        } catch let taken as GuestIDTaken {
            throw Self.guestConflict(taken.id, index: parsed.index[taken.id] ?? 0)
        } catch let missing as UnknownUsers {
            // Checked in the send's transaction: nothing of it was written.
            let unknown = missing.ids
            throw APIError(
                .notFound, code: "user.not_found",
                "no user with id " + unknown.prefix(5).map { Quoted.visible($0) }.joined(separator: ", ") + (unknown.count > 5 ? " and \(unknown.count - 5) more" : "")
                    + "; nothing was sent (create users with PUT /v1/users/{id}, or send to an address: {\"email\": …})",
                field: "to"
            )
        }
        let text: String
        switch result {
        case .planned(_, _, let answer):
            text = answer
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
        parts.onPlanned()
        return JSONBody.response(text, status: .accepted)
    }

    /// A recipient's address whose guest id a user took (only by choosing that very id).
    static func guestConflict(_ id: String, index: Int) -> APIError {
        APIError(
            .conflict, code: "recipient.conflict",
            "the guest id \(Quoted.visible(id)) of this address belongs to a user who is not a guest; send to that user by user_id", field: "to[\(index)]"
        )
    }

    /// The answer to a send: `{"category", "notifications": [{"channel", "detail", "device",
    /// "due_at", "guest", "id", "reason", "recipient", "state", "user_id"}], "send_id",
    /// "template"}`, keys in order, written directly (Foundation's serializer was a tenth of a
    /// send's time).
    static func answer(
        sendID: Int64, category: String, template: String?, decisions: [PlanDecision], index: [String: Int], guests: Set<String>
    ) -> String {
        var out = "{\"category\":"
        JSONText.appendString(category, to: &out)
        out += ",\"notifications\":["
        for (position, decision) in decisions.enumerated() {
            if position > 0 { out += "," }
            out += "{\"channel\":\"\(decision.channel.rawValue)\""
            func field(_ name: String, _ value: String?) {
                guard let value else { return }
                out += ",\"\(name)\":"
                JSONText.appendString(value, to: &out)
            }
            field("detail", decision.detail)
            field("device", decision.device.isEmpty ? nil : decision.device)
            field("due_at", ISO8601.string(from: decision.dueAt))
            if guests.contains(decision.userID) { out += ",\"guest\":true" }
            out += ",\"id\":\(decision.notificationID)"
            field("reason", decision.reason)
            if let recipient = index[decision.userID] { out += ",\"recipient\":\(recipient)" }
            field("state", decision.state.rawValue)
            field("user_id", decision.userID)
            out += "}"
        }
        out += "],\"send_id\":\(sendID)"
        if let template {
            out += ",\"template\":"
            JSONText.appendString(template, to: &out)
        }
        return out + "}"
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let value = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard (1...255).contains(value.utf8.count), value.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw APIError.invalidField("Idempotency-Key", "give 1 to 255 visible ASCII characters, e.g. a UUID")
        }
        return value
    }

    /// A send request, checked.
    struct ParsedSend {
        var request: DirectSend.Request
        /// The recipients named by address or token, by their guest id.
        var guests: [String: User]
        /// Each recipient's position in `to`, by user or guest id.
        var index: [String: Int]
    }

    /// The request's fields, checked: every problem is a 4xx naming the field.
    func parseSend(_ object: [String: Any], channel fixed: Channel?, guestKey: [UInt8]) throws -> ParsedSend {
        let fields = JSONFields(object: object)
        let rawFields = ["subject", "content", "from"]
        let isRaw = object["template"] == nil && rawFields.contains { object[$0] != nil }
        if !isRaw, let extra = rawFields.first(where: { object[$0] != nil }) {
            throw APIError.invalidField(extra, "give either a template (\"template\", \"params\") or raw content (\"subject\", \"content\", \"from\"), not both")
        }
        if isRaw, object["params"] != nil {
            throw APIError.invalidField("params", "raw content is sent as given; params fill a template's variables")
        }
        var known = ["to", "category", "delivery"] + (isRaw ? rawFields : ["template", "params"])
        if fixed == nil { known.append("channels") }
        try fields.refuseUnknown(known)

        let (userIDs, guests, index) = try parseRecipients(object["to"], guestKey: guestKey)

        let template: String
        let raw: RawContent?
        let offered: [Channel]
        /// Why a channel the request asks for cannot carry its content.
        let lacking: (Channel) -> (field: String, problem: String)
        if isRaw {
            let content = try rawContent(fields)
            template = ""
            raw = content
            offered = [Channel.email, .push, .sms].filter { content.offers($0) }
            lacking = { channel in
                channel == .email
                    ? (content.subject == nil ? "subject" : "content", content.subject == nil ? "an email needs a subject" : "an email needs a text/plain or text/html content")
                    : ("content", "\(channel.rawValue) needs a text/plain content")
            }
        } else {
            template = try fields.requiredString("template", "the name of a template of the workspace, e.g. order-shipped (or raw \"subject\" and \"content\")")
            guard let found = parts.templates[template] else {
                let near = Suggestion.closest(to: template, in: parts.templates.keys.sorted()).map { " (did you mean '\($0)'?)" } ?? ""
                throw APIError(.notFound, code: "template.not_found", "no template \(Quoted.visible(template))\(near)", field: "template")
            }
            raw = nil
            offered = Channel.allCases.filter { found.offers($0) }
            lacking = { channel in
                ("template", "template \(Quoted.visible(template)) has no \(channel.rawValue) content (it has: \(offered.map(\.rawValue).joined(separator: ", ")))")
            }
        }
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
            if channels.isEmpty { throw APIError.invalidField("subject", "an email needs a subject; push and SMS need a text/plain content") }
        }
        for (index, channel) in channels.enumerated() where !offered.contains(channel) {
            let (field, problem) = lacking(channel)
            throw APIError.invalidField(fixed == nil && !isRaw ? "channels[\(index)]" : field, problem)
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
        let request = DirectSend.Request(
            userIDs: userIDs, template: template, rawContent: raw, params: params, channels: channels, category: category, delivery: delivery
        )
        return ParsedSend(request: request, guests: guests, index: index)
    }

    /// `to`: users by id, and people Herald does not know by `email`, `phone` or a push `token`
    /// (with its `service`) or web-push `subscription`, who become guests.
    func parseRecipients(_ to: Any?, guestKey: [UInt8]) throws -> (userIDs: [String], guests: [String: User], index: [String: Int]) {
        let example = "[{\"user_id\": \"u-1\"}, {\"email\": \"ana@example.com\"}]"
        guard let to else { throw APIError.missingField("to", "a list of recipients such as \(example)") }
        guard let recipients = to as? [Any], !recipients.isEmpty else {
            throw APIError.invalidField("to", "expected a non-empty list of recipients such as \(example)")
        }
        guard recipients.count <= Self.maximumRecipients else {
            throw APIError.invalidField("to", "\(recipients.count) recipients; at most \(Self.maximumRecipients) per request")
        }
        var userIDs: [String] = []
        var guests: [String: User] = [:]
        var index: [String: Int] = [:]
        for (position, item) in recipients.enumerated() {
            let name = "to[\(position)]"
            guard let recipient = item as? [String: Any] else { throw APIError.invalidField(name, "expected an object such as {\"user_id\": \"u-1\"}") }
            let fields = JSONFields(object: recipient, path: name + ".")
            let kinds = ["user_id", "email", "phone", "token", "subscription"].filter { recipient[$0] != nil }
            let id: String
            switch kinds.first {
            case nil:
                try fields.refuseUnknown(["user_id", "email", "phone", "token", "subscription"])
                throw APIError.missingField(name + ".user_id", "a user_id, or an email, phone, token (with service) or subscription")
            case "user_id":
                try fields.refuseUnknown(["user_id"])
                id = try fields.requiredString("user_id", "the id of a user")
                if let problem = UserJSON.problem(withID: id) { throw APIError.invalidField(name + ".user_id", problem) }
            case "email", "phone":
                let kind = kinds[0]
                try fields.refuseUnknown([kind])
                let address = try fields.requiredString(kind, "an address")
                if let problem = kind == "email" ? UserJSON.problem(withEmail: address) : UserJSON.problem(withPhone: address) {
                    throw APIError.invalidField(name + "." + kind, problem)
                }
                id = Self.guestID(kind: kind, address: kind == "email" ? address.lowercased() : address, key: guestKey)
                if guests[id] == nil {
                    guests[id] = kind == "email" ? User(id: id, email: address) : User(id: id, phone: address)
                }
            default:
                // A device, read as POST /v1/users/{id}/devices reads one.
                try fields.refuseUnknown(["token", "subscription", "service", "platform"])
                var described = recipient
                if recipient["platform"] == nil {
                    // The platform follows from the service: a guest's token names no device kind.
                    let service = try fields.string("service")
                    if recipient["subscription"] != nil {
                        described["platform"] = "web"
                    } else if let service {
                        described["platform"] = service == "apns" ? "ios" : service == "webpush" ? "web" : "android"
                    } else {
                        throw APIError.missingField(name + ".service", "the push service that issued the token: apns, fcm, jpush or pushy")
                    }
                }
                let device: Device
                switch UserJSON.device(JSONBody.encode(described)) {
                case .success(let read):
                    device = read
                case .failure(let rejected):
                    let message = rejected.diagnostics.map { $0.message + ($0.hint.map { " (\($0))" } ?? "") }.joined(separator: "; ")
                    throw APIError.invalidField(name + "." + (Self.fieldName(in: message) ?? kinds[0]), message)
                }
                id = Self.guestID(kind: "\(device.service.rawValue)/\(device.platform.rawValue)", address: device.address, key: guestKey)
                if guests[id] == nil { guests[id] = User(id: id, devices: [device]) }
            }
            if kinds.count > 1 {
                throw APIError.invalidField(name + "." + kinds[1], "give one of user_id, email, phone, token or subscription per recipient")
            }
            if index[id] == nil {
                index[id] = position
                userIDs.append(id)
            }
        }
        return (userIDs, guests, index)
    }

    /// The id a guest is stored under: `guest-` and 128 bits of an HMAC-SHA256 of the kind and
    /// the address, keyed with the store's own secret (`APIStore.guestIDKey()`), so that every
    /// send to the address reaches the same guest (and their opt-outs), and the id tells nothing
    /// of the address to anyone without the database.
    static func guestID(kind: String, address: String, key: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data((kind + "\u{0}" + address).utf8), using: SymmetricKey(data: key))
        return UserJSON.guestIDPrefix + code.prefix(16).lowercaseHex
    }

    /// The raw form's `subject`, `content` and `from`.
    func rawContent(_ fields: JSONFields) throws -> RawContent {
        var raw = RawContent()
        if let subject = try fields.string("subject") {
            if let injected = HeaderValue.lineBreak(in: subject) {
                throw APIError.invalidField("subject", "the subject contains \(injected); a subject is one line")
            }
            guard !subject.isEmpty else { throw APIError.invalidField("subject", "the subject is empty") }
            raw.subject = subject
        }
        if let value = fields.object["content"], !(value is NSNull) {
            guard let blocks = value as? [Any], !blocks.isEmpty else {
                throw APIError.invalidField("content", "expected a non-empty list such as [{\"type\": \"text/plain\", \"value\": \"Hello\"}]")
            }
            for (index, item) in blocks.enumerated() {
                let name = "content[\(index)]"
                guard let block = item as? [String: Any] else { throw APIError.invalidField(name, "expected an object with type and value") }
                let blockFields = JSONFields(object: block, path: name + ".")
                try blockFields.refuseUnknown(["type", "value"])
                let type = try blockFields.requiredString("type", "text/plain or text/html")
                let text = try blockFields.requiredString("value", "the text")
                guard !text.isEmpty else { throw APIError.invalidField(name + ".value", "the value is empty") }
                switch type {
                case "text/plain":
                    guard raw.text == nil else { throw APIError.invalidField(name + ".type", "text/plain is given twice") }
                    raw.text = text
                case "text/html":
                    guard raw.html == nil else { throw APIError.invalidField(name + ".type", "text/html is given twice") }
                    raw.html = text
                default:
                    throw APIError.invalidField(name + ".type", "unknown type \(Quoted.visible(type)); expected text/plain or text/html")
                }
            }
        }
        if let from = try fields.objectValue("from") {
            let fromFields = JSONFields(object: from, path: "from.")
            try fromFields.refuseUnknown(["email", "name"])
            let email = try fromFields.requiredString("email", "the sender's address, e.g. news@example.com")
            guard HeaderValue.isAddress(email) else {
                throw APIError.invalidField("from.email", "invalid address \(Quoted.visible(email)); expected one like orders@example.com")
            }
            guard parts.allowsSender(email) else {
                throw APIError.invalidField(
                    "from.email", "\(Quoted.visible(email)) is not an allowed sender; herald.yml's api.senders lists them (by default, the domains of the email providers' from)"
                )
            }
            if let name = try fromFields.string("name") {
                if let injected = HeaderValue.lineBreak(in: name) { throw APIError.invalidField("from.name", "the name contains \(injected)") }
                raw.fromName = name.isEmpty ? nil : name
            }
            raw.fromEmail = email
        }
        return raw
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
