import Crypto
import Foundation

/// The signatures providers put on the webhooks they send (providers.md: Twilio §3, SendGrid §4,
/// Mandrill §10), as the sandbox makes them.
public enum WebhookSignature {
    /// `X-Twilio-Signature`: HMAC-SHA1 with the auth token over the full URL followed by every
    /// POST parameter sorted by name (each name's values sorted and de-duplicated), as
    /// `name` + `value` with no separators; base64.
    public static func twilio(authToken: String, url: String, parameters: [(String, String)]) -> String {
        var values: [String: Set<String>] = [:]
        for (name, value) in parameters { values[name, default: []].insert(value) }
        var data = url
        for name in values.keys.sorted() {
            for value in values[name]!.sorted() { data += name + value }
        }
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(code).base64EncodedString()
    }

    /// `X-Mandrill-Signature`: HMAC-SHA1 with the webhook key over the URL as configured
    /// followed by each POST parameter, sorted by name, as `name` + `value`; base64.
    public static func mandrill(key: String, url: String, parameters: [(String, String)]) -> String {
        var data = url
        for (name, value) in parameters.sorted(by: { $0.0 < $1.0 }) { data += name + value }
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return Data(code).base64EncodedString()
    }

    /// `X-Twilio-Email-Event-Webhook-Signature`: ECDSA P-256 with SHA-256 over the timestamp
    /// header's text followed by the raw body, DER, base64.
    public static func sendGrid(privateKey: P256.Signing.PrivateKey, timestamp: String, body: Data) throws -> String {
        try privateKey.signature(for: Data(timestamp.utf8) + body).derRepresentation.base64EncodedString()
    }
}
