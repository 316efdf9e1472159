import Foundation
import HeraldCore
import NIOHTTP1

/// SendGrid v3 Mail Send: `POST /v3/mail/send` with a Bearer API key.
///
/// Messages of one batch whose rendered content is identical go out as one request with up to
/// 1,000 personalizations (SendGrid's limit), each naming its notification in `custom_args`;
/// the others go one request each; an address appears once per request. Content is compared without Herald's signed tracking and
/// unsubscribe links, which each personalization carries as `substitutions` (``SharedEmail``):
/// tracked mail of one template still shares requests. The answer's `X-Message-Id` is every message's provider id
/// (SendGrid's events carry it in `sg_message_id`, with the notification in the custom args).
/// Subscribed mail gets RFC 8058's List-Unsubscribe headers in its personalization.
public struct SendGridTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        public var apiKey: String
        public var from: EmailAddress
        /// Default none.
        public var replyTo: EmailAddress?
        /// Default `https://api.sendgrid.com` (`https://api.eu.sendgrid.com` for EU accounts).
        public var baseURL: String
        /// Requests in flight at once. Default 16.
        public var concurrency: Int
        /// Personalizations per request. Default 1,000 (SendGrid's limit).
        public var maximumPersonalizations: Int
        /// An address for `mailto:` unsubscribe requests, added to List-Unsubscribe. Default none.
        public var unsubscribeMailto: String?

        public init(
            apiKey: String, from: EmailAddress, replyTo: EmailAddress? = nil, baseURL: String = "https://api.sendgrid.com",
            concurrency: Int = 16, maximumPersonalizations: Int = 1000, unsubscribeMailto: String? = nil
        ) {
            self.apiKey = apiKey
            self.from = from
            self.replyTo = replyTo
            self.baseURL = baseURL
            self.concurrency = concurrency
            self.maximumPersonalizations = maximumPersonalizations
            self.unsubscribeMailto = unsubscribeMailto
        }
    }

    /// The custom_args key that names a message's notification.
    public static let notificationArgument = "herald_notification_id"

    public let name: String
    public let configuration: Configuration
    let http: ProviderHTTPClient
    let clock: any WallClock
    let url: String

    public init(name: String, configuration: Configuration, http: ProviderHTTPClient, clock: any WallClock = SystemWallClock()) {
        self.name = name
        self.configuration = configuration
        self.http = http
        self.clock = clock
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/v3/mail/send")
    }

    /// Mail of one campaign with identical content, but for its signed links, shares a request.
    public func batchKey(for message: OutboundMessage) -> AnyHashable? {
        guard case .email(let content) = message.content else { return nil }
        return EmailGroupKey(content: SharedEmail(message, content: content).content, campaignID: message.campaignID)
    }

    public var batchLimit: Int { max(1, min(configuration.maximumPersonalizations, 1000)) }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: messages.count)
        let now = clock.now
        // Same content (and campaign, which SendGrid files it under), same request.
        var groups: [EmailGroupKey: [Int]] = [:]
        var order: [EmailGroupKey] = []
        var shared = [SharedEmail?](repeating: nil, count: messages.count)
        for (index, message) in messages.enumerated() {
            if let refused = MessageChecks.expiry(message, now: now) ?? MessageChecks.email(message) {
                outcomes[index] = refused
                continue
            }
            guard case .email(let content) = message.content else { continue }
            let email = SharedEmail(message, content: content)
            shared[index] = email
            let key = EmailGroupKey(content: email.content, campaignID: message.campaignID)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(index)
        }
        var requests: [[Int]] = []
        let chunk = max(1, min(configuration.maximumPersonalizations, 1000))
        for key in order {
            requests += distinctAddressRequests(groups[key] ?? [], limit: chunk) { messages[$0].address }
        }
        let emails = shared
        let answers = await concurrentMap(requests, width: configuration.concurrency) { indexes in
            await self.sendRequest(indexes.map { (messages[$0], emails[$0]!) }, retryingRest: true)
        }
        for (indexes, results) in zip(requests, answers) {
            for (index, outcome) in zip(indexes, results) { outcomes[index] = outcome }
        }
        return outcomes.map { $0 ?? .retry(after: nil, reason: "sendgrid: no outcome") }
    }

    /// The request body for messages that share their content (but for their signed links).
    public func body(for messages: [OutboundMessage]) -> [String: Any] {
        let emails = Self.shared(messages)
        guard let content = emails.first?.content else { return [:] }
        let personalizations: [[String: Any]] = zip(messages, emails).map { message, email in
            var personalization: [String: Any] = [
                "to": [["email": message.address]],
                "custom_args": [Self.notificationArgument: String(message.notificationID)],
            ]
            if !email.values.isEmpty {
                personalization["substitutions"] = Dictionary(uniqueKeysWithValues: email.substitutions.map { ($0.tag, $0.value) })
            }
            let headers = ListUnsubscribe.headers(for: message, mailto: configuration.unsubscribeMailto)
            if !headers.isEmpty {
                personalization["headers"] = Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            }
            return personalization
        }
        let sender = EmailAddress.sender(of: content, configured: configuration.from)
        var from: [String: Any] = ["email": sender.email]
        if let name = sender.name { from["name"] = name }
        var blocks: [[String: String]] = []
        if !content.text.isEmpty { blocks.append(["type": "text/plain", "value": content.text]) }
        if let html = content.html, !html.isEmpty { blocks.append(["type": "text/html", "value": html]) }
        var body: [String: Any] = [
            "personalizations": personalizations, "from": from, "subject": content.subject, "content": blocks,
            "categories": [String(messages[0].campaignID.prefix(255))],
            "custom_args": ["herald_campaign": messages[0].campaignID],
        ]
        if let replyTo = configuration.replyTo {
            var reply: [String: Any] = ["email": replyTo.email]
            if let name = replyTo.name { reply["name"] = name }
            body["reply_to"] = reply
        }
        return body
    }

    /// Each message's ``SharedEmail``; messages that are not email give none.
    static func shared(_ messages: [OutboundMessage]) -> [SharedEmail] {
        messages.compactMap { message in
            guard case .email(let content) = message.content else { return nil }
            return SharedEmail(message, content: content)
        }
    }

    /// ``body(for:)`` as JSON text, written directly (the same object; the OpenAPI test checks
    /// what arrives).
    public func encodedBody(for messages: [OutboundMessage]) -> [UInt8] {
        let emails = Self.shared(messages)
        guard emails.count == messages.count else { return Array("{}".utf8) }
        return encodedBody(for: Array(zip(messages, emails)))
    }

    func encodedBody(for messages: [(message: OutboundMessage, email: SharedEmail)]) -> [UInt8] {
        guard let first = messages.first?.message, let content = messages.first?.email.content else { return Array("{}".utf8) }
        let values = messages.first.map { $0.email.values.reduce(0) { $0 + $1.utf8.count + 12 } } ?? 0
        var json = JSONWriter(capacity: 256 + messages.count * (160 + values) + content.text.utf8.count + (content.html?.utf8.count ?? 0))
        json.raw("{\"personalizations\":[")
        for (index, (message, email)) in messages.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{\"to\":[{\"email\":")
            json.string(message.address)
            json.raw("}],\"custom_args\":{\"herald_notification_id\":\"")
            json.number(message.notificationID)
            json.raw("\"}")
            if !email.values.isEmpty {
                json.raw(",\"substitutions\":{")
                for (position, value) in email.values.enumerated() {
                    if position > 0 { json.raw(",") }
                    json.string(SharedEmail.tag(position))
                    json.raw(":")
                    json.string(value)
                }
                json.raw("}")
            }
            let headers = ListUnsubscribe.headers(for: message, mailto: configuration.unsubscribeMailto)
            if !headers.isEmpty {
                json.raw(",\"headers\":{")
                for (position, header) in headers.enumerated() {
                    if position > 0 { json.raw(",") }
                    json.string(header.name)
                    json.raw(":")
                    json.string(header.value)
                }
                json.raw("}")
            }
            json.raw("}")
        }
        let sender = EmailAddress.sender(of: content, configured: configuration.from)
        json.raw("],\"from\":{\"email\":")
        json.string(sender.email)
        if let name = sender.name {
            json.raw(",\"name\":")
            json.string(name)
        }
        json.raw("},\"subject\":")
        json.string(content.subject)
        json.raw(",\"content\":[")
        var blocks = 0
        if !content.text.isEmpty {
            json.raw("{\"type\":\"text/plain\",\"value\":")
            json.string(content.text)
            json.raw("}")
            blocks += 1
        }
        if let html = content.html, !html.isEmpty {
            if blocks > 0 { json.raw(",") }
            json.raw("{\"type\":\"text/html\",\"value\":")
            json.string(html)
            json.raw("}")
        }
        json.raw("],\"categories\":[")
        json.string(String(first.campaignID.prefix(255)))
        json.raw("],\"custom_args\":{\"herald_campaign\":")
        json.string(first.campaignID)
        json.raw("}")
        if let replyTo = configuration.replyTo {
            json.raw(",\"reply_to\":{\"email\":")
            json.string(replyTo.email)
            if let name = replyTo.name {
                json.raw(",\"name\":")
                json.string(name)
            }
            json.raw("}")
        }
        json.raw("}")
        return json.bytes
    }

    /// One request. A 400 whose errors point at particular personalizations rejects those
    /// messages and, once, sends the others again without them.
    func sendRequest(_ messages: [(message: OutboundMessage, email: SharedEmail)], retryingRest: Bool) async -> [DeliveryOutcome] {
        let data = Data(encodedBody(for: messages))
        let result = await http.execute(method: .POST, url: url, headers: [
            ("Authorization", "Bearer \(configuration.apiKey)"), ("Content-Type", "application/json"), ("User-Agent", "herald"),
        ], body: data)
        let answer: ProviderHTTPClient.Answer
        switch result {
        case .failure(let failure):
            return messages.map { _ in .retry(after: nil, reason: "sendgrid: \(failure.description)") }
        case .success(let success):
            answer = success
        }
        let classified = SendGridClassifier.classify(answer, count: messages.count, now: clock.now)
        guard case .perMessage(let rejected, let reason) = classified else {
            guard case .all(let outcome) = classified else { return [] }
            return messages.map { _ in outcome }
        }
        // Some personalizations were at fault: they are rejected, the rest was not sent.
        let rest = messages.indices.filter { rejected[$0] == nil }
        var outcomes: [DeliveryOutcome] = messages.indices.map { index in
            rejected[index].map { .rejected(reason: $0) } ?? .retry(after: nil, reason: reason)
        }
        if retryingRest, !rest.isEmpty {
            let again = await sendRequest(rest.map { messages[$0] }, retryingRest: false)
            for (index, outcome) in zip(rest, again) { outcomes[index] = outcome }
        }
        return outcomes
    }
}

/// What groups messages into one request: their rendered content and campaign.
struct EmailGroupKey: Hashable {
    var content: EmailContent
    var campaignID: String
}

/// SendGrid's answers as outcomes (providers.md, section 4).
public enum SendGridClassifier {
    public enum Classification: Sendable, Equatable {
        /// The same outcome for every message of the request.
        case all(DeliveryOutcome)
        /// A 400 whose errors name personalizations: their reasons by position; the others were
        /// not sent, for `reason`.
        case perMessage(rejected: [Int: String], reason: String)
    }

    public static func classify(_ answer: ProviderHTTPClient.Answer, count: Int, now: Date) -> Classification {
        if (200...299).contains(answer.status) {
            return .all(.accepted(providerMessageID: answer.header("X-Message-Id") ?? ""))
        }
        let errors = parseErrors(answer.body)
        let summary = errors.isEmpty
            ? (answer.isTruncated ? "an answer too large to read" : TwilioClassifier.snippet(answer.body))
            : errors.map { ($0.field.map { "\($0): " } ?? "") + $0.message }.joined(separator: "; ")
        let reason = "sendgrid \(answer.status): \(summary)"
        switch answer.status {
        case 400:
            var rejected: [Int: String] = [:]
            var global = false
            for error in errors {
                if let index = personalizationIndex(error.field), index < count {
                    rejected[index] = (rejected[index].map { $0 + "; " } ?? "sendgrid 400: ") + "\(error.field ?? ""): \(error.message)"
                } else {
                    global = true
                }
            }
            if !global, !rejected.isEmpty, rejected.count < count {
                return .perMessage(rejected: rejected, reason: "sendgrid 400 for other messages of the same request")
            }
            return .all(.rejected(reason: reason))
        case 401, 403:
            return .all(.misconfigured(reason: reason + " (check api_key and the sender identity)"))
        case 404, 405:
            // providers.md (section 4) calls these permanent, but mail/send exists at every
            // SendGrid URL Herald posts to: a 404 or 405 means base_url is wrong, which no
            // message can fix. Misconfigured pauses the provider and alerts instead of failing
            // every message of the channel for good.
            return .all(.misconfigured(reason: reason + " (check base_url)"))
        case 413:
            return .all(.rejected(reason: reason))
        case 429:
            let after = RetryAfter.reset(answer.header("X-RateLimit-Reset"), now: now) ?? RetryAfter.parse(answer.header("Retry-After"), now: now)
            return .all(.throttled(after: after, reason: reason))
        case 500...599:
            return .all(.retry(after: RetryAfter.parse(answer.header("Retry-After"), now: now), reason: reason))
        default:
            return .all(.rejected(reason: reason))
        }
    }

    struct FieldError {
        var field: String?
        var message: String
    }

    static func parseErrors(_ body: Data) -> [FieldError] {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let errors = json["errors"] as? [Any] else { return [] }
        return errors.prefix(50).compactMap { element in
            guard let error = element as? [String: Any] else { return nil }
            return FieldError(field: error["field"] as? String, message: (error["message"] as? String) ?? "(no message)")
        }
    }

    /// `personalizations.3.to.0.email` → 3.
    static func personalizationIndex(_ field: String?) -> Int? {
        guard let field else { return nil }
        let parts = field.split(separator: ".")
        guard parts.count >= 2, parts[0] == "personalizations" else { return nil }
        return Int(parts[1])
    }
}
