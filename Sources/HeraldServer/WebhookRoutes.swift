import Foundation
import HeraldCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The secrets that authenticate each provider's webhooks, from herald.yml.
public struct WebhookSecrets: Sendable {
    /// Twilio signs with the account's auth token over the URL it posts to (the status callback).
    public struct Twilio: Sendable {
        public var authToken: String
        public var url: String
        public init(authToken: String, url: String) {
            self.authToken = authToken
            self.url = url
        }
    }

    /// Mailchimp Transactional signs with the webhook's key over the webhook's URL.
    public struct Mandrill: Sendable {
        public var key: String
        public var url: String
        public init(key: String, url: String) {
            self.key = key
            self.url = url
        }
    }

    public var twilio: [Twilio]
    /// SendGrid's Event Webhook verification keys (base64 DER P-256 public keys).
    public var sendGrid: [String]
    public var mandrill: [Mandrill]

    public init(twilio: [Twilio] = [], sendGrid: [String] = [], mandrill: [Mandrill] = []) {
        self.twilio = twilio
        self.sendGrid = sendGrid
        self.mandrill = mandrill
    }
}

extension APIServer {
    /// `POST /webhooks/{sendgrid,twilio,mandrill}`: what providers report after a send.
    /// Each is verified with its provider's signature before anything is read into the store; a
    /// missing, wrong or stale signature gets 403 and records nothing, as does a provider with
    /// no secret in herald.yml.
    func addWebhookRoutes(to router: Router<APIRequestContext>) {
        let webhooks = router.group("webhooks")
        webhooks.post("sendgrid") { request, _ in
            let signature = request.headers[HTTPField.Name("X-Twilio-Email-Event-Webhook-Signature")!]
            try Self.precheck(configured: !parts.webhooks.sendGrid.isEmpty, signature: signature, provider: "SendGrid", secret: "webhook_public_key")
            let body = try await JSONBody.bytes(of: request, limit: 8 << 20)
            let timestamp = request.headers[HTTPField.Name("X-Twilio-Email-Event-Webhook-Timestamp")!]
            try Self.verify(parts.webhooks.sendGrid.map { key in
                WebhookSignatures.sendGrid(publicKey: key, signature: signature, timestamp: timestamp, body: body, now: now)
            }, provider: "SendGrid", secret: "webhook_public_key")
            let events = try Self.sendGridEvents(body)
            return JSONBody.response(Self.json(try await store.applyProviderEvents(events, at: now)))
        }
        webhooks.post("twilio") { request, _ in
            let signature = request.headers[HTTPField.Name("X-Twilio-Signature")!]
            try Self.precheck(configured: !parts.webhooks.twilio.isEmpty, signature: signature, provider: "Twilio", secret: "auth_token")
            let parameters = FormFields.decode(try await JSONBody.bytes(of: request, limit: 64 << 10))
            try Self.verify(parts.webhooks.twilio.map { secret in
                WebhookSignatures.twilio(authToken: secret.authToken, url: secret.url, parameters: parameters, signature: signature)
            }, provider: "Twilio", secret: "auth_token")
            let fields = Dictionary(parameters, uniquingKeysWith: { first, _ in first })
            if fields["MessageStatus"] == nil, let from = fields["From"], let text = fields["Body"] {
                // A reply: STOP and its synonyms opt the number out of SMS (Twilio answers the
                // sender itself); anything else is not Herald's to handle.
                let word = text.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
                if Self.stopWords.contains(word) { _ = try await store.optOutPhone(from, at: now) }
                var fieldsOut = HTTPFields()
                fieldsOut[.contentType] = "text/xml"
                return Response(status: .ok, headers: fieldsOut, body: ResponseBody(byteBuffer: ByteBuffer(string: "<Response></Response>")))
            }
            let events = try Self.twilioEvents(fields, at: now)
            return JSONBody.response(Self.json(try await store.applyProviderEvents(events, at: now)))
        }
        // Mailchimp Transactional checks that a webhook URL exists with a HEAD before saving it.
        webhooks.head("mandrill") { _, _ in Response(status: .ok) }
        webhooks.post("mandrill") { request, _ in
            let signature = request.headers[HTTPField.Name("X-Mandrill-Signature")!]
            try Self.precheck(configured: !parts.webhooks.mandrill.isEmpty, signature: signature, provider: "Mailchimp Transactional", secret: "webhook_key")
            let parameters = FormFields.decode(try await JSONBody.bytes(of: request, limit: 8 << 20))
            try Self.verify(parts.webhooks.mandrill.map { secret in
                WebhookSignatures.mandrill(key: secret.key, url: secret.url, parameters: parameters, signature: signature)
            }, provider: "Mailchimp Transactional", secret: "webhook_key")
            let events = try Self.mandrillEvents(parameters.first { $0.0 == "mandrill_events" }?.1 ?? "")
            return JSONBody.response(Self.json(try await store.applyProviderEvents(events, at: now)))
        }
    }

    /// A provider's timestamp as whole seconds, for a dedupe key; any number a hostile body
    /// sends (1e300, NaN) gives a key, never a trap.
    static func whole(_ seconds: Double) -> String {
        seconds.isFinite && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }

    static let stopWords: Set<String> = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]

    /// Refuses, before the body is read, a webhook that cannot verify: no secret configured, or
    /// no signature header.
    static func precheck(configured: Bool, signature: String?, provider: String, secret: String) throws {
        guard configured else { try verify([], provider: provider, secret: secret); return }
        guard signature != nil else {
            throw APIError(.forbidden, code: "webhook.bad_signature", "the \(provider) signature header is missing")
        }
    }

    /// Passes when one configured secret verifies the webhook.
    static func verify(_ verdicts: [WebhookSignatures.Verdict], provider: String, secret: String) throws {
        guard !verdicts.isEmpty else {
            throw APIError(.forbidden, code: "webhook.not_configured", "no \(provider) provider in herald.yml has a \(secret) to verify its webhooks with")
        }
        if verdicts.contains(.valid) { return }
        let reason: String = if case .invalid(let why) = verdicts[0] { why } else { "" }
        throw APIError(.forbidden, code: "webhook.bad_signature", reason)
    }

    static func json(_ summary: WebhookSummary) -> [String: Any] {
        ["applied": summary.applied, "repeated": summary.repeated, "unknown": summary.unknown]
    }

    static func invalidWebhook(_ message: String) -> APIError {
        APIError(.badRequest, code: "webhook.invalid", message)
    }

    // MARK: SendGrid

    static func sendGridEvents(_ body: [UInt8]) throws -> [ProviderEvent] {
        guard let items = (try? JSONSerialization.jsonObject(with: Data(body))) as? [Any] else {
            throw invalidWebhook("a SendGrid event webhook posts a JSON array of events")
        }
        return try items.enumerated().compactMap { index, item in
            guard let event = item as? [String: Any], let name = event["event"] as? String else {
                throw invalidWebhook("event \(index) is not an object with an 'event'")
            }
            let kind: ProviderEvent.Kind
            switch name {
            case "processed": kind = .accepted
            case "delivered": kind = .delivered
            case "deferred": kind = .deferred
            case "bounce": kind = .bounced(hard: (event["type"] as? String) != "blocked")
            case "dropped": kind = .dropped
            case "spamreport": kind = .complained
            case "unsubscribe", "group_unsubscribe": kind = .unsubscribed
            case "open": kind = .opened(machine: (event["sg_machine_open"] as? Bool) == true)
            case "click": kind = .clicked(url: event["url"] as? String ?? "")
            default: return nil  // group_resubscribe and events Herald does not track
            }
            let target: ProviderEvent.Target
            if let text = event["herald_notification_id"] as? String, let id = Int64(text) {
                target = .notification(id)
            } else if let messageID = (event["sg_message_id"] as? String)?.split(separator: ".").first {
                target = .providerMessage(String(messageID))
            } else {
                throw invalidWebhook("event \(index) names no message (herald_notification_id or sg_message_id)")
            }
            let seconds = (event["timestamp"] as? NSNumber)?.doubleValue ?? 0
            let key = event["sg_event_id"] as? String ?? "\(target):\(name):\(Self.whole(seconds))"
            return ProviderEvent(
                target: target, kind: kind, provider: "sendgrid", eventKey: key, at: Date(timeIntervalSince1970: seconds),
                detail: (event["reason"] as? String).map { String($0.prefix(300)) }
            )
        }
    }

    // MARK: Twilio

    static func twilioEvents(_ fields: [String: String], at now: Date) throws -> [ProviderEvent] {
        guard let sid = fields["MessageSid"], let status = fields["MessageStatus"] else {
            throw invalidWebhook("a Twilio status callback has MessageSid and MessageStatus")
        }
        let kind: ProviderEvent.Kind
        switch status {
        case "accepted", "scheduled", "queued", "sending", "sent": kind = .accepted
        case "delivered": kind = .delivered
        case "undelivered", "failed": kind = .dropped
        case "read": kind = .opened(machine: false)
        default: return []
        }
        return [ProviderEvent(
            target: .providerMessage(sid), kind: kind, provider: "twilio", eventKey: "\(sid):\(status)", at: now,
            detail: fields["ErrorCode"].map { "error \($0)" }
        )]
    }

    // MARK: Mailchimp Transactional

    static func mandrillEvents(_ json: String) throws -> [ProviderEvent] {
        guard let items = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [Any] else {
            throw invalidWebhook("a Mailchimp Transactional webhook posts mandrill_events, a JSON array")
        }
        return try items.enumerated().compactMap { index, item in
            guard let event = item as? [String: Any], let name = event["event"] as? String else {
                throw invalidWebhook("mandrill_events[\(index)] is not an object with an 'event'")
            }
            let message = event["msg"] as? [String: Any] ?? [:]
            let kind: ProviderEvent.Kind
            switch name {
            case "send": kind = .accepted
            case "delivered": kind = .delivered
            case "deferral": kind = .deferred
            case "hard_bounce": kind = .bounced(hard: true)
            case "soft_bounce": kind = .bounced(hard: false)
            case "reject": kind = .dropped
            case "spam": kind = .complained
            case "unsub": kind = .unsubscribed
            case "open": kind = .opened(machine: false)
            case "click": kind = .clicked(url: event["url"] as? String ?? "")
            default: return nil
            }
            let metadata = message["metadata"] as? [String: Any] ?? [:]
            let target: ProviderEvent.Target
            if let text = metadata["herald_notification_id"] as? String, let id = Int64(text) {
                target = .notification(id)
            } else if let messageID = (event["_id"] as? String) ?? (message["_id"] as? String) {
                target = .providerMessage(messageID)
            } else {
                throw invalidWebhook("mandrill_events[\(index)] names no message")
            }
            let seconds = (event["ts"] as? NSNumber)?.doubleValue ?? 0
            let url = name == "click" ? ":" + (event["url"] as? String ?? "") : ""
            return ProviderEvent(
                target: target, kind: kind, provider: "mandrill", eventKey: "\(target):\(name):\(Self.whole(seconds))\(url)",
                at: Date(timeIntervalSince1970: seconds), detail: (event["bounce_description"] as? String).map { String($0.prefix(300)) }
            )
        }
    }
}

/// `application/x-www-form-urlencoded`, in order, repeated names kept.
enum FormFields {
    static func decode(_ bytes: [UInt8]) -> [(String, String)] {
        String(decoding: bytes, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
