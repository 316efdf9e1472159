import Foundation

/// Base64url without padding (RFC 4648 §5), as JWTs, VAPID keys and Web Push subscriptions
/// write it.
public enum Base64URL {
    public static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url with or without padding; standard base64 (`+`, `/`) is read too, since
    /// browsers' `PushSubscription.toJSON()` and some stores hand it over that way. Nil for any
    /// other character.
    public static func decode(_ text: String) -> Data? {
        var base64 = text.trimmingCharacters(in: .whitespaces)
            .replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while base64.hasSuffix("=") { base64.removeLast() }
        guard base64.count % 4 != 1 else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
