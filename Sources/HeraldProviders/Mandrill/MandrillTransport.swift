import Foundation
import HeraldCore
import NIOHTTP1

/// Mailchimp Transactional (Mandrill) `messages/send`: the API key in the JSON body, the
/// notification in `metadata` (per recipient in `recipient_metadata` when several share a
/// request). Messages with identical content and no per-recipient headers share one request
/// with `preserve_recipients: false`; subscribed mail, whose List-Unsubscribe link differs per
/// recipient, goes one request each. Results come one per recipient (``MandrillClassifier``);
/// errors are classified by `name`, not by HTTP status.
public struct MandrillTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        public var apiKey: String
        public var from: EmailAddress
        /// Default `https://mandrillapp.com/api/1.0`.
        public var baseURL: String
        /// Requests in flight at once. Default 16.
        public var concurrency: Int
        /// Recipients per shared request. Default 100.
        public var maximumRecipients: Int
        /// An address for `mailto:` unsubscribe requests, added to List-Unsubscribe. Default none.
        public var unsubscribeMailto: String?

        public init(
            apiKey: String, from: EmailAddress, baseURL: String = "https://mandrillapp.com/api/1.0", concurrency: Int = 16,
            maximumRecipients: Int = 100, unsubscribeMailto: String? = nil
        ) {
            self.apiKey = apiKey
            self.from = from
            self.baseURL = baseURL
            self.concurrency = concurrency
            self.maximumRecipients = maximumRecipients
            self.unsubscribeMailto = unsubscribeMailto
        }
    }

    /// The metadata key that names a message's notification.
    public static let notificationField = "herald_notification_id"

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
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/messages/send.json")
    }

    /// Mail of one campaign with identical content and no List-Unsubscribe (which is per
    /// recipient) shares a request.
    public func batchKey(for message: OutboundMessage) -> AnyHashable? {
        guard case .email(let content) = message.content, ListUnsubscribe.headers(for: message).isEmpty else { return nil }
        return EmailGroupKey(content: content, campaignID: message.campaignID)
    }

    public var batchLimit: Int { max(1, configuration.maximumRecipients) }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: messages.count)
        var requests: [[Int]] = []
        var shared: [EmailGroupKey: [Int]] = [:]
        var order: [EmailGroupKey] = []
        let now = clock.now
        for (index, message) in messages.enumerated() {
            if let refused = MessageChecks.expiry(message, now: now) ?? MessageChecks.email(message) {
                outcomes[index] = refused
                continue
            }
            guard case .email(let content) = message.content else { continue }
            guard ListUnsubscribe.headers(for: message).isEmpty else {
                requests.append([index])
                continue
            }
            let key = EmailGroupKey(content: content, campaignID: message.campaignID)
            if shared[key] == nil { order.append(key) }
            shared[key, default: []].append(index)
        }
        for key in order {
            requests += distinctAddressRequests(shared[key] ?? [], limit: max(1, configuration.maximumRecipients)) { messages[$0].address }
        }
        let answers = await concurrentMap(requests, width: configuration.concurrency) { indexes in
            await self.sendRequest(indexes.map { messages[$0] })
        }
        for (indexes, results) in zip(requests, answers) {
            for (index, outcome) in zip(indexes, results) { outcomes[index] = outcome }
        }
        return outcomes.map { $0 ?? .retry(after: nil, reason: "mandrill: no outcome") }
    }

    /// The body of one request.
    public func body(for messages: [OutboundMessage]) -> [String: Any] {
        guard let first = messages.first, case .email(let content) = first.content else { return [:] }
        let sender = EmailAddress.sender(of: content, configured: configuration.from)
        var message: [String: Any] = [
            "subject": content.subject, "text": content.text, "from_email": sender.email,
            "to": messages.map { ["email": $0.address, "type": "to"] },
            "tags": [String(first.campaignID.prefix(50))],
            "metadata": ["herald_campaign": first.campaignID],
            "preserve_recipients": false,
        ]
        if let html = content.html { message["html"] = html }
        if let name = sender.name { message["from_name"] = name }
        if messages.count == 1 {
            message["metadata"] = ["herald_campaign": first.campaignID, Self.notificationField: String(first.notificationID)]
            let headers = ListUnsubscribe.headers(for: first, mailto: configuration.unsubscribeMailto)
            if !headers.isEmpty { message["headers"] = Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }) }
        } else {
            message["recipient_metadata"] = messages.map { ["rcpt": $0.address, "values": [Self.notificationField: String($0.notificationID)]] }
        }
        return ["key": configuration.apiKey, "message": message, "async": false]
    }

    func sendRequest(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        guard let data = try? JSONSerialization.data(withJSONObject: body(for: messages), options: [.withoutEscapingSlashes]) else {
            return messages.map { _ in .rejected(reason: "mandrill: the message could not be encoded as JSON") }
        }
        let result = await http.execute(method: .POST, url: url, headers: [
            ("Content-Type", "application/json"), ("User-Agent", "herald"),
        ], body: data)
        switch result {
        case .failure(let failure):
            return messages.map { _ in .retry(after: nil, reason: "mandrill: \(failure.description)") }
        case .success(let answer):
            return MandrillClassifier.outcomes(answer, addresses: messages.map(\.address), now: clock.now)
        }
    }
}

/// Mandrill's answers as outcomes (providers.md, section 10).
public enum MandrillClassifier {
    /// One outcome per address, in order.
    public static func outcomes(_ answer: ProviderHTTPClient.Answer, addresses: [String], now: Date) -> [DeliveryOutcome] {
        let json = try? JSONSerialization.jsonObject(with: answer.body)
        if answer.status == 200, let results = json as? [Any] {
            var byAddress: [String: [String: Any]] = [:]
            for case let result as [String: Any] in results {
                if let email = (result["email"] as? String)?.lowercased(), byAddress[email] == nil { byAddress[email] = result }
            }
            return addresses.map { address in
                // A 200 without this recipient's result may still have sent it: accepted, no id.
                guard let result = byAddress[address.lowercased()] else { return .accepted(providerMessageID: "") }
                return outcome(result)
            }
        }
        let error = json as? [String: Any]
        let name = (error?["name"] as? String) ?? ""
        let text = (error?["message"] as? String) ?? (answer.isTruncated ? "an answer too large to read" : TwilioClassifier.snippet(answer.body))
        let reason = "mandrill \(answer.status)\(name.isEmpty ? "" : " \(name)"): \(text)"
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        let classified: DeliveryOutcome = switch name {
        // An unknown subaccount or template is "permanent (config)" in providers.md, section 10:
        // a setup to fix before anything sends, as JPush's 1020 is.
        case "Invalid_Key", "PaymentRequired", "Unknown_Subaccount", "Unknown_Template", "Unknown_Sender": .misconfigured(reason: reason)
        case "ValidationError" where text.lowercased().contains("key"): .misconfigured(reason: reason)
        case "ValidationError", "Invalid_Template", "Invalid_Tag_Name": .rejected(reason: reason)
        case "RequestLimitExceeded": .throttled(after: retryAfter, reason: reason)
        case "GeneralError", "ServiceUnavailable": .retry(after: retryAfter, reason: reason)
        default:
            switch answer.status {
            case 200...299: .accepted(providerMessageID: "")
            case 401, 403: .misconfigured(reason: reason)
            case 429: .throttled(after: retryAfter, reason: reason)
            case 500...599: .retry(after: retryAfter, reason: reason)
            default: .rejected(reason: reason)
            }
        }
        return addresses.map { _ in classified }
    }

    /// One recipient's result: its `status` and `reject_reason`.
    public static func outcome(_ result: [String: Any]) -> DeliveryOutcome {
        let status = (result["status"] as? String) ?? ""
        let rejectReason = (result["reject_reason"] as? String) ?? ""
        let id = (result["_id"] as? String) ?? ""
        let reason = "mandrill \(status)" + (rejectReason.isEmpty ? "" : ": \(rejectReason)")
        switch status {
        case "sent", "queued", "scheduled":
            return .accepted(providerMessageID: id)
        case "invalid":
            return .deadAddress(reason: reason)
        case "rejected":
            switch rejectReason {
            case "hard-bounce", "invalid": return .deadAddress(reason: reason)
            case "soft-bounce": return .retry(after: nil, reason: reason)
            case "spam", "unsub": return .optedOut(reason: reason)
            case "unsigned", "invalid-sender", "test-mode-limit": return .misconfigured(reason: reason)
            default: return .rejected(reason: reason)
            }
        default:
            return .rejected(reason: "mandrill: unknown status '\(status)'")
        }
    }
}
