import Crypto
import Foundation
import Synchronization
import _CryptoExtras

/// Firebase Cloud Messaging HTTP v1 (providers.md, section 2) and the Google OAuth2 token
/// endpoint in front of it, below the sandbox's `/fcm` prefix:
///
/// - `POST /token`: the service-account flow. The assertion must be an RS256 JWT signed by the
///   configured service account's key, with `iss` its email, `aud` this endpoint's URL or
///   `https://oauth2.googleapis.com/token`, a FCM (or cloud-platform) `scope`, and `iat`/`exp`
///   at most an hour apart and current. Answers `{access_token, expires_in: 3599, token_type}`
///   or Google's `{error, error_description}`.
/// - `POST /v1/projects/{project}/messages:send`: a current access token of that project; the
///   body read as proto3 JSON, that is with snake_case or lowerCamelCase field names and unknown
///   fields refused; exactly one of token, topic and condition; data values strings without
///   reserved keys; Android priority and TTL; at most 4,096 bytes of data and notification text
///   (2,048 for a topic). Errors carry FCM's body with the `FcmError` detail.
/// - `POST /sandbox/revoke`: not Google's; forgets every access token issued so far, as when a
///   key is rotated (`?mode=all` also refuses every later one), so that tests see a 401.
///
/// Registration tokens in the fault plan's `invalid` list are UNREGISTERED; the tokens of
/// ``SandboxFCM/token(failingWith:)`` fail with the error they name.
///
/// A recorded message has the token (or topic, or condition) in `to`, the project in `from`,
/// the notification's title and body in `subject` and `text`, `data` in `metadata`, and the
/// whole message, field names in lowerCamelCase, as JSON in `raw`.
struct FCMEmulator: Emulator {
    let provider = SandboxProvider.fcm
    let tokens = FCMAccessTokenStore()

    /// The token endpoint is Google's OAuth2 service, not FCM: an FCM outage or rate limit in
    /// the fault plan leaves it up.
    func takesFaults(_ path: String) -> Bool {
        path != "/token" && !path.hasPrefix("/sandbox/")
    }

    static let googleTokenURI = "https://oauth2.googleapis.com/token"
    static let scopes: Set<String> = ["https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"]

    /// Google's error body: `{"error": {"code", "message", "status", "details": [FcmError…]}}`.
    static func error(
        _ code: Int, _ status: String, _ message: String, fcm errorCode: String? = nil, violations: [(String, String)] = [],
        headers: [(name: String, value: String)] = []
    ) -> SandboxResponse {
        var details: [[String: Any]] = []
        if let errorCode { details.append(["@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode]) }
        if !violations.isEmpty {
            details.append([
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": violations.map { ["field": $0.0, "description": $0.1] },
            ])
        }
        var error: [String: Any] = ["code": code, "message": message, "status": status]
        if !details.isEmpty { error["details"] = details }
        return .json(code, ["error": error], headers: headers)
    }

    /// An `INVALID_ARGUMENT` about one field.
    static func invalid(_ field: String, _ message: String) -> SandboxResponse {
        error(400, "INVALID_ARGUMENT", message, fcm: "INVALID_ARGUMENT", violations: [(field, message)])
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        let headers = retryAfter.map { [(name: "Retry-After", value: String($0))] } ?? []
        switch status {
        case 429: return Self.magicError("QUOTA_EXCEEDED", retryAfter: retryAfter ?? 60)
        case 503: return Self.error(503, "UNAVAILABLE", "The service is currently unavailable.", fcm: "UNAVAILABLE", headers: headers)
        case 500: return Self.error(500, "INTERNAL", "Internal error encountered.", fcm: "INTERNAL", headers: headers)
        case 404: return Self.magicError("UNREGISTERED", retryAfter: nil)
        case 401: return Self.unauthenticated()
        case 403: return Self.error(403, "PERMISSION_DENIED", "The caller does not have permission")
        case 400: return Self.error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", fcm: "INVALID_ARGUMENT")
        default: return Self.error(status, "UNKNOWN", "Injected error", headers: headers)
        }
    }

    static func unauthenticated() -> SandboxResponse {
        error(
            401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            headers: [("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"")]
        )
    }

    /// FCM's answer for each error code of providers.md's table, as the magic tokens give them.
    static func magicError(_ code: String, retryAfter: Int?) -> SandboxResponse {
        let headers = retryAfter.map { [(name: "Retry-After", value: String($0))] } ?? []
        switch code {
        case "UNREGISTERED": return error(404, "NOT_FOUND", "Requested entity was not found.", fcm: code)
        case "INVALID_ARGUMENT": return error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", fcm: code)
        case "SENDER_ID_MISMATCH": return error(403, "PERMISSION_DENIED", "SenderId mismatch", fcm: code)
        case "THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR": return error(401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service", fcm: code)
        case "QUOTA_EXCEEDED":
            return error(
                429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'.",
                fcm: code, headers: headers
            )
        case "UNAVAILABLE": return error(503, "UNAVAILABLE", "The service is currently unavailable.", fcm: code, headers: headers)
        case "INTERNAL": return error(500, "INTERNAL", "Internal error encountered.", fcm: code, headers: headers)
        case "UNSPECIFIED_ERROR": return error(500, "UNKNOWN", "Unknown error.", fcm: code)
        case "PERMISSION_DENIED": return error(403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied on resource (or it may not exist).")
        default: return error(400, "INVALID_ARGUMENT", "Unknown sandbox error code \(code)", fcm: "INVALID_ARGUMENT")
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        let origin = "http://" + (request.header("host") ?? "")
        if request.path == "/token" {
            guard request.method == "POST" else { return SandboxResponse(status: 405, headers: [("Allow", "POST")]) }
            return token(request, tokenURI: origin + provider.pathPrefix + "/token", context: context)
        }
        if request.path == "/sandbox/revoke", request.method == "POST" {
            let all = FormCoding.decode(request.query).contains { $0.name == "mode" && $0.value == "all" }
            tokens.revoke(refusingLater: all)
            return .json(200, ["revoked": true, "refusing_later": all])
        }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "v1", parts[2] == "projects", parts[4] == "messages:send", !parts[3].isEmpty else {
            return Self.error(404, "NOT_FOUND", "The requested URL \(request.path) was not found on this server.")
        }
        guard request.method == "POST" else {
            return Self.error(405, "METHOD_NOT_ALLOWED", "Method \(request.method) is not allowed; use POST.")
        }
        return send(request, project: String(parts[3]), context: context)
    }

    // MARK: - OAuth2 token endpoint

    static func oauthError(_ error: String, _ description: String, status: Int = 400) -> SandboxResponse {
        .json(status, ["error": error, "error_description": description])
    }

    func token(_ request: SandboxRequest, tokenURI: String, context: EmulatorContext) -> SandboxResponse {
        guard request.mediaType == "application/x-www-form-urlencoded" else {
            return Self.oauthError("invalid_request", "The request body must be application/x-www-form-urlencoded")
        }
        var fields: [String: String] = [:]
        for (name, value) in request.formFields { fields[name] = value }
        guard fields["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            return Self.oauthError("unsupported_grant_type", "Invalid grant_type: \(fields["grant_type"] ?? "")")
        }
        guard let assertion = fields["assertion"], !assertion.isEmpty else {
            return Self.oauthError("invalid_request", "Missing required parameter: assertion")
        }
        let jwt: SandboxJWT
        switch SandboxJWT.parse(assertion) {
        case .success(let parsed): jwt = parsed
        case .failure(let error): return Self.oauthError("invalid_grant", "Invalid JWT: \(error.description)")
        }
        let account = context.accounts.fcmServiceAccount
        guard jwt.header["alg"] as? String == "RS256" else {
            return Self.oauthError("invalid_grant", "Invalid JWT: the algorithm must be RS256, not \(jwt.header["alg"] ?? "absent")")
        }
        guard jwt.claims["iss"] as? String == account.clientEmail else {
            return Self.oauthError("invalid_grant", "Invalid email or User ID")
        }
        if let kid = jwt.header["kid"] as? String, kid != account.privateKeyID {
            return Self.oauthError("invalid_grant", "Invalid JWT Signature.")
        }
        guard let publicKey = tokens.publicKey(for: account) else {
            return Self.oauthError("invalid_client", "The sandbox's service account key is not an RSA private key", status: 401)
        }
        guard publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: jwt.signature), for: jwt.signingInput, padding: .insecurePKCS1v1_5) else {
            return Self.oauthError("invalid_grant", "Invalid JWT Signature.")
        }
        guard let audience = jwt.claims["aud"] as? String, audience == tokenURI || audience == Self.googleTokenURI else {
            return Self.oauthError("invalid_grant", "Invalid JWT: the aud claim must be \(Self.googleTokenURI) or this token_uri, not \(jwt.claims["aud"] ?? "absent")")
        }
        let scopes = Set(((jwt.claims["scope"] as? String) ?? "").split(separator: " ").map(String.init))
        guard !scopes.isDisjoint(with: Self.scopes) else {
            return Self.oauthError("invalid_scope", "The scope must include https://www.googleapis.com/auth/firebase.messaging")
        }
        let now = context.now.timeIntervalSince1970
        guard let issued = jwt.time("iat"), let expires = jwt.time("exp"), expires > issued, expires - issued <= 3600,
              issued <= now + 300, expires > now
        else {
            return Self.oauthError(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
            )
        }
        let accessToken = "ya29.sandbox-" + SandboxIDs.base64URL(40)
        tokens.issue(accessToken, project: account.projectID, expires: context.now.addingTimeInterval(3599))
        return .json(200, ["access_token": accessToken, "expires_in": 3599, "token_type": "Bearer"])
    }

    // MARK: - messages:send

    func send(_ request: SandboxRequest, project: String, context: EmulatorContext) -> SandboxResponse {
        guard let authorization = request.header("authorization"), authorization.lowercased().hasPrefix("bearer "),
              let tokenProject = tokens.project(of: String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces), now: context.now)
        else { return Self.unauthenticated() }
        guard tokenProject == project else {
            return Self.error(
                403, "PERMISSION_DENIED",
                "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/\(project)' (or it may not exist)."
            )
        }
        if request.bodyTooLarge { return Self.error(413, "INVALID_ARGUMENT", "Request payload size exceeds the limit.") }
        guard request.mediaType == "application/json" else {
            return Self.error(400, "INVALID_ARGUMENT", "Invalid JSON payload: the Content-Type must be application/json.")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any] else {
            return Self.error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
        }
        let body: [String: Any]
        switch FCMSchema.normalize(root, as: FCMSchema.request, at: "") {
        case .success(let normalized): body = normalized
        case .failure(let refusal): return refusal.response
        }
        guard let message = body["message"] as? [String: Any] else {
            return Self.invalid("message", "Request contains an invalid argument: message is required.")
        }
        let targets = ["token", "topic", "condition"].filter { message[$0] != nil }
        guard targets.count == 1 else {
            return Self.invalid("message", "Exactly one of token, topic or condition must be set; this message has \(targets.isEmpty ? "none" : targets.joined(separator: ", ")).")
        }
        for (name, value) in message where ["token", "topic", "condition"].contains(name) {
            guard let text = value as? String, !text.isEmpty else { return Self.invalid("message.\(name)", "message.\(name) must be a non-empty string.") }
        }
        if let refusal = Self.checkContent(message) { return refusal }
        let target = (message["token"] ?? message["topic"] ?? message["condition"]) as? String ?? ""
        if let token = message["token"] as? String {
            if token.count > 4096 || token.contains(where: \.isWhitespace) {
                return Self.magicError("INVALID_ARGUMENT", retryAfter: nil)
            }
            if context.faults.invalid.contains(token) { return Self.magicError("UNREGISTERED", retryAfter: nil) }
            if token.hasPrefix(SandboxFCM.errorTokenPrefix) {
                return Self.magicError(String(token.dropFirst(SandboxFCM.errorTokenPrefix.count)), retryAfter: context.faults.retryAfter ?? 60)
            }
        }
        if body["validateOnly"] as? Bool == true {
            return .json(200, ["name": "projects/\(project)/messages/fake_message_id"])
        }
        let name = "projects/\(project)/messages/0:\(Int(context.now.timeIntervalSince1970 * 1000))%\(SandboxIDs.hex(16))"
        let notification = message["notification"] as? [String: Any]
        let normalizedMessage = (try? JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        let recorded = RecordedMessage(
            provider: .fcm, providerMessageID: name, to: target, from: project, subject: notification?["title"] as? String,
            text: notification?["body"] as? String, metadata: (message["data"] as? [String: String]) ?? [:],
            acceptedAt: context.now.timeIntervalSince1970, raw: String(decoding: normalizedMessage, as: UTF8.self)
        )
        context.log.append([recorded])
        context.events.accepted([recorded], unreachable: context.faults.unreachable, optedOut: [])
        return .json(200, ["name": name])
    }

    /// The checks on a message's content after its field names are known: data, Android
    /// options, APNs and Web Push headers, and the size.
    static func checkContent(_ message: [String: Any]) -> SandboxResponse? {
        var size = 0
        for (path, data) in [("message.data", message["data"]), ("message.android.data", (message["android"] as? [String: Any])?["data"]),
                             ("message.webpush.data", (message["webpush"] as? [String: Any])?["data"])] {
            guard let data else { continue }
            guard let map = data as? [String: Any] else { return invalid(path, "Invalid value at '\(path)': expected a map of strings.") }
            for (key, value) in map {
                guard value is String else { return invalid("\(path)[\(key)]", "Invalid value at '\(path)[\(key)].value' (TYPE_STRING): data values must be strings.") }
                let lowered = key.lowercased()
                if lowered == "from" || lowered == "message_type" || lowered.hasPrefix("google") || lowered.hasPrefix("gcm") {
                    return invalid("\(path)[\(key)]", "Invalid data payload key: \(key) (reserved: from, message_type, google…, gcm…).")
                }
                if path == "message.data" { size += key.utf8.count + ((value as? String)?.utf8.count ?? 0) }
            }
        }
        if let notification = message["notification"] as? [String: Any] {
            for field in ["title", "body", "image"] {
                guard let value = notification[field] else { continue }
                guard let text = value as? String else { return invalid("message.notification.\(field)", "message.notification.\(field) must be a string.") }
                if field != "image" { size += text.utf8.count }
            }
        }
        if let android = message["android"] as? [String: Any] {
            if let priority = android["priority"] {
                guard let text = priority as? String, ["high", "normal"].contains(text.lowercased()) else {
                    return invalid("message.android.priority", "Invalid value at 'message.android.priority': \(priority); expected HIGH or NORMAL.")
                }
            }
            if let ttl = android["ttl"] {
                guard let text = ttl as? String, let seconds = duration(text), seconds >= 0, seconds <= 2_419_200 else {
                    return invalid("message.android.ttl", "Invalid value at 'message.android.ttl': \(ttl); a duration such as \"3600s\", at most 4 weeks.")
                }
            }
        }
        for (path, headers) in [("message.apns.headers", (message["apns"] as? [String: Any])?["headers"]),
                                ("message.webpush.headers", (message["webpush"] as? [String: Any])?["headers"])] {
            guard let headers else { continue }
            guard let map = headers as? [String: Any], map.values.allSatisfy({ $0 is String }) else {
                return invalid(path, "Invalid value at '\(path)': header values must be strings.")
            }
        }
        if let payload = (message["apns"] as? [String: Any])?["payload"], (payload as? [String: Any])?["aps"].map({ $0 is [String: Any] }) == false {
            return invalid("message.apns.payload.aps", "apns.payload.aps must be an object.")
        }
        let limit = message["topic"] != nil ? 2048 : 4096
        if size > limit {
            return invalid("message", "Message is too big: \(size) bytes of data and notification text; the limit is \(limit).")
        }
        return nil
    }

    /// A protobuf Duration in JSON: `"3.5s"`.
    static func duration(_ text: String) -> Double? {
        guard text.hasSuffix("s") else { return nil }
        let number = text.dropLast()
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), number.filter({ $0 == "." }).count <= 1 else { return nil }
        return Double(number)
    }
}

/// The FCM v1 request's field names, as the discovery document lists them: proto3 JSON accepts
/// each in lowerCamelCase or in the proto's snake_case, so a body is normalized to lowerCamel
/// before it is checked, and a name the schema does not know is refused as Google refuses it.
enum FCMSchema {
    /// A message's fields: a plain field, a nested message, or a map / free-form struct whose
    /// keys are data, not field names.
    indirect enum Field {
        case value
        case message([String: Field])
        case map
    }

    static let fcmOptions: [String: Field] = ["analyticsLabel": .value]
    static let android: [String: Field] = [
        "collapseKey": .value, "priority": .value, "ttl": .value, "restrictedPackageName": .value, "data": .map,
        "notification": .message([
            "title": .value, "body": .value, "icon": .value, "color": .value, "sound": .value, "tag": .value, "clickAction": .value,
            "bodyLocKey": .value, "bodyLocArgs": .value, "titleLocKey": .value, "titleLocArgs": .value, "channelId": .value,
            "ticker": .value, "sticky": .value, "eventTime": .value, "localOnly": .value, "notificationPriority": .value,
            "defaultSound": .value, "defaultVibrateTimings": .value, "defaultLightSettings": .value, "vibrateTimings": .value,
            "visibility": .value, "notificationCount": .value, "lightSettings": .map, "image": .value, "bypassProxyNotification": .value,
            "proxy": .value,
        ]),
        "fcmOptions": .message(fcmOptions), "directBootOk": .value, "bandwidthConstrainedOk": .value, "restrictedSatelliteOk": .value,
    ]
    static let message: [String: Field] = [
        "name": .value, "token": .value, "topic": .value, "condition": .value, "data": .map,
        "notification": .message(["title": .value, "body": .value, "image": .value]),
        "android": .message(android),
        "apns": .message(["headers": .map, "payload": .map, "fcmOptions": .message(["analyticsLabel": .value, "image": .value]), "liveActivityToken": .value]),
        "webpush": .message(["headers": .map, "data": .map, "notification": .map, "fcmOptions": .message(["link": .value, "analyticsLabel": .value])]),
        "fcmOptions": .message(fcmOptions),
    ]
    static let request: [String: Field] = ["message": .message(message), "validateOnly": .value]

    /// `collapse_key` → `collapseKey`.
    static func lowerCamel(_ name: String) -> String {
        guard name.contains("_") else { return name }
        var result = ""
        var upperNext = false
        for character in name {
            if character == "_" { upperNext = true; continue }
            result.append(upperNext ? Character(character.uppercased()) : character)
            upperNext = false
        }
        return result
    }

    struct Refusal: Error {
        var response: SandboxResponse
    }

    /// The object with every field name in lowerCamelCase; maps and structs kept as sent.
    static func normalize(_ object: [String: Any], as fields: [String: Field], at path: String) -> Result<[String: Any], Refusal> {
        var result: [String: Any] = [:]
        for (name, value) in object {
            let camel = lowerCamel(name)
            let location = path.isEmpty ? camel : "\(path).\(camel)"
            guard let field = fields[camel] else {
                return .failure(Refusal(response: FCMEmulator.error(
                    400, "INVALID_ARGUMENT",
                    "Invalid JSON payload received. Unknown name \"\(name)\" at '\(path.isEmpty ? "" : path)': Cannot find field.",
                    violations: [(path, "Invalid JSON payload received. Unknown name \"\(name)\" at '\(path)': Cannot find field.")]
                )))
            }
            guard result[camel] == nil else {
                return .failure(Refusal(response: FCMEmulator.invalid(location, "Field \(location) is set twice (\(name) and its other spelling).")))
            }
            switch field {
            case .value, .map:
                result[camel] = value
            case .message(let nested):
                guard let inner = value as? [String: Any] else {
                    return .failure(Refusal(response: FCMEmulator.invalid(location, "Invalid value at '\(location)': expected an object.")))
                }
                switch normalize(inner, as: nested, at: location) {
                case .success(let normalized): result[camel] = normalized
                case .failure(let refusal): return .failure(refusal)
                }
            }
        }
        return .success(result)
    }
}

/// Access tokens the sandbox's token endpoint issued, shared by the requests of one sandbox.
final class FCMAccessTokenStore: Sendable {
    private struct State {
        var tokens: [String: (project: String, expires: Date)] = [:]
        var refusesAll = false
        var keys: [String: _RSA.Signing.PublicKey] = [:]
    }

    private let state = Mutex(State())

    func issue(_ token: String, project: String, expires: Date) {
        state.withLock { state in
            if state.tokens.count >= 100_000 {
                let now = expires.addingTimeInterval(-3599)
                state.tokens = state.tokens.filter { $0.value.expires > now }
            }
            state.tokens[token] = (project, expires)
        }
    }

    /// The project a current token was issued for; nil when unknown, expired or revoked.
    func project(of token: String, now: Date) -> String? {
        state.withLock { state in
            guard !state.refusesAll, let entry = state.tokens[token], entry.expires > now else { return nil }
            return entry.project
        }
    }

    func revoke(refusingLater: Bool) {
        state.withLock { state in
            state.tokens.removeAll()
            state.refusesAll = refusingLater
        }
    }

    /// The public half of the account's key, parsed once.
    func publicKey(for account: SandboxFCMServiceAccount) -> _RSA.Signing.PublicKey? {
        if let key = state.withLock({ $0.keys[account.privateKeyPEM] }) { return key }
        guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: account.privateKeyPEM).publicKey else { return nil }
        state.withLock { $0.keys[account.privateKeyPEM] = key }
        return key
    }
}

/// The sandbox's FCM test registration tokens.
public enum SandboxFCM {
    static let errorTokenPrefix = "sandbox-fcm-error-"

    /// A registration token that FCM's emulator answers with the error `errorCode`, with the
    /// status and body FCM sends for it: UNREGISTERED (404), INVALID_ARGUMENT (400, an invalid
    /// token), SENDER_ID_MISMATCH (403), THIRD_PARTY_AUTH_ERROR and APNS_AUTH_ERROR (401),
    /// QUOTA_EXCEEDED (429 with Retry-After: the fault plan's `retry_after`, else 60),
    /// UNAVAILABLE (503), INTERNAL (500), UNSPECIFIED_ERROR (500), and PERMISSION_DENIED (403
    /// without an FcmError).
    public static func token(failingWith errorCode: String) -> String {
        errorTokenPrefix + errorCode
    }

    /// The codes ``token(failingWith:)`` knows.
    public static let errorCodes = [
        "UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR", "QUOTA_EXCEEDED",
        "UNAVAILABLE", "INTERNAL", "UNSPECIFIED_ERROR", "PERMISSION_DENIED",
    ]
}
