import Foundation
import HeraldCore
import NIOHTTP1
import _CryptoExtras

/// The OAuth2 access token of a service account (providers.md, section 2, "what google-auth
/// does"): an RS256 JWT assertion exchanged at `token_uri`, cached, and refreshed `margin`
/// before `expires_in` runs out, or when FCM answered 401 with it.
///
/// Concurrent sends share one refresh: the first caller that needs a new token fetches it, and
/// every caller that arrives meanwhile waits for that fetch instead of starting its own, so a
/// batch of a thousand sends at the expiry makes one token request, not a thousand.
actor FCMAccessTokens {
    struct Token: Sendable {
        var value: String
        var expires: Date
    }

    /// Why no token could be had: the service account is refused (misconfigured), or the token
    /// endpoint is away for now (retry).
    enum Failure: Error, Sendable {
        case misconfigured(String)
        case retry(after: Duration?, String)
        case throttled(after: Duration?, String)

        var outcome: DeliveryOutcome {
            switch self {
            case .misconfigured(let reason): .misconfigured(reason: reason)
            case .retry(let after, let reason): .retry(after: after, reason: reason)
            case .throttled(let after, let reason): .throttled(after: after, reason: reason)
            }
        }
    }

    private let fetch: @Sendable (Date) async -> Result<Token, Failure>
    private let clock: any WallClock
    private let margin: TimeInterval
    private var current: Token?
    private var isRefreshing = false
    private var waiting: [CheckedContinuation<Result<String, Failure>, Never>] = []

    init(clock: any WallClock, margin: TimeInterval, fetch: @escaping @Sendable (Date) async -> Result<Token, Failure>) {
        self.clock = clock
        self.margin = margin
        self.fetch = fetch
    }

    /// A token valid for at least `margin` more.
    ///
    /// - Parameter stale: a token FCM refused with 401: a new one is fetched unless another
    ///   caller has already replaced it.
    func token(replacing stale: String? = nil) async -> Result<String, Failure> {
        if let current, current.value != stale, current.expires.timeIntervalSince(clock.now) > margin {
            return .success(current.value)
        }
        if isRefreshing {
            return await withCheckedContinuation { waiting.append($0) }
        }
        isRefreshing = true
        let result = await fetch(clock.now).map { token in
            current = token
            return token.value
        }
        isRefreshing = false
        let waiters = waiting
        waiting = []
        for waiter in waiters { waiter.resume(returning: result) }
        return result
    }

    // MARK: - The token request

    /// The OAuth2 scope FCM needs.
    static let scope = "https://www.googleapis.com/auth/firebase.messaging"

    /// The RS256 assertion: `{"alg":"RS256","typ":"JWT","kid"}` and `{iss, scope, aud, iat,
    /// exp = iat + 3600}`. `aud` is the account's `token_uri`, which is Google's constant
    /// `https://oauth2.googleapis.com/token` in every real key file.
    static func assertion(account: FCMServiceAccount, key: _RSA.Signing.PrivateKey, now: Date, scope: String = scope) throws -> String {
        var header = JSONWriter(capacity: 96)
        header.raw("{\"alg\":\"RS256\",\"typ\":\"JWT\"")
        if let kid = account.privateKeyID {
            header.raw(",\"kid\":")
            header.string(kid)
        }
        header.raw("}")
        let issued = Int64(now.timeIntervalSince1970.rounded(.down))
        var claims = JSONWriter(capacity: 256)
        claims.raw("{\"iss\":")
        claims.string(account.clientEmail)
        claims.raw(",\"scope\":")
        claims.string(scope)
        claims.raw(",\"aud\":")
        claims.string(account.tokenURI)
        claims.raw(",\"iat\":")
        claims.number(issued)
        claims.raw(",\"exp\":")
        claims.number(issued + 3600)
        claims.raw("}")
        let input = Base64URL.encode(header.bytes) + "." + Base64URL.encode(claims.bytes)
        let signature = try key.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }

    /// Posts the assertion to `token_uri` and reads `{access_token, expires_in, token_type}`.
    static func request(
        account: FCMServiceAccount, key: _RSA.Signing.PrivateKey, http: ProviderHTTPClient, now: Date
    ) async -> Result<Token, Failure> {
        let assertion: String
        do {
            assertion = try Self.assertion(account: account, key: key, now: now)
        } catch {
            return .failure(.misconfigured("fcm: the service account's private key cannot sign: \(error)"))
        }
        let body = FormEncoding.encode([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)])
        let result = await http.execute(method: .POST, url: account.tokenURI, headers: [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"), ("User-Agent", "herald"),
        ], body: Data(body.utf8))
        switch result {
        case .failure(let failure):
            return .failure(.retry(after: nil, "fcm token endpoint: \(failure.description)"))
        case .success(let answer):
            return classify(answer, now: now)
        }
    }

    /// The token endpoint's answer: a token, a refusal of the account, or a temporary failure.
    static func classify(_ answer: ProviderHTTPClient.Answer, now: Date) -> Result<Token, Failure> {
        let json = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        if answer.status == 200 {
            // google-auth reads expires_in as a number or a string.
            let expiresIn = (json?["expires_in"] as? NSNumber)?.doubleValue ?? (json?["expires_in"] as? String).flatMap(Double.init)
            guard let token = json?["access_token"] as? String, !token.isEmpty, let expiresIn, expiresIn > 0 else {
                return .failure(.retry(after: nil, "fcm token endpoint: a 200 answer without access_token and expires_in: \(TwilioClassifier.snippet(answer.body))"))
            }
            return .success(Token(value: token, expires: now.addingTimeInterval(expiresIn)))
        }
        let error = (json?["error"] as? String) ?? ""
        let description = (json?["error_description"] as? String) ?? (json == nil ? TwilioClassifier.snippet(answer.body) : "")
        let reason = "fcm token endpoint \(answer.status)\(error.isEmpty ? "" : " \(error)"): \(description)"
        if answer.status == 429 {
            return .failure(.throttled(after: retryAfter, "provider 429 (fcm token endpoint): \(description)"))
        }
        if [408, 500, 502, 503, 504].contains(answer.status) || ["internal_failure", "server_error", "temporarily_unavailable"].contains(error) {
            return .failure(.retry(after: retryAfter, reason))
        }
        if ["invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope", "unsupported_grant_type", "invalid_request", "access_denied"]
            .contains(error) || [400, 401, 403].contains(answer.status) {
            return .failure(.misconfigured(reason + " (check the service-account file: client_email, private_key and token_uri)"))
        }
        return .failure(.retry(after: retryAfter, reason))
    }
}
