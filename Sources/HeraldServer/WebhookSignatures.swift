import Crypto
import Foundation

/// Checks the signatures providers put on their webhooks (providers.md): a webhook that is not
/// signed, is signed with another key or over other bytes, or (SendGrid) is too old to be fresh
/// gets a reason and records nothing. Every comparison takes the same time whatever the bytes.
public enum WebhookSignatures {
    public enum Verdict: Sendable, Hashable {
        case valid
        case invalid(String)
    }

    /// SendGrid's signed Event Webhook: ECDSA P-256 with SHA-256 over the timestamp header
    /// followed by the raw body, with the public key of the webhook's settings (base64 DER).
    /// A timestamp further than `tolerance` from `now` is a replay (SendGrid sets no window;
    /// five minutes is the local policy).
    public static func sendGrid(
        publicKey: String, signature: String?, timestamp: String?, body: [UInt8], now: Date, tolerance: TimeInterval = 300
    ) -> Verdict {
        guard let signature, let timestamp else { return .invalid("the SendGrid signature or timestamp header is missing") }
        guard let seconds = Int64(timestamp) else { return .invalid("the SendGrid timestamp '\(timestamp.prefix(20))' is not a number") }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else {
            // In Double: a hostile timestamp such as Int64.min must not overflow.
            let offset = (now.timeIntervalSince1970 - Double(seconds)).rounded()
            return .invalid("the SendGrid timestamp is \(abs(offset) < 1e12 ? String(Int(offset)) : "far") s from now; at most \(Int(tolerance)) s is fresh")
        }
        guard let keyData = Data(base64Encoded: publicKey), let key = try? P256.Signing.PublicKey(derRepresentation: keyData) else {
            return .invalid("the configured SendGrid public key is not a base64 DER P-256 key")
        }
        guard let signatureData = Data(base64Encoded: signature), let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signatureData) else {
            return .invalid("the SendGrid signature is not a base64 DER ECDSA signature")
        }
        return key.isValidSignature(ecdsa, for: Data(timestamp.utf8) + body) ? .valid : .invalid("the SendGrid signature does not match the body")
    }

    /// Twilio's `X-Twilio-Signature` on a form post: HMAC-SHA1 with the auth token over the full
    /// URL, then each parameter name followed by its value, names sorted, a name's values sorted
    /// and without duplicates.
    public static func twilio(authToken: String, url: String, parameters: [(String, String)], signature: String?) -> Verdict {
        guard let signature else { return .invalid("the X-Twilio-Signature header is missing") }
        var values: [String: Set<String>] = [:]
        for (name, value) in parameters { values[name, default: []].insert(value) }
        let signed = url + values.keys.sorted().map { name in values[name]!.sorted().map { name + $0 }.joined() }.joined()
        return hmacSHA1(signature, over: signed, key: authToken) ? .valid : .invalid("the X-Twilio-Signature does not match the URL and parameters")
    }

    /// Mailchimp Transactional's `X-Mandrill-Signature`: HMAC-SHA1 with the webhook key over the
    /// webhook URL as configured, then each POST key followed by its value, keys sorted.
    public static func mandrill(key: String, url: String, parameters: [(String, String)], signature: String?) -> Verdict {
        guard let signature else { return .invalid("the X-Mandrill-Signature header is missing") }
        let signed = url + parameters.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        return hmacSHA1(signature, over: signed, key: key) ? .valid : .invalid("the X-Mandrill-Signature does not match the URL and parameters")
    }

    static func hmacSHA1(_ signature: String, over text: String, key: String) -> Bool {
        guard let mac = Data(base64Encoded: signature) else { return false }
        return HMAC<Insecure.SHA1>.isValidAuthenticationCode(mac, authenticating: Data(text.utf8), using: SymmetricKey(data: Data(key.utf8)))
    }
}
