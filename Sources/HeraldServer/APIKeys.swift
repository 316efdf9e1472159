import Crypto
import Foundation
import HeraldCore

/// Makes and checks API keys (appKey/appSecret, sent as HTTP Basic).
///
/// A secret is 32 random bytes (256 bits) from the system's generator, written base64url after
/// `hs_`; the store keeps only HMAC-SHA256(key: a 16-byte random salt of its own, message: the
/// secret). A slow password hash (bcrypt, scrypt, Argon2) protects guessable passwords; a
/// 256-bit random secret cannot be guessed, so one keyed hash is enough, and the salt keeps two
/// keys' hashes unrelated and precomputed tables useless. Checking compares in constant time.
public enum APIKeys {
    /// A new key: the record to store, and the secret to show once.
    public static func make(scopes: [APIScope], rate: RateLiteral?, now: Date) -> (record: APIKeyRecord, secret: String) {
        var generator = SystemRandomNumberGenerator()
        let appKey = "hk_" + (0..<20).map { _ in String("abcdefghijklmnopqrstuvwxyz234567".randomElement(using: &generator)!) }.joined()
        let secret = "hs_" + base64URL(randomBytes(32, using: &generator))
        let salt = randomBytes(16, using: &generator)
        let record = APIKeyRecord(
            appKey: appKey, salt: salt, secretHash: hash(secret, salt: salt), scopes: Array(Set(scopes)).sorted(), rate: rate, createdAt: now
        )
        return (record, secret)
    }

    /// Whether `secret` is the secret of `record` (which may be revoked: callers check that).
    public static func matches(_ secret: String, _ record: APIKeyRecord) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(record.secretHash, authenticating: Array(secret.utf8), using: SymmetricKey(data: record.salt))
    }

    static func hash(_ secret: String, salt: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(secret.utf8), using: SymmetricKey(data: salt)))
    }

    static func randomBytes(_ count: Int, using generator: inout SystemRandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
