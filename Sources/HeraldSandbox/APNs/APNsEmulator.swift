import Crypto
import Foundation
import Synchronization

/// APNs's provider API, emulated (providers.md, section 1): the checks of one
/// `POST /3/device/<token>` request, in the order below, each answered with APNs's status and
/// `{"reason": …}` body:
///
/// 1. `POST` (405 `MethodNotAllowed`) on `/3/device/<token>` (404 `BadPath`);
/// 2. `authorization: bearer <JWT>` (403 `MissingProviderToken`), an ES256 JWT whose `kid` and
///    `iss` are the configured key and team and whose signature verifies against the configured
///    public key (403 `InvalidProviderToken`), issued at most an hour ago (403
///    `ExpiredProviderToken`; also for a token the test expired with
///    ``RunningSandbox/expireAPNsProviderTokens()``);
/// 3. per connection (which, as on APNs, takes one stream at a time until a request carries a
///    valid token, then 1,000): the key of the first token only (403 `UnrelatedKeyIdInToken`), and a new
///    token at most every 20 minutes of `iat` (429 `TooManyProviderTokenUpdates`) unless the
///    previous one was refused;
/// 4. `apns-topic` present (400 `MissingTopic`) and the configured bundle id (400
///    `TopicDisallowed`); `apns-push-type` present and known (400 `InvalidPushType`);
///    `apns-priority` 10, 5 or 1, and 5 or 1 for `background` (400 `BadPriority`);
///    `apns-expiration` digits (400 `BadExpirationDate`); `apns-id` a UUID (400 `BadMessageId`);
///    `apns-collapse-id` at most 64 bytes (400 `BadCollapseId`);
/// 5. the body: at most 4,096 bytes (413 `PayloadTooLarge`), not empty (400 `PayloadEmpty`),
///    a JSON object with an `aps` dictionary (400 `BadPayload`, a reason of the sandbox's own);
/// 6. the device token: 64 hex digits (400 `BadDeviceToken`), not in the fault plan's `invalid`
///    list (410 `Unregistered` with a `timestamp`).
///
/// Then 200 with the `apns-id` header (the request's, or a new UUID) and an empty body, and the
/// push is recorded. Stricter than Apple on purpose: `apns-push-type` is required and the token
/// length is fixed, so that a client that relies on either being lax is caught here.
final class APNsEmulator: Sendable {
    static let pushTypes: Set<String> = [
        "alert", "background", "complication", "controls", "fileprovider", "liveactivity", "location", "mdm", "pushtotalk", "voip", "widgets",
    ]

    let accounts: SandboxAccounts
    let publicKey: P256.Signing.PublicKey?
    let maximumPayloadSize: Int
    /// Tokens the test declared expired, by JWT text.
    let expired: Mutex<Set<String>>
    /// Every token that verified, by JWT text, decoded: parsed and checked once, and expired
    /// together by ``RunningSandbox/expireAPNsProviderTokens()``.
    let seen: Mutex<[String: JWT]>

    init(accounts: SandboxAccounts, maximumPayloadSize: Int) {
        self.accounts = accounts
        publicKey = try? P256.Signing.PublicKey(pemRepresentation: accounts.apnsPublicKeyPEM)
        self.maximumPayloadSize = maximumPayloadSize
        expired = Mutex([])
        seen = Mutex([:])
    }

    func expireSeenTokens() {
        let tokens = seen.withLock { Set($0.keys) }
        expired.withLock { $0.formUnion(tokens) }
    }

    static func error(_ status: Int, _ reason: String, timestamp: Date? = nil, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        var object: [String: Any] = ["reason": reason]
        if let timestamp { object["timestamp"] = Int64(timestamp.timeIntervalSince1970 * 1000) }
        return .json(status, object, headers: headers)
    }

    /// APNs's answer to an injected status. A 502 or 504 comes from the load balancer in front
    /// of APNs, as HTML, the way a real proxy answers: not APNs's JSON.
    func injectedError(status: Int, retryAfter: Int?, apnsID: String?) -> SandboxResponse {
        var headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
        if let apnsID { headers.append(("apns-id", apnsID)) }
        switch status {
        case 400: return Self.error(400, "BadDeviceToken", headers: headers)
        case 403: return Self.error(403, "ExpiredProviderToken", headers: headers)
        case 410: return Self.error(410, "Unregistered", timestamp: Date(), headers: headers)
        case 413: return Self.error(413, "PayloadTooLarge", headers: headers)
        case 429: return Self.error(429, "TooManyRequests", headers: headers)
        case 500: return Self.error(500, "InternalServerError", headers: headers)
        case 502, 504:
            return SandboxResponse(
                status: status, headers: [("Content-Type", "text/html")] + headers,
                body: Data("<html><body><h1>\(status) \(status == 502 ? "Bad Gateway" : "Gateway Timeout")</h1></body></html>".utf8)
            )
        case 503: return Self.error(503, "ServiceUnavailable", headers: headers)
        default: return Self.error(status, "InternalServerError", headers: headers)
        }
    }

    /// Checks one request and, when it passes, returns the message to record with the answer.
    func handle(_ request: SandboxRequest, connection: APNsConnectionState, now: Date, invalid: Set<String>) -> (SandboxResponse, RecordedMessage?) {
        let apnsID = request.header("apns-id")
        func fail(_ status: Int, _ reason: String, timestamp: Date? = nil) -> (SandboxResponse, RecordedMessage?) {
            (Self.error(status, reason, timestamp: timestamp, headers: apnsID.map { [("apns-id", $0)] } ?? []), nil)
        }
        let prefix = "/3/device/"
        guard request.path.hasPrefix(prefix), !request.path.dropFirst(prefix.count).contains("/") else { return fail(404, "BadPath") }
        guard request.method == "POST" else { return fail(405, "MethodNotAllowed") }
        let deviceToken = String(request.path.dropFirst(prefix.count))

        // 2. The provider token.
        guard let authorization = request.header("authorization") else { return fail(403, "MissingProviderToken") }
        guard authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return fail(403, "InvalidProviderToken") }
        let text = String(authorization.dropFirst(7))
        // A token is parsed and verified once, as APNs does, not on every request that carries it.
        let jwt: JWT
        if let known = seen.withLock({ $0[text] }) {
            jwt = known
        } else {
            guard let parsed = Self.parse(text) else { return fail(403, "InvalidProviderToken") }
            guard isValid(parsed) else {
                connection.refused()
                return fail(403, "InvalidProviderToken")
            }
            seen.withLock { $0[text] = parsed }
            jwt = parsed
        }
        let age = now.timeIntervalSince1970 - Double(jwt.issuedAt)
        if age > 3600 || expired.withLock({ $0.contains(jwt.text) }) {
            connection.refused()
            return fail(403, "ExpiredProviderToken")
        }
        if age < -3600 { return fail(403, "InvalidProviderToken") }

        // 3. One key per connection; token updates at most every 20 minutes.
        switch connection.use(jwt) {
        case .ok: break
        case .unrelatedKey: return fail(403, "UnrelatedKeyIdInToken")
        case .tooManyUpdates: return fail(429, "TooManyProviderTokenUpdates")
        }

        // 4. Headers.
        guard let topic = request.header("apns-topic"), !topic.isEmpty else { return fail(400, "MissingTopic") }
        guard topic == accounts.apnsTopic else { return fail(400, "TopicDisallowed") }
        guard let pushType = request.header("apns-push-type"), Self.pushTypes.contains(pushType) else { return fail(400, "InvalidPushType") }
        let priority = request.header("apns-priority") ?? "10"
        guard ["10", "5", "1"].contains(priority), !(pushType == "background" && priority == "10") else { return fail(400, "BadPriority") }
        if let expiration = request.header("apns-expiration"), expiration.isEmpty || !expiration.allSatisfy(\.isASCII) || Int64(expiration) == nil {
            return fail(400, "BadExpirationDate")
        }
        if let apnsID, UUID(uuidString: apnsID) == nil { return fail(400, "BadMessageId") }
        if let collapse = request.header("apns-collapse-id"), collapse.utf8.count > 64 { return fail(400, "BadCollapseId") }

        // 5. The payload.
        if request.bodyTooLarge || request.body.count > maximumPayloadSize { return fail(413, "PayloadTooLarge") }
        if request.body.isEmpty { return fail(400, "PayloadEmpty") }
        guard let payload = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any], let aps = payload["aps"] as? [String: Any] else {
            return fail(400, "BadPayload")
        }

        // 6. The device.
        guard deviceToken.utf8.count == 64, deviceToken.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }) else {
            return fail(400, "BadDeviceToken")
        }
        if invalid.contains(deviceToken) || invalid.contains(deviceToken.lowercased()) {
            return fail(410, "Unregistered", timestamp: now.addingTimeInterval(-86_400))
        }

        let id = apnsID ?? UUID().uuidString.lowercased()
        let alert = aps["alert"]
        let title = (alert as? [String: Any])?["title"] as? String
        let body = (alert as? [String: Any])?["body"] as? String ?? alert as? String
        var custom: [String: String] = [:]
        for (key, value) in payload where key != "aps" {
            custom[key] = value as? String ?? (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]))
                .map { String(decoding: $0, as: UTF8.self) }
        }
        var headers: [String: String] = ["apns-push-type": pushType, "apns-priority": priority]
        for name in ["apns-expiration", "apns-collapse-id"] { if let value = request.header(name) { headers[name] = value } }
        let message = RecordedMessage(
            provider: .apns, providerMessageID: id, to: deviceToken, from: topic, subject: title, text: body, headers: headers,
            metadata: custom, acceptedAt: now.timeIntervalSince1970, raw: String(decoding: request.body, as: UTF8.self)
        )
        return (SandboxResponse(status: 200, headers: [("apns-id", id)]), message)
    }

    /// `ES256`, the configured key and team, and a signature that the configured public key verifies.
    func isValid(_ jwt: JWT) -> Bool {
        guard jwt.algorithm == "ES256", jwt.keyID == accounts.apnsKeyID, jwt.issuer == accounts.apnsTeamID, let publicKey,
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: jwt.signature)
        else { return false }
        return publicKey.isValidSignature(signature, for: Data(jwt.signingInput.utf8))
    }

    /// A compact JWS, decoded but not yet verified.
    struct JWT: Sendable {
        var text: String
        var algorithm: String
        var keyID: String
        var issuer: String
        var issuedAt: Int64
        var signingInput: String
        var signature: Data
    }

    static func parse(_ text: String) -> JWT? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = base64URL(parts[0]), let claimsData = base64URL(parts[1]), let signature = base64URL(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let claims = try? JSONSerialization.jsonObject(with: claimsData) as? [String: Any],
              let issuedAt = (claims["iat"] as? NSNumber)?.int64Value
        else { return nil }
        return JWT(
            text: text, algorithm: header["alg"] as? String ?? "", keyID: header["kid"] as? String ?? "", issuer: claims["iss"] as? String ?? "",
            issuedAt: issuedAt, signingInput: parts[0] + "." + parts[1], signature: signature
        )
    }

    static func base64URL(_ text: Substring) -> Data? {
        guard text.utf8.allSatisfy({ $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }
}

/// What APNs remembers about one connection: the key of its first token, and the token in use.
final class APNsConnectionState: Sendable {
    enum Use { case ok, unrelatedKey, tooManyUpdates }

    private struct State {
        var keyID: String?
        var token: String?
        var issuedAt: Int64 = 0
        var tokenRefused = false
        var isAuthenticated = false
        var isStreamLimitRaised = false
    }

    private let state = Mutex(State())

    func use(_ jwt: APNsEmulator.JWT) -> Use {
        state.withLock { state in
            if let keyID = state.keyID, keyID != jwt.keyID { return .unrelatedKey }
            state.keyID = jwt.keyID
            if state.token == jwt.text { return .ok }
            if let _ = state.token, !state.tokenRefused, jwt.issuedAt - state.issuedAt < 20 * 60 { return .tooManyUpdates }
            state.token = jwt.text
            state.issuedAt = jwt.issuedAt
            state.tokenRefused = false
            state.isAuthenticated = true
            return .ok
        }
    }

    /// True once, after the first request with a valid token: APNs then raises the connection's
    /// stream limit from 1 to 1,000.
    func raisesStreamLimit() -> Bool {
        state.withLock { state in
            guard state.isAuthenticated, !state.isStreamLimitRaised else { return false }
            state.isStreamLimitRaised = true
            return true
        }
    }

    /// The connection's token (or a new one) was refused: the next new token is a legitimate update.
    func refused() {
        state.withLock { $0.tokenRefused = true }
    }
}
