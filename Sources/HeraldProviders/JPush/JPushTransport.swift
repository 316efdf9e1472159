import Foundation
import HeraldCore
import NIOHTTP1

/// JPush (极光推送) Push API v3: one `POST /v3/push` per push to one `registration_id`,
/// HTTP Basic with the appKey and masterSecret (providers.md, section 11).
///
/// An alert push is a `notification` with an `android` and an `ios` block (title, body, badge,
/// sound, category, thread id, extras); a silent push is a `message` (JPush's custom message,
/// which the app receives without a notification shown). The push's `data` and `url` go in
/// `extras`. JPush's size limits are checked before sending: the `ios` block at most 2,000
/// bytes, the `android` block and the `message` together at most 4,000; a push over them is
/// `rejected` (never cut).
///
/// Answers: 200 is accepted with `msg_id`; the error codes of the spec's table are classified
/// (``JPushClassifier``): 1011 (no device matches the single registration id) is a dead
/// address, 1004/1008/2003/2004/2006/2007 misconfigured, 2002 (rate limit) a retry after
/// `X-Rate-Limit-Reset`, 1000/1030/5xx retries, the rest rejected.
public struct JPushTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        /// The app's AppKey (24 hex digits).
        public var appKey: String
        /// The app's Master Secret.
        public var masterSecret: String
        /// Default `https://api.jpush.cn` (`https://bjapi.push.jiguang.cn` for Beijing-hosted
        /// apps); the sandbox's `…/jpush` in tests and the demo.
        public var baseURL: String
        /// `platform`: the platforms a registration id may be on. Default `["android", "ios"]`.
        public var platforms: [String]
        /// `options.apns_production`: iOS pushes go to APNs production. Default true.
        public var apnsProduction: Bool
        /// Requests in flight at once. Default 32.
        public var concurrency: Int

        public init(
            appKey: String, masterSecret: String, baseURL: String = "https://api.jpush.cn", platforms: [String] = ["android", "ios"],
            apnsProduction: Bool = true, concurrency: Int = 32
        ) {
            self.appKey = appKey
            self.masterSecret = masterSecret
            self.baseURL = baseURL
            self.platforms = platforms
            self.apnsProduction = apnsProduction
            self.concurrency = concurrency
        }
    }

    /// The size limits of the JPush documentation, in bytes.
    public static let maximumIOSSize = 2000
    public static let maximumAndroidSize = 4000
    /// The longest time_to_live JPush keeps a push: 10 days.
    public static let maximumTimeToLive = 10 * 86_400

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
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/v3/push")
        authorization = "Basic " + Data("\(configuration.appKey):\(configuration.masterSecret)".utf8).base64EncodedString()
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: configuration.concurrency) { await self.sendOne($0) }
    }

    /// The request body of one push, or why it cannot be sent.
    public func body(for message: OutboundMessage, content: PushContent, now: Date) -> Result<Data, JPushRefusal> {
        var object: [String: Any] = [
            "platform": configuration.platforms,
            "audience": ["registration_id": [message.address]],
        ]
        switch Self.notification(content) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let (key, value)):
            object[key] = value
        }
        var options: [String: Any] = [
            // Echoed back; non-zero.
            "sendno": Int(message.notificationID % Int64(Int32.max)) + 1,
            "apns_production": configuration.apnsProduction,
        ]
        var ttl = content.ttl
        if let expiresAt = message.expiresAt {
            let left = max(Int(expiresAt.timeIntervalSince(now).rounded(.down)), 0)
            ttl = min(ttl ?? left, left)
        }
        if let ttl { options["time_to_live"] = min(max(ttl, 0), Self.maximumTimeToLive) }
        if let collapse = content.collapseKey, !collapse.isEmpty {
            if let refusal = PushPayloadLimits.collapseKeyRefusal(collapse, service: .jpush) { return .failure(JPushRefusal(reason: refusal)) }
            options["apns_collapse_id"] = collapse
        }
        object["options"] = options
        return .success((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// The `notification` (or, for a silent push, `message`) member of a push, within JPush's
    /// size limits, or why it is over them.
    static func notification(_ content: PushContent) -> Result<(String, [String: Any]), JPushRefusal> {
        var extras = content.data
        if let url = content.url, !url.isEmpty, extras["url"] == nil { extras["url"] = url }
        if let image = content.image, !image.isEmpty, extras["image"] == nil { extras["image"] = image }
        var iosSize = 0, androidSize = 0
        let member: (String, [String: Any])
        if content.isSilent {
            var custom: [String: Any] = ["msg_content": content.body, "extras": extras]
            if let title = content.title, !title.isEmpty { custom["title"] = title }
            androidSize = Self.size(custom)
            member = ("message", custom)
        } else {
            var android: [String: Any] = ["alert": content.body, "extras": extras, "priority": content.effectivePriority == .high ? 1 : 0]
            if let title = content.title, !title.isEmpty { android["title"] = title }
            if let image = content.image, !image.isEmpty { android["big_pic_path"] = image }
            if let category = content.category, !category.isEmpty { android["category"] = category }
            var alert: [String: Any] = ["body": content.body]
            if let title = content.title, !title.isEmpty { alert["title"] = title }
            var ios: [String: Any] = ["alert": alert, "extras": extras]
            if let sound = content.sound, !sound.isEmpty { ios["sound"] = sound }
            if let badge = content.badge { ios["badge"] = badge }
            if let category = content.category, !category.isEmpty { ios["category"] = category }
            if let thread = content.threadID, !thread.isEmpty { ios["thread-id"] = thread }
            if let image = content.image, !image.isEmpty { ios["mutable-content"] = true }
            iosSize = Self.size(ios)
            androidSize = Self.size(android)
            member = ("notification", ["alert": content.body, "android": android, "ios": ios])
        }
        if iosSize > Self.maximumIOSSize {
            return .failure(JPushRefusal(reason: "the JPush iOS notification is \(iosSize) bytes; JPush takes at most \(Self.maximumIOSSize)"))
        }
        if androidSize > Self.maximumAndroidSize {
            return .failure(JPushRefusal(reason: "the JPush Android notification and message are \(androidSize) bytes; JPush takes at most \(Self.maximumAndroidSize)"))
        }
        return .success(member)
    }

    static func size(_ object: [String: Any]) -> Int {
        (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes]))?.count ?? 0
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        let now = clock.now
        if let refused = MessageChecks.expiry(message, now: now) { return refused }
        guard case .push(let content) = message.content else {
            return .rejected(reason: "\(name) carries push, and this is \(message.content.channel.rawValue) content")
        }
        guard JPushClassifier.isRegistrationID(message.address) else {
            return .deadAddress(reason: "'\(message.address.prefix(80))' is not a JPush registration id (letters and digits)")
        }
        let body: Data
        switch self.body(for: message, content: content, now: now) {
        case .success(let data): body = data
        case .failure(let refusal): return .rejected(reason: refusal.reason)
        }
        let result = await http.execute(method: .POST, url: url, headers: [
            ("Authorization", authorization), ("Content-Type", "application/json"), ("Accept", "application/json"), ("User-Agent", "herald"),
        ], body: body)
        switch result {
        case .failure(let failure):
            return .retry(after: nil, reason: "jpush: \(failure.description)")
        case .success(let answer):
            return JPushClassifier.outcome(answer, now: clock.now)
        }
    }
}

/// Why a push cannot go to JPush as it is.
public struct JPushRefusal: Error, Sendable, Hashable {
    public var reason: String
}

/// JPush's answers and error codes as outcomes (providers.md, section 11).
public enum JPushClassifier {
    public static func outcome(_ answer: ProviderHTTPClient.Answer, now: Date) -> DeliveryOutcome {
        let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        let reset = RetryAfter.parse(answer.header("X-Rate-Limit-Reset"), now: now) ?? RetryAfter.parse(answer.header("Retry-After"), now: now)
        if answer.status == 200 {
            // A 200 pushed; without a readable msg_id there is no id to report, not a reason to push again.
            let id = (json?["msg_id"] as? String) ?? (json?["msg_id"] as? NSNumber)?.stringValue ?? ""
            return .accepted(providerMessageID: id)
        }
        let error = json?["error"] as? [String: Any]
        let code = (error?["code"] as? NSNumber)?.intValue ?? (error?["code"] as? String).flatMap(Int.init)
        let text = (error?["message"] as? String) ?? (answer.isTruncated ? "an answer too large to read" : TwilioClassifier.snippet(answer.body))
        let reason = "jpush \(answer.status)" + (code.map { " \($0)" } ?? "") + ": " + text
        if let code, let outcome = outcome(code: code, status: answer.status, reason: reason, retryAfter: reset) { return outcome }
        switch answer.status {
        case 401, 403: return .misconfigured(reason: reason + " (check app_key and master_secret)")
        case 404: return .misconfigured(reason: reason + " (check base_url)")
        case 429: return .throttled(after: reset, reason: "provider 429 " + reason)
        case 500...599: return .retry(after: reset, reason: reason)
        default:
            // An error without JPush's body came from something in between.
            return code == nil ? .retry(after: reset, reason: reason) : .rejected(reason: reason)
        }
    }

    /// The class of a JPush error code; nil for a code the table does not name.
    static func outcome(code: Int, status: Int, reason: String, retryAfter: Duration?) -> DeliveryOutcome? {
        switch code {
        case 1000, 1012, 1030: return .retry(after: retryAfter, reason: reason)
        case 2002: return .throttled(after: retryAfter, reason: "provider 429 " + reason)
        case 1011: return .deadAddress(reason: reason)
        case 1004, 1008: return .misconfigured(reason: reason + " (check app_key and master_secret)")
        case 1020: return .misconfigured(reason: reason + " (base_url must be https)")
        case 2003, 2004, 2006, 2007: return .misconfigured(reason: reason)
        case 1001, 1002, 1003, 1005, 1009, 2005: return .rejected(reason: reason)
        default: return nil
        }
    }

    /// Letters and digits, 1 to 64 of them.
    public static func isRegistrationID(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }
}
