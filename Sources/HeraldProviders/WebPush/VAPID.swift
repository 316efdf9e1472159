import Crypto
import Foundation
import Synchronization

/// An application server's VAPID key (RFC 8292): the P-256 key whose public half browsers were
/// given as `applicationServerKey` when they subscribed.
public struct VAPIDKey: Sendable {
    public let privateKey: P256.Signing.PrivateKey

    /// The public key as browsers take it: the 65-byte uncompressed point, base64url.
    public var publicKeyBase64URL: String { Base64URL.encode(privateKey.publicKey.x963Representation) }

    public init(_ privateKey: P256.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// Reads a PEM (`-----BEGIN EC PRIVATE KEY-----` or PKCS#8 `-----BEGIN PRIVATE KEY-----`) or
    /// the raw 32-byte scalar in base64url, the two forms py_vapid and web-push libraries write.
    ///
    /// - Throws: ``WebPushConfigurationError`` saying which form was expected.
    public init(parsing text: String) throws(WebPushConfigurationError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.contains("-----BEGIN") {
            do {
                privateKey = try P256.Signing.PrivateKey(pemRepresentation: trimmed)
            } catch {
                throw WebPushConfigurationError("the VAPID private key PEM is not a P-256 private key (\(error))")
            }
            return
        }
        guard let raw = Base64URL.decode(trimmed), raw.count == 32 else {
            throw WebPushConfigurationError(
                "the VAPID private key is neither a P-256 PEM nor 32 bytes of base64url (`vapid --gen` or `web-push generate-vapid-keys` make one)"
            )
        }
        do {
            privateKey = try P256.Signing.PrivateKey(rawRepresentation: raw)
        } catch {
            throw WebPushConfigurationError("the VAPID private key is not a valid P-256 scalar")
        }
    }
}

/// A Web Push transport that cannot work as configured.
public struct WebPushConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Signs and caches VAPID tokens: one ES256 JWT per push service origin, reused until an hour
/// before it expires, so that a million pushes to one push service sign once per 11 hours, not
/// a million times.
public final class VAPIDSigner: Sendable {
    public let key: VAPIDKey
    /// `mailto:` or `https:`: whom the push service contacts about this sender.
    public let subject: String
    /// How far ahead `exp` is set; RFC 8292 allows at most 24 h. Default 12 h (pywebpush's).
    public let lifetime: TimeInterval
    /// A token is replaced when less than this is left of it. Default 1 h.
    public let renewBefore: TimeInterval
    private let cache = Mutex<[String: (header: String, expires: Date)]>([:])

    public init(key: VAPIDKey, subject: String, lifetime: TimeInterval = 12 * 3600, renewBefore: TimeInterval = 3600) {
        self.key = key
        self.subject = subject
        self.lifetime = min(lifetime, 24 * 3600)
        self.renewBefore = min(renewBefore, self.lifetime / 2)
    }

    /// `vapid t=<JWT>, k=<public key>` for a push endpoint's origin, from the cache when fresh.
    public func authorization(audience: String, now: Date) -> String {
        if let cached = cache.withLock({ $0[audience] }), cached.expires.timeIntervalSince(now) > renewBefore {
            return cached.header
        }
        let expires = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + lifetime).rounded(.down))
        let header = "vapid t=\(token(audience: audience, expires: expires)), k=\(key.publicKeyBase64URL)"
        cache.withLock { cache in
            // Origins are few (one per push service); the bound keeps a hostile subscription list
            // from growing the cache without end.
            if cache.count >= 1024 { cache.removeAll() }
            cache[audience] = (header, expires)
        }
        return header
    }

    /// The JWT: `{"typ":"JWT","alg":"ES256"}` and `{"aud","exp","sub"}`, signed with ES256 (the
    /// signature as JOSE's raw r‖s, 64 bytes).
    public func token(audience: String, expires: Date) -> String {
        var claims = JSONWriter(capacity: 160)
        claims.raw("{\"aud\":")
        claims.string(audience)
        claims.raw(",\"exp\":")
        claims.number(Int64(expires.timeIntervalSince1970))
        claims.raw(",\"sub\":")
        claims.string(subject)
        claims.raw("}")
        let input = Base64URL.encode(Data("{\"typ\":\"JWT\",\"alg\":\"ES256\"}".utf8)) + "." + Base64URL.encode(claims.bytes)
        // Signing with a valid key over a byte string does not fail; the try? only satisfies the
        // type, and an empty signature would be refused (and classified) by the push service.
        let signature = (try? key.privateKey.signature(for: Data(input.utf8)).rawRepresentation) ?? Data()
        return input + "." + Base64URL.encode(signature)
    }

    /// The origin of a push endpoint, `scheme://host[:port]`, the `aud` RFC 8292 asks for; the
    /// port only when it is not the scheme's default. Nil for a URL without scheme or host.
    public static func audience(of endpoint: String) -> String? {
        guard let components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let isDefaultPort = components.port == nil || (scheme == "https" && components.port == 443) || (scheme == "http" && components.port == 80)
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)" + (isDefaultPort ? "" : ":\(components.port!)")
    }
}
