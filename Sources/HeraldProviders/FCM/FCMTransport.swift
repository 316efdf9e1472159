import Crypto
import Foundation
import HeraldCore
import NIOHTTP1
import _CryptoExtras

/// Firebase Cloud Messaging HTTP v1: one `POST /v1/projects/{project}/messages:send` per
/// message, `Authorization: Bearer` with the service account's OAuth2 access token
/// (``FCMAccessTokens``: an RS256 assertion exchanged at `token_uri`, cached, refreshed before it
/// expires and after a 401, one refresh shared by concurrent sends).
///
/// The message (snake_case, as the Admin SDK writes it; providers.md, section 2):
/// `token`; `notification {title, body, image}` unless silent; `data` (the template's data plus
/// `url`, strings only); `android {priority, ttl, collapse_key, notification {sound, tag,
/// click_action, notification_count}}`; `apns {headers {apns-priority, apns-push-type,
/// apns-expiration, apns-collapse-id}, payload {aps}}` (a silent push is `content-available`
/// with priority 5); `webpush {headers {TTL, Urgency, Topic}}`. Data and notification text
/// over `maximumPayloadSize` bytes are rejected, never cut; so are reserved data keys.
///
/// Answers (``FCMClassifier``): 200 accepted with the message name; UNREGISTERED (and an
/// INVALID_ARGUMENT that names the registration token) a dead token; QUOTA_EXCEEDED,
/// UNAVAILABLE and INTERNAL a retry after Retry-After; INVALID_ARGUMENT and UNSPECIFIED_ERROR
/// rejected; SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR and PERMISSION_DENIED misconfigured;
/// 401 UNAUTHENTICATED a new access token and one more try, then misconfigured.
public struct FCMTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        /// The service account (``FCMServiceAccount/init(json:)`` reads Google's key file).
        public var serviceAccount: FCMServiceAccount
        /// Where `messages:send` is. Default `https://fcm.googleapis.com`; the sandbox's `…/fcm`
        /// in tests and the demo (whose key file's `token_uri` points at the sandbox too).
        public var baseURL: String
        /// Requests in flight at once. Default 32.
        public var concurrency: Int
        /// The most bytes of data (keys and values) and notification title and body. Default
        /// 4,000 (FCM refuses messages over 4,096 bytes).
        public var maximumPayloadSize: Int
        /// An access token is replaced when less than this is left of it. Default 5 minutes
        /// (google-auth uses 3 min 45 s).
        public var refreshMargin: Duration

        public init(
            serviceAccount: FCMServiceAccount, baseURL: String = "https://fcm.googleapis.com", concurrency: Int = 32,
            maximumPayloadSize: Int = 4000, refreshMargin: Duration = .seconds(300)
        ) {
            self.serviceAccount = serviceAccount
            self.baseURL = baseURL
            self.concurrency = concurrency
            self.maximumPayloadSize = maximumPayloadSize
            self.refreshMargin = refreshMargin
        }

        /// A configuration from the contents of a service-account key file.
        ///
        /// - Throws: ``FCMConfigurationError`` naming what the file lacks.
        public init(
            serviceAccountJSON: Data, baseURL: String = "https://fcm.googleapis.com", concurrency: Int = 32, maximumPayloadSize: Int = 4000,
            refreshMargin: Duration = .seconds(300)
        ) throws(FCMConfigurationError) {
            self.init(
                serviceAccount: try FCMServiceAccount(json: serviceAccountJSON), baseURL: baseURL, concurrency: concurrency,
                maximumPayloadSize: maximumPayloadSize, refreshMargin: refreshMargin
            )
        }

        /// Checks the key and the URLs, for `herald validate` and start-up.
        ///
        /// - Throws: ``FCMConfigurationError`` with a sentence that says what is wrong.
        public func validate() throws(FCMConfigurationError) {
            _ = try Self.privateKey(serviceAccount.privateKey)
            for (name, url) in [("token_uri", serviceAccount.tokenURI), ("base_url", baseURL)] {
                guard let scheme = URLComponents(string: url)?.scheme?.lowercased(), scheme == "https" || scheme == "http",
                      URLComponents(string: url)?.host?.isEmpty == false
                else { throw FCMConfigurationError("the FCM \(name) '\(url)' is not an http(s) URL") }
            }
            guard serviceAccount.projectID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw FCMConfigurationError("the FCM project_id '\(serviceAccount.projectID)' has characters a project id cannot have")
            }
        }

        static func privateKey(_ pem: String) throws(FCMConfigurationError) -> _RSA.Signing.PrivateKey {
            do {
                return try _RSA.Signing.PrivateKey(pemRepresentation: pem)
            } catch {
                throw FCMConfigurationError("the service account's private_key is not an RSA private key of 2048 bits or more in PEM (\(error))")
            }
        }
    }

    public let name: String
    public let configuration: Configuration
    let http: ProviderHTTPClient
    let clock: any WallClock
    let url: String
    /// The token source, or why the configuration cannot send: every message is then
    /// `misconfigured` with that sentence.
    let tokens: Result<FCMAccessTokens, FCMConfigurationError>

    public init(name: String, configuration: Configuration, http: ProviderHTTPClient, clock: any WallClock = SystemWallClock()) {
        self.name = name
        self.configuration = configuration
        self.http = http
        self.clock = clock
        url = ProviderHTTPClient.endpoint(configuration.baseURL, "/v1/projects/\(configuration.serviceAccount.projectID)/messages:send")
        tokens = Result { () throws(FCMConfigurationError) in
            try configuration.validate()
            let key = try Configuration.privateKey(configuration.serviceAccount.privateKey)
            let account = configuration.serviceAccount
            return FCMAccessTokens(clock: clock, margin: configuration.refreshMargin.seconds) { now in
                await FCMAccessTokens.request(account: account, key: key, http: http, now: now)
            }
        }
    }

    /// The signed assertion the token request carries, for a check of the service account
    /// without sending (`herald doctor`) and for tests.
    ///
    /// - Parameter scope: default `https://www.googleapis.com/auth/firebase.messaging`.
    /// - Throws: ``FCMConfigurationError`` when the private key cannot be read or sign.
    public static func makeAssertion(for account: FCMServiceAccount, now: Date, scope: String = "https://www.googleapis.com/auth/firebase.messaging") throws(FCMConfigurationError) -> String {
        let key = try Configuration.privateKey(account.privateKey)
        do {
            return try FCMAccessTokens.assertion(account: account, key: key, now: now, scope: scope)
        } catch {
            throw FCMConfigurationError("the service account's private key cannot sign: \(error)")
        }
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: configuration.concurrency) { await self.sendOne($0) }
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        let tokens: FCMAccessTokens
        switch self.tokens {
        case .success(let ready): tokens = ready
        case .failure(let error): return .misconfigured(reason: "\(name): \(error.description)")
        }
        let body: Data
        switch self.body(for: message, now: clock.now) {
        case .success(let ready): body = ready
        case .failure(let refusal): return refusal.outcome
        }
        var stale: String?
        for attempt in 1...2 {
            let token: String
            switch await tokens.token(replacing: stale) {
            case .success(let fresh): token = fresh
            case .failure(let failure): return failure.outcome
            }
            let result = await http.execute(method: .POST, url: url, headers: [
                ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json; charset=UTF-8"), ("User-Agent", "herald"),
            ], body: body)
            switch result {
            case .failure(let failure):
                return .retry(after: nil, reason: "fcm: \(failure.description)")
            case .success(let answer):
                if FCMClassifier.isExpiredAccessToken(answer) {
                    if attempt == 1 {
                        stale = token
                        continue
                    }
                    return .misconfigured(reason: FCMClassifier.reason(answer) + " (again with a new access token: check the service account's roles)")
                }
                return FCMClassifier.outcome(answer, now: clock.now)
            }
        }
        return .retry(after: nil, reason: "fcm: no answer")
    }

    /// The outcome of a message refused before sending.
    public struct Refusal: Error, Sendable {
        public var outcome: DeliveryOutcome
        init(_ outcome: DeliveryOutcome) { self.outcome = outcome }
    }

    /// The JSON body of `messages:send` for one message, or why it is refused before sending.
    public func body(for message: OutboundMessage, now: Date) -> Result<Data, Refusal> {
        switch object(for: message, now: now) {
        case .success(let object):
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return .failure(Refusal(.rejected(reason: "fcm: the message could not be encoded as JSON")))
            }
            return .success(data)
        case .failure(let refusal):
            return .failure(refusal)
        }
    }

    /// Why a push is over FCM's limit on data and notification text (4,000 bytes by default),
    /// or nil: the data (with `url`) keys and values, and the title and body unless silent.
    public static func sizeRefusal(_ content: PushContent, limit: Int = 4000) -> String? {
        var data = content.data
        if let url = content.url, data["url"] == nil { data["url"] = url }
        var size = data.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if !content.isSilent { size += (content.title?.utf8.count ?? 0) + content.body.utf8.count }
        guard size > limit else { return nil }
        return "the FCM payload has \(size) bytes of data and notification text; at most \(limit) are sent"
    }

    /// Data keys FCM reserves (providers.md, section 2).
    static func isReserved(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered == "from" || lowered == "message_type" || lowered.hasPrefix("google") || lowered.hasPrefix("gcm")
    }

    /// The request as a JSON object: `{"message": {…}}`.
    public func object(for message: OutboundMessage, now: Date) -> Result<[String: Any], Refusal> {
        if let refused = MessageChecks.expiry(message, now: now) { return .failure(Refusal(refused)) }
        guard case .push(let content) = message.content else {
            return .failure(Refusal(.rejected(reason: "\(name) carries push, and this is \(message.content.channel.rawValue) content")))
        }
        let token = message.address
        guard !token.isEmpty, !token.contains(where: \.isWhitespace), token.utf8.count <= 4096 else {
            return .failure(Refusal(.deadAddress(reason: "'\(token.prefix(40))' is not an FCM registration token")))
        }
        var data = content.data
        if let url = content.url, data["url"] == nil { data["url"] = url }
        if let reserved = data.keys.sorted().first(where: Self.isReserved) {
            return .failure(Refusal(.rejected(reason: "the push data key '\(reserved)' is reserved by FCM (from, message_type, google…, gcm…)")))
        }
        if let refusal = Self.sizeRefusal(content, limit: configuration.maximumPayloadSize) {
            return .failure(Refusal(.rejected(reason: refusal)))
        }
        var ttl = content.ttl
        if let expiresAt = message.expiresAt {
            let left = Int(expiresAt.timeIntervalSince(now).rounded(.down))
            ttl = min(ttl ?? left, left)
        }
        ttl = ttl.map { min(max($0, 0), 2_419_200) }
        let isHigh = content.effectivePriority == .high
        var fields: [String: Any] = ["token": token]
        if !data.isEmpty { fields["data"] = data }
        if !content.isSilent {
            var notification: [String: Any] = ["body": content.body]
            if let title = content.title { notification["title"] = title }
            if let image = content.image { notification["image"] = image }
            fields["notification"] = notification
        }
        var android: [String: Any] = ["priority": isHigh ? "high" : "normal"]
        if let ttl { android["ttl"] = "\(ttl)s" }
        if let key = content.collapseKey, !key.isEmpty { android["collapse_key"] = key }
        if !content.isSilent {
            var notification: [String: Any] = [:]
            if let sound = content.sound { notification["sound"] = sound }
            if let thread = content.threadID { notification["tag"] = thread }
            if let category = content.category { notification["click_action"] = category }
            if let badge = content.badge { notification["notification_count"] = badge }
            if !notification.isEmpty { android["notification"] = notification }
        }
        fields["android"] = android
        var apnsHeaders: [String: String] = [
            "apns-priority": isHigh && !content.isSilent ? "10" : "5", "apns-push-type": content.isSilent ? "background" : "alert",
        ]
        if let ttl { apnsHeaders["apns-expiration"] = String(Int64(now.timeIntervalSince1970) + Int64(ttl)) }
        if let key = content.collapseKey, !key.isEmpty {
            // APNs takes at most 64 bytes; a longer key is hashed so that it still collapses.
            apnsHeaders["apns-collapse-id"] = key.utf8.count <= 64 ? key : Base64URL.encode(Data(SHA256.hash(data: Data(key.utf8))))
        }
        var aps: [String: Any] = [:]
        if content.isSilent { aps["content-available"] = 1 }
        if let badge = content.badge { aps["badge"] = badge }
        if !content.isSilent {
            if let sound = content.sound { aps["sound"] = sound }
            if let category = content.category { aps["category"] = category }
            if let thread = content.threadID { aps["thread-id"] = thread }
            if content.image != nil { aps["mutable-content"] = 1 }
        }
        fields["apns"] = ["headers": apnsHeaders, "payload": ["aps": aps]] as [String: Any]
        var webHeaders = ["Urgency": isHigh ? "high" : "normal"]
        if let ttl { webHeaders["TTL"] = String(ttl) }
        if let key = content.collapseKey, !key.isEmpty { webHeaders["Topic"] = WebPushTransport.topic(key) }
        var webpush: [String: Any] = ["headers": webHeaders]
        if let url = content.url, url.lowercased().hasPrefix("https://") { webpush["fcm_options"] = ["link": url] }
        fields["webpush"] = webpush
        return .success(["message": fields])
    }
}

/// FCM's answers as outcomes (providers.md, section 2, the error table).
public enum FCMClassifier {
    /// The parts of Google's error body.
    struct GoogleError {
        var code: Int?
        var message: String?
        var status: String?
        /// The `errorCode` of the `google.firebase.fcm.v1.FcmError` detail.
        var fcmErrorCode: String?
    }

    static func error(in answer: ProviderHTTPClient.Answer) -> GoogleError? {
        guard let json = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any],
              let error = json["error"] as? [String: Any]
        else { return nil }
        let details = (error["details"] as? [[String: Any]]) ?? []
        let fcm = details.first { ($0["@type"] as? String)?.hasSuffix("google.firebase.fcm.v1.FcmError") == true }
        return GoogleError(
            code: (error["code"] as? NSNumber)?.intValue, message: error["message"] as? String, status: error["status"] as? String,
            fcmErrorCode: fcm?["errorCode"] as? String
        )
    }

    /// A 401 that says the access token is bad or expired (UNAUTHENTICATED without an FcmError;
    /// THIRD_PARTY_AUTH_ERROR is a 401 too, about APNs or Web Push credentials, which a new
    /// access token does not fix).
    static func isExpiredAccessToken(_ answer: ProviderHTTPClient.Answer) -> Bool {
        guard answer.status == 401 else { return false }
        return error(in: answer)?.fcmErrorCode == nil
    }

    /// `fcm 404 UNREGISTERED: Requested entity was not found.`
    static func reason(_ answer: ProviderHTTPClient.Answer) -> String {
        guard let error = error(in: answer) else {
            return "fcm \(answer.status): " + (answer.isTruncated ? "an answer too large to read" : "not FCM's error JSON: " + TwilioClassifier.snippet(answer.body))
        }
        let code = error.fcmErrorCode ?? error.status ?? "error"
        return "fcm \(answer.status) \(code): \(error.message ?? "no message")"
    }

    public static func outcome(_ answer: ProviderHTTPClient.Answer, now: Date) -> DeliveryOutcome {
        if (200...299).contains(answer.status) {
            // A 2xx without a readable name still sent the message: accepted, no id.
            let json = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
            return .accepted(providerMessageID: (json?["name"] as? String) ?? "")
        }
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        let reason = reason(answer)
        guard let error = error(in: answer) else {
            switch answer.status {
            case 401, 403: return .misconfigured(reason: reason + " (check the service account and its roles)")
            case 404: return .misconfigured(reason: reason + " (check base_url and project_id)")
            case 429: return .throttled(after: retryAfter, reason: "provider 429 (" + reason + ")")
            default: return .retry(after: retryAfter, reason: reason)
            }
        }
        switch error.fcmErrorCode {
        case "UNREGISTERED":
            return .deadAddress(reason: reason)
        case "SENDER_ID_MISMATCH":
            return .misconfigured(reason: reason + " (the token belongs to another Firebase project: check project_id)")
        case "THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR":
            return .misconfigured(reason: reason + " (check the APNs key or Web Push credentials uploaded to Firebase)")
        case "QUOTA_EXCEEDED":
            return .throttled(after: retryAfter, reason: "provider 429 (" + reason + ")")
        case "UNAVAILABLE", "INTERNAL":
            return .retry(after: retryAfter, reason: reason)
        case "INVALID_ARGUMENT":
            let text = (error.message ?? "").lowercased()
            if text.contains("registration token") && (text.contains("not a valid") || text.contains("invalid")) {
                return .deadAddress(reason: reason)
            }
            return .rejected(reason: reason)
        case "UNSPECIFIED_ERROR":
            return .rejected(reason: reason)
        default:
            switch answer.status {
            case 401, 403: return .misconfigured(reason: reason + " (check the service account and its roles)")
            case 404: return .misconfigured(reason: reason + " (check base_url and project_id)")
            case 429: return .throttled(after: retryAfter, reason: "provider 429 (" + reason + ")")
            case 500...599: return .retry(after: retryAfter, reason: reason)
            default: return .rejected(reason: reason)
            }
        }
    }
}
