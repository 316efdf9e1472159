import Crypto
import Foundation
import HeraldCore
import Synchronization

/// The APNs provider authentication token: an ES256 JWT (`{"alg":"ES256","kid":…}`,
/// `{"iss":<team id>,"iat":…}`) signed with the `.p8` key, minted once and reused until it is
/// `refreshInterval` old.
///
/// Apple refuses a token whose `iat` is more than an hour old (403 `ExpiredProviderToken`) and
/// one minted more often than every 20 minutes on a connection (429
/// `TooManyProviderTokenUpdates`), so every request of every task shares one token, behind a
/// mutex, and the clock that decides its age is injected.
///
/// ```swift
/// let signer = try APNsProviderToken(keyID: "ABC123DEFG", teamID: "DEF123GHIJ", privateKeyPEM: p8, clock: SystemWallClock())
/// let jwt = signer.current()            // the same string for the next 50 minutes
/// ```
public final class APNsProviderToken: Sendable {
    /// What a failed key or claim looks like.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// A minted token and when (by the injected clock) it was minted.
    public struct Token: Sendable, Hashable {
        /// The compact JWS: `header.claims.signature`, base64url.
        public var jwt: String
        /// The `iat` claim, in seconds since 1970.
        public var issuedAt: Int64
    }

    public let keyID: String
    public let teamID: String
    /// How long a token is reused; clamped to Apple's 20–60 minutes.
    public let refreshInterval: Duration
    private let key: P256.Signing.PrivateKey
    private let clock: any WallClock
    private let state = Mutex<Token?>(nil)

    /// - Parameters:
    ///   - privateKeyPEM: the `.p8` file's text (a PKCS #8 P-256 key).
    ///   - refreshInterval: default 50 minutes; values outside 20–60 minutes are clamped.
    /// - Throws: ``Error`` when the key is not a P-256 private key in PEM, or an id is empty.
    public init(
        keyID: String, teamID: String, privateKeyPEM: String, refreshInterval: Duration = .seconds(50 * 60), clock: any WallClock
    ) throws {
        guard !keyID.isEmpty, keyID.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
            throw Error(description: "the APNs key id '\(keyID)' is empty or holds spaces or quotes; it is the 10-character Key ID of the .p8 key")
        }
        guard !teamID.isEmpty, teamID.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
            throw Error(description: "the APNs team id '\(teamID)' is empty or holds spaces or quotes; it is the 10-character Team ID")
        }
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw Error(description: "the APNs signing key is not a P-256 private key in PEM (the .p8 file from Apple's developer site): \(error)")
        }
        self.keyID = keyID
        self.teamID = teamID
        self.refreshInterval = min(max(refreshInterval, .seconds(20 * 60)), .seconds(60 * 60))
        self.clock = clock
    }

    /// The token to send now: the cached one while it is younger than `refreshInterval`, else a
    /// new one.
    public func current() -> Token {
        let now = Int64(clock.now.timeIntervalSince1970.rounded(.down))
        let interval = refreshInterval.components.seconds
        return state.withLock { cached in
            if let token = cached, now - token.issuedAt < interval, now >= token.issuedAt { return token }
            let token = mint(issuedAt: now)
            cached = token
            return token
        }
    }

    /// A new token in place of `rejected`, after APNs answered `ExpiredProviderToken` or
    /// `InvalidProviderToken`. When another task already replaced it, that replacement is
    /// returned, so that a burst of refusals mints one token, not one per request.
    public func refresh(replacing rejected: Token) -> Token {
        let now = Int64(clock.now.timeIntervalSince1970.rounded(.down))
        return state.withLock { cached in
            if let token = cached, token != rejected { return token }
            let token = mint(issuedAt: now)
            cached = token
            return token
        }
    }

    private func mint(issuedAt: Int64) -> Token {
        let header = Base64URL.encode(Data("{\"alg\":\"ES256\",\"kid\":\"\(keyID)\"}".utf8))
        let claims = Base64URL.encode(Data("{\"iss\":\"\(teamID)\",\"iat\":\(issuedAt)}".utf8))
        let input = header + "." + claims
        // Signing with a valid P-256 key over bytes cannot fail; a failure would be a broken
        // crypto library, and an unsigned token would only be refused by APNs.
        let signature = (try? key.signature(for: Data(input.utf8)).rawRepresentation) ?? Data()
        return Token(jwt: input + "." + Base64URL.encode(signature), issuedAt: issuedAt)
    }
}
