import Foundation
import HeraldCore
import NIOHTTP1

/// Twilio Programmable Messaging: one form-encoded `POST …/Accounts/{sid}/Messages.json` per
/// message, HTTP Basic with the account SID and auth token (or an API key and its secret).
///
/// Every answer becomes an outcome (``TwilioClassifier``): 201 is accepted with the message SID,
/// 21610 is an opt-out, 21211/21614 a dead number, 20003 misconfigured, 429/5xx a retry after
/// Retry-After. A number or body that Twilio would refuse is refused here first.
public struct TwilioTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        public var accountSID: String
        /// The auth token, or the API key's secret when `apiKeySID` is set.
        public var authToken: String
        /// An API key (`SK…`) to authenticate with instead of the account SID. Default none.
        public var apiKeySID: String?
        /// The sender: E.164, short code or alphanumeric ID. One of `from` and
        /// `messagingServiceSID` is needed.
        public var from: String?
        /// `MG…`: Twilio picks the sender from the service's pool.
        public var messagingServiceSID: String?
        /// Default `https://api.twilio.com`; the sandbox's `…/twilio` in tests and the demo.
        public var baseURL: String
        /// Where Twilio posts status callbacks (Herald's webhook). Default none.
        public var statusCallback: String?
        /// Requests in flight at once. Default 32.
        public var concurrency: Int
        /// The longest body sent, in characters. Default 1,600 (Twilio's limit).
        public var maximumBodyLength: Int

        public init(
            accountSID: String, authToken: String, apiKeySID: String? = nil, from: String? = nil, messagingServiceSID: String? = nil,
            baseURL: String = "https://api.twilio.com", statusCallback: String? = nil, concurrency: Int = 32, maximumBodyLength: Int = 1600
        ) {
            self.accountSID = accountSID
            self.authToken = authToken
            self.apiKeySID = apiKeySID
            self.from = from
            self.messagingServiceSID = messagingServiceSID
            self.baseURL = baseURL
            self.statusCallback = statusCallback
            self.concurrency = concurrency
            self.maximumBodyLength = maximumBodyLength
        }
    }

    public let name: String
    public let configuration: Configuration
    let http: ProviderHTTPClient
    let clock: any WallClock
    let url: String
    let authorization: String

    public init(name: String, configuration: Configuration, http: ProviderHTTPClient, clock: any WallClock = SystemWallClock()) {
        self.name = name
        self.configuration = configuration
        self.http = http
        self.clock = clock
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/2010-04-01/Accounts/\(configuration.accountSID)/Messages.json")
        let user = configuration.apiKeySID ?? configuration.accountSID
        authorization = "Basic " + Data("\(user):\(configuration.authToken)".utf8).base64EncodedString()
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: configuration.concurrency) { await self.sendOne($0) }
    }

    /// The form fields of one message, in the order Twilio's documentation lists them.
    public func form(for message: OutboundMessage, body: String, now: Date) -> [(String, String)] {
        var fields: [(String, String)] = [("To", message.address)]
        if let from = configuration.from { fields.append(("From", from)) }
        if let service = configuration.messagingServiceSID { fields.append(("MessagingServiceSid", service)) }
        fields.append(("Body", body))
        if let callback = configuration.statusCallback { fields.append(("StatusCallback", callback)) }
        if let expiresAt = message.expiresAt {
            let seconds = Int(expiresAt.timeIntervalSince(now).rounded(.down))
            fields.append(("ValidityPeriod", String(min(max(seconds, 1), 36_000))))
        }
        return fields
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        let now = clock.now
        if let refused = MessageChecks.expiry(message, now: now)
            ?? MessageChecks.sms(message, maximumLength: configuration.maximumBodyLength, provider: name) {
            return refused
        }
        guard case .sms(let content) = message.content else { return .rejected(reason: "not an SMS") }
        let body = Data(FormEncoding.encode(form(for: message, body: content.body, now: now)).utf8)
        let result = await http.execute(method: .POST, url: url, headers: [
            ("Authorization", authorization), ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
            ("User-Agent", "herald"),
        ], body: body)
        switch result {
        case .failure(let failure):
            return .retry(after: nil, reason: "twilio: \(failure.description)")
        case .success(let answer):
            return TwilioClassifier.outcome(answer, now: clock.now)
        }
    }
}

/// `application/x-www-form-urlencoded`, as Twilio's SDKs write it.
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")

    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: " "))) ?? "")
            .replacingOccurrences(of: " ", with: "+")
    }
}

/// Twilio's answers and error codes as outcomes (providers.md, section 3).
public enum TwilioClassifier {
    public static func outcome(_ answer: ProviderHTTPClient.Answer, now: Date) -> DeliveryOutcome {
        let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        switch answer.status {
        case 200, 201:
            // A 2xx without a readable SID still created the message: sending it again would
            // send it twice, so it counts as accepted with no id to match webhooks against.
            return .accepted(providerMessageID: (json?["sid"] as? String) ?? "")
        default:
            break
        }
        let code = (json?["code"] as? Int) ?? (json?["code"] as? String).flatMap(Int.init)
        let text = (json?["message"] as? String) ?? (json?["detail"] as? String)
        let reason = "twilio \(answer.status)" + (code.map { " \($0)" } ?? "") + ": "
            + (text ?? (answer.isTruncated ? "an answer too large to read" : snippet(answer.body)))
        if let code, let outcome = outcome(errorCode: code, reason: reason, retryAfter: retryAfter) {
            return outcome
        }
        switch answer.status {
        case 401, 403: return .misconfigured(reason: reason + " (check account_sid and auth_token)")
        case 404: return .misconfigured(reason: reason + " (check account_sid and base_url)")
        case 429: return .throttled(after: retryAfter, reason: reason)
        case 500...599: return .retry(after: retryAfter, reason: reason)
        default: return .rejected(reason: reason)
        }
    }

    /// The class of a Twilio error code, at create time or in a status callback; nil for a code
    /// the table does not name (the HTTP status decides).
    public static func outcome(errorCode code: Int, reason: String, retryAfter: Duration? = nil) -> DeliveryOutcome? {
        switch code {
        case 21211, 21614, 30005, 30006: return .deadAddress(reason: reason)
        case 21610: return .optedOut(reason: reason)
        case 20003: return .misconfigured(reason: reason + " (check account_sid and auth_token)")
        case 20404, 21408, 21606, 21608, 21212, 21603, 21701, 30002: return .misconfigured(reason: reason)
        // Too many requests, too many messages queued for the sender, the queue overflowed.
        case 20429, 21611, 30001: return .throttled(after: retryAfter, reason: reason)
        case 30003, 30008: return .retry(after: retryAfter, reason: reason)
        // 21635 ('To' is a landline) is PERM in providers.md, section 3, not a number to deactivate.
        case 21602, 21604, 21609, 21612, 21617, 21623, 21635, 30004, 30007: return .rejected(reason: reason)
        default: return nil
        }
    }

    /// The start of a body that is not the JSON Twilio documents, printable.
    static func snippet(_ body: Data) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .unicodeScalars.map { $0.properties.isWhitespace || $0.value >= 32 ? String($0) : "?" }.joined()
        return text.isEmpty ? "an empty answer" : "an unexpected answer: \(text)"
    }
}
