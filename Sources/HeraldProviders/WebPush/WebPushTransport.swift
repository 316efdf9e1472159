import Crypto
import Foundation
import HeraldCore
import NIOHTTP1

/// Web Push (RFC 8030) to browsers: one `POST <subscription endpoint>` per message, the payload
/// encrypted for the subscription (RFC 8291 `aes128gcm`, ``WebPushEncryptor``) and the sender
/// identified by VAPID (RFC 8292, ``VAPIDSigner``).
///
/// Headers: `TTL` (the template's `ttl`, else what is left until the notification expires,
/// else `Configuration.defaultTTL`), `Urgency` (`high` or `normal` from the priority), `Topic`
/// (the collapse key: kept when it already is at most 32 base64url characters, otherwise
/// replaced by the first 32 characters of the base64url SHA-256 of the key, so that the same key
/// always gives the same topic), `Content-Encoding: aes128gcm` and `Authorization: vapid t=…, k=…`.
///
/// The payload is a JSON object for the service worker: `title`, `body`, `url`, `image`, `badge`,
/// `tag` (the thread id), `data` and `silent`, only those present. It is at most 3,993 bytes
/// (what fits the 4,096-byte body every push service takes, RFC 8291 §4), else the message is
/// rejected, never cut.
///
/// Answers (providers.md, section 5, ``WebPushClassifier``): 201 (any 2xx) accepted with the
/// `Location` as the provider's id; 404 and 410 a dead subscription; 413 and 400 rejected;
/// 401 and 403 misconfigured (VAPID); 429 and 5xx a retry after `Retry-After`.
public struct WebPushTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        /// The VAPID private key: a P-256 PEM, or the 32-byte scalar in base64url.
        public var vapidPrivateKey: String
        /// Whom push services contact: `mailto:ops@example.com` or an `https:` URL.
        public var subject: String
        /// Requests in flight at once. Default 32.
        public var concurrency: Int
        /// The `TTL` when neither the template nor the notification's expiry sets one, in
        /// seconds. Default 2,419,200 (4 weeks, the longest push services keep a message).
        public var defaultTTL: Int
        /// The largest payload before encryption, in bytes. Default 3,993 (RFC 8291 §4).
        public var maximumPayloadSize: Int
        /// How long a VAPID token is valid (`exp`), at most 24 h. Default 12 h.
        public var tokenLifetime: Duration

        public init(
            vapidPrivateKey: String, subject: String, concurrency: Int = 32, defaultTTL: Int = 2_419_200,
            maximumPayloadSize: Int = WebPushEncryptor.maximumPlaintextSize, tokenLifetime: Duration = .seconds(12 * 3600)
        ) {
            self.vapidPrivateKey = vapidPrivateKey
            self.subject = subject
            self.concurrency = concurrency
            self.defaultTTL = defaultTTL
            self.maximumPayloadSize = maximumPayloadSize
            self.tokenLifetime = tokenLifetime
        }

        /// Checks the key and the subject, for `herald validate` and start-up.
        ///
        /// - Throws: ``WebPushConfigurationError`` with a sentence that says what is wrong.
        public func validate() throws(WebPushConfigurationError) {
            _ = try VAPIDKey(parsing: vapidPrivateKey)
            try Self.validate(subject: subject)
            guard tokenLifetime > .zero, tokenLifetime <= .seconds(24 * 3600) else {
                throw WebPushConfigurationError("the VAPID token lifetime must be more than 0 and at most 24 h (RFC 8292)")
            }
            guard (1...WebPushEncryptor.maximumPlaintextSize).contains(maximumPayloadSize) else {
                throw WebPushConfigurationError("the largest Web Push payload must be from 1 to \(WebPushEncryptor.maximumPlaintextSize) bytes")
            }
        }

        static func validate(subject: String) throws(WebPushConfigurationError) {
            let lowered = subject.lowercased()
            guard (lowered.hasPrefix("mailto:") && subject.count > 7) || (lowered.hasPrefix("https://") && subject.count > 8) else {
                throw WebPushConfigurationError("the VAPID subject '\(subject)' must be a mailto: address or an https: URL (RFC 8292 §2.1)")
            }
        }
    }

    public let name: String
    public let configuration: Configuration
    let http: ProviderHTTPClient
    let clock: any WallClock
    /// The signer, or why the configuration cannot send: every message is then `misconfigured`
    /// with that sentence, so a bad key stops the channel instead of crashing the process.
    let signer: Result<VAPIDSigner, WebPushConfigurationError>

    public init(name: String, configuration: Configuration, http: ProviderHTTPClient, clock: any WallClock = SystemWallClock()) {
        self.name = name
        self.configuration = configuration
        self.http = http
        self.clock = clock
        signer = Result { () throws(WebPushConfigurationError) in
            try configuration.validate()
            return VAPIDSigner(
                key: try VAPIDKey(parsing: configuration.vapidPrivateKey), subject: configuration.subject,
                lifetime: configuration.tokenLifetime.seconds
            )
        }
    }

    /// The public key browsers must subscribe with (`applicationServerKey`), base64url; nil when
    /// the private key cannot be read.
    public var applicationServerKey: String? {
        try? signer.get().key.publicKeyBase64URL
    }

    /// The `Authorization` header (`vapid t=…, k=…`) for an endpoint origin, as sends carry it;
    /// nil when the VAPID key does not load. For load generators that replay a prepared request.
    public func vapidAuthorization(audience: String, now: Date) -> String? {
        try? signer.get().authorization(audience: audience, now: now)
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: configuration.concurrency) { await self.sendOne($0) }
    }

    /// What one message becomes before encryption: the headers besides Authorization, and the
    /// JSON payload; or the outcome that refuses it.
    public func prepare(_ message: OutboundMessage, now: Date) -> Result<Prepared, Refusal> {
        if let refused = MessageChecks.expiry(message, now: now) { return .failure(Refusal(refused)) }
        guard case .push(let content) = message.content else {
            return .failure(Refusal(.rejected(reason: "\(name) carries push, and this is \(message.content.channel.rawValue) content")))
        }
        guard let subscription = message.subscription else {
            return .failure(Refusal(.rejected(reason: "the device has no Web Push subscription (endpoint, p256dh and auth)")))
        }
        guard let audience = VAPIDSigner.audience(of: subscription.endpoint) else {
            return .failure(Refusal(.deadAddress(reason: "the subscription endpoint '\(subscription.endpoint)' is not an http(s) URL")))
        }
        guard let p256dh = Base64URL.decode(subscription.p256dh), p256dh.count == 65, p256dh.first == 0x04,
              (try? P256.KeyAgreement.PublicKey(x963Representation: p256dh)) != nil
        else {
            return .failure(Refusal(.deadAddress(reason: "the subscription's p256dh is not an uncompressed P-256 public key in base64url")))
        }
        guard let auth = Base64URL.decode(subscription.auth), auth.count == 16 else {
            return .failure(Refusal(.deadAddress(reason: "the subscription's auth secret is not 16 bytes of base64url")))
        }
        let payload = Self.payload(content)
        guard payload.count <= configuration.maximumPayloadSize else {
            return .failure(Refusal(.rejected(
                reason: "the Web Push payload is \(payload.count) bytes; at most \(configuration.maximumPayloadSize) fit one encrypted 4,096-byte message"
            )))
        }
        var ttl = content.ttl ?? configuration.defaultTTL
        if let expiresAt = message.expiresAt {
            ttl = min(ttl, Int(expiresAt.timeIntervalSince(now).rounded(.down)))
        }
        var headers: [(String, String)] = [
            ("TTL", String(max(ttl, 0))), ("Urgency", content.effectivePriority == .high ? "high" : "normal"),
        ]
        if let key = content.collapseKey, !key.isEmpty { headers.append(("Topic", Self.topic(key))) }
        return .success(Prepared(
            endpoint: subscription.endpoint, audience: audience, userAgentPublicKey: p256dh, authSecret: auth, headers: headers, payload: payload
        ))
    }

    /// A message ready to encrypt and send.
    public struct Prepared: Sendable {
        public var endpoint: String
        /// The endpoint's origin: the VAPID `aud`.
        public var audience: String
        public var userAgentPublicKey: Data
        public var authSecret: Data
        /// TTL, Urgency and Topic.
        public var headers: [(String, String)]
        public var payload: Data
    }

    /// The outcome of a message refused before sending.
    public struct Refusal: Error, Sendable {
        public var outcome: DeliveryOutcome
        init(_ outcome: DeliveryOutcome) { self.outcome = outcome }
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        let signer: VAPIDSigner
        switch self.signer {
        case .success(let ready): signer = ready
        case .failure(let error): return .misconfigured(reason: "\(name): \(error.description)")
        }
        let now = clock.now
        let prepared: Prepared
        switch prepare(message, now: now) {
        case .success(let ready): prepared = ready
        case .failure(let refusal): return refusal.outcome
        }
        let body: Data
        do {
            body = try WebPushEncryptor.encrypt(prepared.payload, userAgentPublicKey: prepared.userAgentPublicKey, authSecret: prepared.authSecret)
        } catch {
            return .deadAddress(reason: "the subscription's keys cannot encrypt: \(error.description)")
        }
        let headers = prepared.headers + [
            ("Authorization", signer.authorization(audience: prepared.audience, now: now)),
            ("Content-Encoding", "aes128gcm"), ("Content-Type", "application/octet-stream"), ("User-Agent", "herald"),
        ]
        switch await http.execute(method: .POST, url: prepared.endpoint, headers: headers, body: body) {
        case .failure(let failure):
            return .retry(after: nil, reason: "webpush: \(failure.description)")
        case .success(let answer):
            return WebPushClassifier.outcome(answer, now: clock.now)
        }
    }

    /// The JSON the service worker receives: only the fields that are set, keys sorted.
    public static func payload(_ content: PushContent) -> Data {
        var object: [String: Any] = [:]
        if !content.isSilent {
            if let title = content.title { object["title"] = title }
            object["body"] = content.body
        } else {
            object["silent"] = true
        }
        if let url = content.url { object["url"] = url }
        if let image = content.image { object["image"] = image }
        if let badge = content.badge { object["badge"] = badge }
        if let thread = content.threadID { object["tag"] = thread }
        if !content.data.isEmpty { object["data"] = content.data }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// RFC 8030 §5.4: a topic is at most 32 characters of the base64url alphabet. A key that
    /// already is one is kept; any other is hashed (SHA-256, base64url, first 32 characters), so
    /// that the same collapse key always replaces the same pending message.
    public static func topic(_ key: String) -> String {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        if (1...32).contains(key.count), key.allSatisfy({ alphabet.contains($0) }) { return key }
        return String(Base64URL.encode(Data(SHA256.hash(data: Data(key.utf8)))).prefix(32))
    }
}

/// A push service's answers as outcomes (providers.md, section 5).
public enum WebPushClassifier {
    public static func outcome(_ answer: ProviderHTTPClient.Answer, now: Date) -> DeliveryOutcome {
        if (200...299).contains(answer.status) {
            return .accepted(providerMessageID: answer.header("Location") ?? "")
        }
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        let detail = text(of: answer)
        switch answer.status {
        case 404, 410:
            return .deadAddress(reason: "webpush \(answer.status): the subscription has expired or was unsubscribed: \(detail)")
        case 413:
            return .rejected(reason: "webpush 413: the push service refused the payload as too large: \(detail)")
        case 429:
            return .throttled(after: retryAfter, reason: "provider 429 (webpush): \(detail)")
        case 401, 403:
            return .misconfigured(reason: "webpush \(answer.status): the push service refused the VAPID credentials: \(detail) (check the VAPID key and subject)")
        case 500...599:
            return .retry(after: retryAfter, reason: "webpush \(answer.status): \(detail)")
        default:
            return .rejected(reason: "webpush \(answer.status): \(detail)")
        }
    }

    /// Autopush's JSON `message`, or the start of a text body.
    static func text(of answer: ProviderHTTPClient.Answer) -> String {
        if let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any] {
            if let message = json["message"] as? String, !message.isEmpty {
                return message + ((json["errno"] as? Int).map { " (errno \($0))" } ?? "")
            }
            if let error = json["error"] as? String { return error }
        }
        if answer.isTruncated { return "an answer too large to read" }
        let text = TwilioClassifier.snippet(answer.body)
        return text
    }
}
