import Foundation
import HeraldCore
import NIOHTTP1

/// Pushy (pushy.me): one `POST /push?api_key=…` per push to one device token (providers.md,
/// section 12).
///
/// The push's text goes in `data` (`title`, `message`, `url`, `image` and the push's own data),
/// which the app reads, and for iOS in `notification` (title, body, badge, sound, category);
/// a silent push has no `notification` and sets `content_available`. `data` is at most 4 KB and
/// `collapse_key` at most 32 characters; a push over them is `rejected` before sending.
///
/// Answers: 200 with `success` is accepted with the push `id`, unless the token is in
/// `info.failed` (Pushy does not know it: a dead address); 401 misconfigured, 429 and 5xx
/// retries, other errors rejected (``PushyClassifier``).
public struct PushyTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        /// The Secret API Key.
        public var apiKey: String
        /// Default `https://api.pushy.me`; the sandbox's `…/pushy` in tests and the demo.
        public var baseURL: String
        /// Requests in flight at once. Default 32.
        public var concurrency: Int

        public init(apiKey: String, baseURL: String = "https://api.pushy.me", concurrency: Int = 32) {
            self.apiKey = apiKey
            self.baseURL = baseURL
            self.concurrency = concurrency
        }
    }

    /// Pushy's limit on `data`, in bytes.
    public static let maximumDataSize = 4096
    /// Pushy's limit on `collapse_key`, in characters.
    public static let maximumCollapseKeyLength = 32
    /// The longest `time_to_live`: 365 days.
    public static let maximumTimeToLive = 365 * 86_400

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
        let key = configuration.apiKey.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/push") + "?api_key=" + key
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: configuration.concurrency) { await self.sendOne($0) }
    }

    /// The request body of one push, or why it cannot be sent.
    public func body(for message: OutboundMessage, content: PushContent, now: Date) -> Result<Data, PushyRefusal> {
        let data: [String: Any]
        switch Self.data(content) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let value): data = value
        }
        var object: [String: Any] = ["to": [message.address], "data": data]
        if content.isSilent {
            object["content_available"] = true
        } else {
            var notification: [String: Any] = ["body": content.body]
            if let title = content.title, !title.isEmpty { notification["title"] = title }
            if let badge = content.badge { notification["badge"] = badge }
            if let sound = content.sound, !sound.isEmpty { notification["sound"] = sound }
            if let category = content.category, !category.isEmpty { notification["category"] = category }
            object["notification"] = notification
            if let image = content.image, !image.isEmpty { object["mutable_content"] = true }
        }
        var ttl = content.ttl
        if let expiresAt = message.expiresAt {
            let left = max(Int(expiresAt.timeIntervalSince(now).rounded(.down)), 1)
            ttl = min(ttl ?? left, left)
        }
        if let ttl { object["time_to_live"] = min(max(ttl, 1), Self.maximumTimeToLive) }
        if let collapse = content.collapseKey, !collapse.isEmpty {
            if let refusal = PushPayloadLimits.collapseKeyRefusal(collapse, service: .pushy) { return .failure(PushyRefusal(reason: refusal)) }
            object["collapse_key"] = collapse
        }
        return .success((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// The `data` of a push (its data, with the title, body, url and image the app shows), within
    /// Pushy's limit, or why it is over it.
    static func data(_ content: PushContent) -> Result<[String: Any], PushyRefusal> {
        var data: [String: Any] = [:]
        for (key, value) in content.data { data[key] = value }
        if let title = content.title, !title.isEmpty, data["title"] == nil { data["title"] = title }
        if data["message"] == nil { data["message"] = content.body }
        if let url = content.url, !url.isEmpty, data["url"] == nil { data["url"] = url }
        if let image = content.image, !image.isEmpty, data["image"] == nil { data["image"] = image }
        let dataSize = (try? JSONSerialization.data(withJSONObject: data, options: [.withoutEscapingSlashes]))?.count ?? 0
        if dataSize > Self.maximumDataSize {
            return .failure(PushyRefusal(reason: "the Pushy data is \(dataSize) bytes; Pushy takes at most \(Self.maximumDataSize)"))
        }
        return .success(data)
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        let now = clock.now
        if let refused = MessageChecks.expiry(message, now: now) { return refused }
        guard case .push(let content) = message.content else {
            return .rejected(reason: "\(name) carries push, and this is \(message.content.channel.rawValue) content")
        }
        guard PushyClassifier.isDeviceToken(message.address) else {
            return .deadAddress(reason: "'\(message.address.prefix(80))' is not a Pushy device token (letters and digits)")
        }
        let body: Data
        switch self.body(for: message, content: content, now: now) {
        case .success(let data): body = data
        case .failure(let refusal): return .rejected(reason: refusal.reason)
        }
        let result = await http.execute(method: .POST, url: url, headers: [
            ("Content-Type", "application/json"), ("Accept", "application/json"), ("User-Agent", "herald"),
        ], body: body)
        switch result {
        case .failure(let failure):
            return .retry(after: nil, reason: "pushy: \(failure.description)")
        case .success(let answer):
            return PushyClassifier.outcome(answer, token: message.address, now: clock.now)
        }
    }
}

/// Why a push cannot go to Pushy as it is.
public struct PushyRefusal: Error, Sendable, Hashable {
    public var reason: String
}

/// Pushy's answers as outcomes (providers.md, section 12).
public enum PushyClassifier {
    /// - Parameter token: the device token the push went to; in `info.failed` it is dead.
    public static func outcome(_ answer: ProviderHTTPClient.Answer, token: String, now: Date) -> DeliveryOutcome {
        let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        if answer.status == 200, json?["error"] == nil {
            let failed = ((json?["info"] as? [String: Any])?["failed"] as? [String]) ?? []
            if failed.contains(token) {
                return .deadAddress(reason: "pushy: the device token is not registered under the app (info.failed)")
            }
            // A 200 pushed; an unreadable body gives no id, not a reason to push again.
            return .accepted(providerMessageID: (json?["id"] as? String) ?? "")
        }
        let code = json?["code"] as? String
        let text = (json?["error"] as? String) ?? (answer.isTruncated ? "an answer too large to read" : TwilioClassifier.snippet(answer.body))
        let reason = "pushy \(answer.status)" + (code.map { " \($0)" } ?? "") + ": " + text
        switch answer.status {
        case 401, 403: return .misconfigured(reason: reason + " (check api_key)")
        case 404: return .misconfigured(reason: reason + " (check base_url)")
        case 429: return .throttled(after: retryAfter, reason: "provider 429 " + reason)
        case 500...599: return .retry(after: retryAfter, reason: reason)
        case 200: return .retry(after: retryAfter, reason: reason)
        default:
            // An error without Pushy's body came from something in between.
            return json == nil ? .retry(after: retryAfter, reason: reason) : .rejected(reason: reason)
        }
    }

    /// Letters and digits, 1 to 200 of them.
    public static func isDeviceToken(_ text: String) -> Bool {
        (1...200).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }
}
