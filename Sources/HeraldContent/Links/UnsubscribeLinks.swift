import Crypto
import Foundation
import HeraldCore

/// Signed one-click unsubscribe links: `tracking.base_url` + `/u/{token}`.
///
/// The token carries the notification's structural key and an HMAC-SHA256 of it with
/// `tracking.secret`, so the endpoint that honours it (RFC 8058: a POST without cookies or login)
/// learns which notification, user and channel it is about without a lookup table, and nobody
/// can make a token for another recipient.
///
/// ```swift
/// let links = UnsubscribeLinks(baseURL: "https://t.example.com", secret: secret)
/// links.url(for: key)          // https://t.example.com/u/MQ…Q.h3…Zw
/// links.key(fromToken: token)  // the key, or nil when the token was not signed with the secret
/// ```
public struct UnsubscribeLinks: Sendable, Hashable {
    /// Without a trailing slash.
    public var baseURL: String
    private let key: SymmetricKey

    public init(baseURL: String, secret: String) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.key = SymmetricKey(data: Data(secret.utf8))
    }

    public init(_ tracking: TrackingConfiguration) {
        self.init(baseURL: tracking.baseURL, secret: tracking.secret)
    }

    public static func == (lhs: UnsubscribeLinks, rhs: UnsubscribeLinks) -> Bool {
        lhs.baseURL == rhs.baseURL && lhs.key.withUnsafeBytes { Data($0) } == rhs.key.withUnsafeBytes { Data($0) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(baseURL)
    }

    /// The link for one notification.
    public func url(for notification: NotificationKey) -> String {
        "\(baseURL)/u/\(token(for: notification))"
    }

    /// `payload.signature`, both base64url without padding. The payload is version 1 of
    /// `1 US occurrence US channel US user US device` (US: the unit separator, U+001F).
    public func token(for notification: NotificationKey) -> String {
        let payload = Data(
            ["1", String(notification.occurrenceID), notification.channel.rawValue, notification.userID, notification.device]
                .joined(separator: "\u{1F}").utf8
        )
        let signature = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return Self.base64URL(payload) + "." + Self.base64URL(Data(signature))
    }

    /// The key a token was signed for, or `nil` when it is malformed or its signature does not
    /// verify with this secret (compared in constant time).
    public func key(fromToken token: String) -> NotificationKey? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4096, parts.count == 2,
              let payload = Self.data(base64URL: parts[0]), let signature = Self.data(base64URL: parts[1]),
              HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: payload, using: key)
        else { return nil }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "\u{1F}", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0] == "1", let occurrence = Int64(fields[1]), let channel = Channel(rawValue: String(fields[2])) else {
            return nil
        }
        return NotificationKey(occurrenceID: occurrence, userID: String(fields[3]), channel: channel, device: String(fields[4]))
    }

    /// Base64url without padding (RFC 4648 §5), a group of three bytes at a time: a link is
    /// signed for every planned notification.
    static func base64URL(_ data: Data) -> String {
        let alphabet = base64URLAlphabet
        var out: [UInt8] = []
        out.reserveCapacity((data.count * 4 + 2) / 3)
        data.withUnsafeBytes { bytes in
            var index = 0
            while index < bytes.count {
                let count = min(3, bytes.count - index)
                var group = UInt32(bytes[index]) << 16
                if count > 1 { group |= UInt32(bytes[index + 1]) << 8 }
                if count > 2 { group |= UInt32(bytes[index + 2]) }
                // Three bytes make four characters; one byte two, two bytes three.
                for shift in stride(from: 18, through: 18 - 6 * count, by: -6) {
                    out.append(alphabet[Int((group >> UInt32(shift)) & 0x3F)])
                }
                index += 3
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func data(base64URL text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

private let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
