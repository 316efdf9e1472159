import Foundation
import HeraldCore
import NIOHTTP1

/// Vonage SMS API: one form-encoded `POST /sms/json` per message, `api_key` and `api_secret` in
/// the body, `to` without its `+`, `type=unicode` for text outside GSM-7, the notification in
/// `client-ref` (echoed in delivery receipts). The answer is 200 even when the message was
/// refused: each part has its own `status` (``VonageClassifier``).
public struct VonageTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        public var apiKey: String
        public var apiSecret: String
        /// A number (E.164, with or without `+`) or an alphanumeric sender ID.
        public var from: String
        /// Default `https://rest.nexmo.com`.
        public var baseURL: String
        /// Where Vonage sends delivery receipts. Default none (the account's setting).
        public var callback: String?
        /// Requests in flight at once. Default 16 (Vonage's default limit is about 30/s).
        public var concurrency: Int
        /// The longest text sent, in characters. Default 1,600.
        public var maximumBodyLength: Int

        public init(
            apiKey: String, apiSecret: String, from: String, baseURL: String = "https://rest.nexmo.com", callback: String? = nil,
            concurrency: Int = 16, maximumBodyLength: Int = 1600
        ) {
            self.apiKey = apiKey
            self.apiSecret = apiSecret
            self.from = from
            self.baseURL = baseURL
            self.callback = callback
            self.concurrency = concurrency
            self.maximumBodyLength = maximumBodyLength
        }
    }

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
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/sms/json")
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: configuration.concurrency) { await self.sendOne($0) }
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        if let refused = MessageChecks.expiry(message, now: clock.now)
            ?? MessageChecks.sms(message, maximumLength: configuration.maximumBodyLength, provider: name) {
            return refused
        }
        guard case .sms(let content) = message.content else { return .rejected(reason: "not an SMS") }
        var fields: [(String, String)] = [
            ("api_key", configuration.apiKey), ("api_secret", configuration.apiSecret),
            ("from", configuration.from.hasPrefix("+") ? String(configuration.from.dropFirst()) : configuration.from),
            ("to", String(message.address.dropFirst())), ("text", content.body), ("client-ref", String(message.notificationID)),
        ]
        if !GSM7.canEncode(content.body) { fields.append(("type", "unicode")) }
        if let callback = configuration.callback { fields.append(("callback", callback)) }
        let result = await http.execute(method: .POST, url: url, headers: [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"), ("User-Agent", "herald"),
        ], body: Data(FormEncoding.encode(fields).utf8))
        switch result {
        case .failure(let failure): return .retry(after: nil, reason: "vonage: \(failure.description)")
        case .success(let answer): return VonageClassifier.outcome(answer, now: clock.now)
        }
    }
}

/// Vonage's answers as outcomes: the HTTP status first, then each part's `status`.
public enum VonageClassifier {
    public static func outcome(_ answer: ProviderHTTPClient.Answer, now: Date) -> DeliveryOutcome {
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        guard answer.status == 200 else {
            let reason = "vonage \(answer.status): " + TwilioClassifier.snippet(answer.body)
            switch answer.status {
            case 401, 403: return .misconfigured(reason: reason)
            case 429: return .throttled(after: retryAfter, reason: reason)
            case 500...599: return .retry(after: retryAfter, reason: reason)
            default: return .rejected(reason: reason)
            }
        }
        guard let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any], let parts = json["messages"] as? [Any],
              !parts.isEmpty
        else {
            // A 200 whose body cannot be read may have sent the message: retrying could send it twice.
            return .accepted(providerMessageID: "")
        }
        var firstID: String?
        for case let part as [String: Any] in parts {
            let status = (part["status"] as? String) ?? (part["status"] as? Int).map(String.init) ?? ""
            if status == "0" {
                if firstID == nil { firstID = part["message-id"] as? String }
                continue
            }
            let reason = "vonage status \(status): \((part["error-text"] as? String) ?? "(no error text)")"
            switch status {
            // 1: throttled (faster than the account's limit); 5: an internal error.
            case "1": return .throttled(after: retryAfter, reason: reason)
            case "5": return .retry(after: retryAfter, reason: reason)
            // 2 and 3 (missing or invalid parameters, the `to` number among them) are PERM in
            // providers.md, section 9: refused for this message, nothing to deactivate.
            case "2", "3", "6": return .rejected(reason: reason)
            case "7": return .optedOut(reason: reason)
            case "4", "8", "9", "15", "29": return .misconfigured(reason: reason)
            default: return .rejected(reason: reason)
            }
        }
        return .accepted(providerMessageID: firstID ?? "")
    }
}

/// GSM 03.38's basic character set and extension table: what an SMS carries without UCS-2.
enum GSM7 {
    static let characters: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
    )

    static func canEncode(_ text: String) -> Bool {
        text.allSatisfy { characters.contains($0) }
    }
}
