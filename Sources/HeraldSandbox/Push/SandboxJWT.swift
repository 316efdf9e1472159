import Foundation

/// A compact JWS (`header.claims.signature`) split and decoded, for the emulators that check
/// one: VAPID's ES256 token and FCM's RS256 service-account assertion. Verifying the signature
/// is the caller's, with the key it trusts.
struct SandboxJWT {
    var header: [String: Any]
    var claims: [String: Any]
    /// The bytes the signature covers: `base64url(header) . base64url(claims)`.
    var signingInput: Data
    var signature: Data

    /// Nil with a reason when `token` is not three base64url parts of JSON objects.
    static func parse(_ token: String) -> Result<SandboxJWT, SandboxJWTError> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(SandboxJWTError("the token has \(parts.count) parts; a JWS has 3")) }
        guard let headerData = SandboxBase64URL.decode(String(parts[0])),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else { return .failure(SandboxJWTError("the token's header is not base64url JSON")) }
        guard let claimsData = SandboxBase64URL.decode(String(parts[1])),
              let claims = try? JSONSerialization.jsonObject(with: claimsData) as? [String: Any]
        else { return .failure(SandboxJWTError("the token's claims are not base64url JSON")) }
        guard let signature = SandboxBase64URL.decode(String(parts[2])) else {
            return .failure(SandboxJWTError("the token's signature is not base64url"))
        }
        return .success(SandboxJWT(header: header, claims: claims, signingInput: Data("\(parts[0]).\(parts[1])".utf8), signature: signature))
    }

    /// A numeric claim (`exp`, `iat`), whether written as an integer or a float.
    func time(_ name: String) -> Double? {
        (claims[name] as? NSNumber).map(\.doubleValue)
    }
}

struct SandboxJWTError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Base64url without padding (RFC 4648 §5).
enum SandboxBase64URL {
    static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Strict base64url (no `+`, `/` or whitespace); padding allowed.
    static func decode(_ text: String) -> Data? {
        guard text.utf8.allSatisfy({ byte in
            (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 45 || byte == 95 || byte == 61
        }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.hasSuffix("=") { base64.removeLast() }
        guard base64.count % 4 != 1 else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
