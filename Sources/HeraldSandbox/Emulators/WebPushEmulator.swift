import Crypto
import Foundation

/// A Web Push service (RFC 8030, with RFC 8291 payloads and RFC 8292 VAPID), answering as
/// Mozilla's autopush does: `POST /push/{id}` below the sandbox's `/webpush` prefix, for the
/// subscriptions of ``SandboxWebPush``.
///
/// Checks, in order: the route and method; `Authorization: vapid t=<JWT>, k=<key>` (ES256
/// signature verified against `k`, `k` equal to the configured VAPID key when one is set, `aud`
/// the endpoint's origin, `exp` in the future and at most 24 h ahead, `sub` a mailto: or https:
/// contact); the subscription is not dead (the fault plan's `invalid` list, by endpoint or id:
/// 410 Gone); the headers (`TTL` required, `Urgency` and `Topic` valid,
/// `Content-Encoding: aes128gcm`); the body at most 4,096 bytes (413); then the body is
/// decrypted with the subscription's private key, and the plaintext recorded.
///
/// A recorded message has the endpoint in `to`, the VAPID `sub` in `from`, the decrypted
/// payload in `text` (its `title` also in `subject`) and the TTL, Urgency and Topic headers.
struct WebPushEmulator: Emulator {
    let provider = SandboxProvider.webpush
    /// The largest body every push service must accept (RFC 8030 §7.2), and all this one takes.
    static let maximumBodySize = 4096

    /// Autopush's error body: `{"code", "errno", "error", "message", "more_info"}`.
    static func error(_ status: Int, errno: Int, _ message: String, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        let reasons = [400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 410: "Gone", 413: "Payload Too Large",
                       429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"]
        return .json(status, [
            "code": status, "errno": errno, "error": reasons[status] ?? "Error", "message": message,
            "more_info": "https://mozilla-services.github.io/autopush-rs/errors.html",
        ], headers: headers)
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        let headers = retryAfter.map { [(name: "Retry-After", value: String($0))] } ?? []
        switch status {
        case 429: return Self.error(429, errno: 999, "Too Many Requests: slow down", headers: headers)
        case 410: return Self.error(410, errno: 103, "Expired URL endpoint")
        case 404: return Self.error(404, errno: 102, "Invalid URL endpoint")
        case 413: return Self.error(413, errno: 104, "Data payload too large")
        case 401: return Self.error(401, errno: 109, "Invalid Authorization")
        case 500..<600: return Self.error(status, errno: 201, "Service Unavailable", headers: headers)
        default: return Self.error(status, errno: 999, "Injected error", headers: headers)
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, parts[1] == "push", SandboxWebPush.isID(parts[2]) else {
            return Self.error(404, errno: 102, "Invalid URL endpoint \(request.path)")
        }
        guard request.method == "POST" else {
            return SandboxResponse(status: 405, headers: [("Allow", "POST")])
        }
        let id = String(parts[2])
        let origin = "http://" + (request.header("host") ?? "")
        let endpoint = "\(origin)\(provider.pathPrefix)/push/\(id)"
        let subject: String
        switch Self.verifyVAPID(request.header("authorization"), origin: origin, accounts: context.accounts, now: context.now) {
        case .success(let sub): subject = sub
        case .failure(let refusal): return refusal.response
        }
        if context.faults.invalid.contains(endpoint) || context.faults.invalid.contains(id) {
            return Self.error(410, errno: 103, "Expired URL endpoint: the subscription was unsubscribed")
        }
        guard let ttlText = request.header("ttl") else {
            return Self.error(400, errno: 111, "Missing TTL Header, see: https://datatracker.ietf.org/doc/html/rfc8030#section-5.2")
        }
        guard let ttl = Int(ttlText.trimmingCharacters(in: .whitespaces)), ttl >= 0 else {
            return Self.error(400, errno: 112, "Invalid TTL header value '\(ttlText)'")
        }
        let urgency = request.header("urgency")
        if let urgency, !["very-low", "low", "normal", "high"].contains(urgency) {
            return Self.error(400, errno: 999, "Invalid Urgency header '\(urgency)': very-low, low, normal or high")
        }
        let topic = request.header("topic")
        if let topic, !(1...32).contains(topic.utf8.count) || !topic.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }) {
            return Self.error(400, errno: 113, "Invalid Topic header: at most 32 characters of the base64url alphabet (RFC 8030 §5.4)")
        }
        if request.bodyTooLarge || request.body.count > Self.maximumBodySize {
            return Self.error(413, errno: 104, "Data payload too large: at most \(Self.maximumBodySize) bytes")
        }
        guard !request.body.isEmpty else {
            // A push without payload is valid RFC 8030, but Herald always sends one.
            return Self.error(400, errno: 110, "Herald's sandbox expects an encrypted payload, and the body is empty")
        }
        guard request.header("content-encoding")?.lowercased() == "aes128gcm" else {
            return Self.error(400, errno: 110, "Content-Encoding must be aes128gcm (RFC 8291); got \(request.header("content-encoding") ?? "none")")
        }
        let keys = SandboxWebPush.keys(id: id)
        let plaintext: Data
        do {
            plaintext = try SandboxWebPush.decrypt(request.body, privateKey: keys.privateKey, authSecret: keys.authSecret)
        } catch {
            return Self.error(400, errno: 110, "Invalid crypto: \(error)")
        }
        let messageID = SandboxIDs.base64URL(22)
        let text = String(decoding: plaintext, as: UTF8.self)
        var headers = ["TTL": String(ttl)]
        if let urgency { headers["Urgency"] = urgency }
        if let topic { headers["Topic"] = topic }
        let payload = (try? JSONSerialization.jsonObject(with: plaintext)) as? [String: Any]
        let message = RecordedMessage(
            provider: .webpush, providerMessageID: messageID, to: endpoint, from: subject, subject: payload?["title"] as? String,
            text: text, headers: headers, acceptedAt: context.now.timeIntervalSince1970
        )
        context.log.append([message])
        context.events.accepted([message], unreachable: context.faults.unreachable, optedOut: [])
        return SandboxResponse(status: 201, headers: [
            ("Location", "\(origin)\(provider.pathPrefix)/m/\(messageID)"), ("TTL", String(ttl)),
        ])
    }

    /// An answer that refuses a request.
    struct Refusal: Error {
        var response: SandboxResponse
    }

    /// Checks `Authorization: vapid t=…, k=…` and returns the `sub` claim.
    static func verifyVAPID(_ authorization: String?, origin: String, accounts: SandboxAccounts, now: Date) -> Result<String, Refusal> {
        func refuse(_ status: Int, _ message: String) -> Result<String, Refusal> {
            .failure(Refusal(response: error(status, errno: 109, message, headers: [("WWW-Authenticate", "vapid")])))
        }
        guard let authorization, authorization.lowercased().hasPrefix("vapid ") else {
            return refuse(401, "Missing or unsupported Authorization: expected 'vapid t=<JWT>, k=<public key>' (RFC 8292)")
        }
        var parameters: [String: String] = [:]
        for part in authorization.dropFirst(6).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { parameters[pair[0].lowercased()] = String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        guard let token = parameters["t"], let keyText = parameters["k"] else {
            return refuse(401, "The vapid Authorization needs both t= (the JWT) and k= (the public key)")
        }
        guard let keyData = SandboxBase64URL.decode(keyText), keyData.count == 65,
              let key = try? P256.Signing.PublicKey(x963Representation: keyData)
        else { return refuse(401, "k= is not an uncompressed P-256 public key in base64url") }
        if let expected = accounts.webPushVAPIDPublicKey, SandboxBase64URL.decode(expected) != keyData {
            return refuse(403, "The VAPID key does not match the applicationServerKey this subscription was made with")
        }
        let jwt: SandboxJWT
        switch SandboxJWT.parse(token) {
        case .success(let parsed): jwt = parsed
        case .failure(let error): return refuse(401, "Invalid VAPID token: \(error.description)")
        }
        guard jwt.header["alg"] as? String == "ES256" else {
            return refuse(401, "The VAPID token's alg must be ES256, not \(jwt.header["alg"] ?? "absent")")
        }
        guard jwt.signature.count == 64, let signature = try? P256.Signing.ECDSASignature(rawRepresentation: jwt.signature),
              key.isValidSignature(signature, for: jwt.signingInput)
        else { return refuse(401, "The VAPID token's signature does not verify with k=") }
        guard let audience = jwt.claims["aud"] as? String, audience == origin else {
            return refuse(401, "The VAPID token's aud '\(jwt.claims["aud"] ?? "absent")' is not this push service's origin \(origin)")
        }
        guard let expires = jwt.time("exp") else { return refuse(401, "The VAPID token has no exp") }
        guard expires > now.timeIntervalSince1970 else { return refuse(401, "The VAPID token expired") }
        guard expires <= now.timeIntervalSince1970 + 86_400 else {
            return refuse(401, "The VAPID token's exp is more than 24 hours ahead (RFC 8292 §2)")
        }
        let subject = jwt.claims["sub"] as? String ?? ""
        guard subject.lowercased().hasPrefix("mailto:") || subject.lowercased().hasPrefix("https:") else {
            return refuse(401, "The VAPID token's sub must be a mailto: or https: contact")
        }
        return .success(subject)
    }
}
