import Crypto
import Foundation
import HeraldCore

/// Signed open and click tracking links: `tracking.base_url` + `/o/{token}` (the open pixel) and
/// `/c/{token}` (a link).
///
/// A token names the notification (its structural key, as the unsubscribe link does) and, for a
/// click, the URL it stands for, and carries an HMAC-SHA256 of both with `tracking.secret`: the
/// click endpoint redirects only to a URL Herald signed when it rendered the message, so it can
/// never be used to send people elsewhere (no open redirect), and nobody can count opens or
/// clicks for a notification that is not theirs.
public struct TrackingLinks: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case open = "o"
        case click = "c"
    }

    /// A verified token.
    public struct Target: Sendable, Hashable {
        public var kind: Kind
        public var key: NotificationKey
        /// The original link, for a click.
        public var url: String?
    }

    public var baseURL: String
    /// Rewrite links and add the open pixel (herald.yml `tracking.clicks` and `tracking.opens`).
    public var opens: Bool
    public var clicks: Bool
    private let key: SymmetricKey

    public init(baseURL: String, secret: String, opens: Bool = true, clicks: Bool = true) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.opens = opens
        self.clicks = clicks
        // A key of its own, derived from the secret: a tracking token is never an unsubscribe token.
        self.key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data("herald-tracking-v1".utf8), using: SymmetricKey(data: Data(secret.utf8))))
    }

    public init(_ tracking: TrackingConfiguration) {
        self.init(baseURL: tracking.baseURL, secret: tracking.secret, opens: tracking.opens, clicks: tracking.clicks)
    }

    public static func == (lhs: TrackingLinks, rhs: TrackingLinks) -> Bool {
        lhs.baseURL == rhs.baseURL && lhs.opens == rhs.opens && lhs.clicks == rhs.clicks
            && lhs.key.withUnsafeBytes { Data($0) } == rhs.key.withUnsafeBytes { Data($0) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(baseURL)
    }

    public func token(_ kind: Kind, for notification: NotificationKey, url: String? = nil) -> String {
        var fields = [kind.rawValue, String(notification.occurrenceID), notification.channel.rawValue, notification.userID, notification.device]
        if let url { fields.append(url) }
        let payload = Data(fields.joined(separator: "\u{1F}").utf8)
        let signature = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return UnsubscribeLinks.base64URL(payload) + "." + UnsubscribeLinks.base64URL(Data(signature))
    }

    /// What a token names, or nil when it is malformed or not signed with this secret.
    public func target(ofToken token: String) -> Target? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 8192, parts.count == 2,
              let payload = UnsubscribeLinks.data(base64URL: parts[0]), let signature = UnsubscribeLinks.data(base64URL: parts[1]),
              HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: payload, using: key)
        else { return nil }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 5, let kind = Kind(rawValue: fields[0]), let occurrence = Int64(fields[1]), let channel = Channel(rawValue: fields[2]) else {
            return nil
        }
        let key = NotificationKey(occurrenceID: occurrence, userID: fields[3], channel: channel, device: fields[4])
        switch kind {
        case .open: return fields.count == 5 ? Target(kind: .open, key: key, url: nil) : nil
        case .click: return fields.count == 6 ? Target(kind: .click, key: key, url: fields[5]) : nil
        }
    }

    /// An email's HTML with every http(s) link but `keeping` (the unsubscribe link) pointing at
    /// its click URL, and the open pixel before `</body>` (or at the end).
    ///
    /// Works on the UTF-8 bytes: what it looks for is ASCII (matched without regard to ASCII
    /// case), and this runs for every planned email, where Foundation's searches cost more than
    /// the signing.
    public func tracked(html: String, for notification: NotificationKey, keeping unsubscribeURL: String) -> String {
        var out = clicks ? rewriteLinks(html, for: notification, keeping: unsubscribeURL) : html
        if opens {
            let pixel = "<img src=\"\(baseURL)/o/\(token(.open, for: notification))\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">"
            var bytes = Array(out.utf8)
            if let body = Self.lastRange(of: Array("</body>".utf8), in: bytes) {
                bytes.insert(contentsOf: pixel.utf8, at: body)
                out = String(decoding: bytes, as: UTF8.self)
            } else {
                out += pixel
            }
        }
        return out
    }

    /// Rewrites `href="…"` and `href='…'` values that are http or https URLs.
    func rewriteLinks(_ html: String, for notification: NotificationKey, keeping unsubscribeURL: String) -> String {
        let bytes = Array(html.utf8)
        let href = Array("href=".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 256)
        var position = 0
        while let found = Self.firstRange(of: href, in: bytes, from: position) {
            let valueStart = found + href.count
            out.append(contentsOf: bytes[position..<valueStart])
            position = valueStart
            guard valueStart < bytes.count else { break }
            let quote = bytes[valueStart]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'"),
                  let end = bytes[(valueStart + 1)...].firstIndex(of: quote)
            else { continue }
            let escaped = String(decoding: bytes[(valueStart + 1)..<end], as: UTF8.self)
            let url = Self.unescape(escaped)
            out.append(quote)
            if (url.hasPrefix("https://") || url.hasPrefix("http://")) && url != unsubscribeURL && !url.hasPrefix(baseURL + "/") {
                out.append(contentsOf: "\(baseURL)/c/\(token(.click, for: notification, url: url))".utf8)
            } else {
                out.append(contentsOf: bytes[(valueStart + 1)..<end])
            }
            out.append(quote)
            position = end + 1
        }
        out.append(contentsOf: bytes[position...])
        return String(decoding: out, as: UTF8.self)
    }

    /// Where `needle` (ASCII, lowercase) first occurs in `bytes` at or after `start`, ignoring
    /// ASCII case.
    static func firstRange(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count - start >= needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if matches(needle, in: bytes, at: index) { return index }
            index += 1
        }
        return nil
    }

    /// Where `needle` (ASCII, lowercase) last occurs in `bytes`, ignoring ASCII case.
    static func lastRange(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = bytes.count - needle.count
        while index >= 0 {
            if matches(needle, in: bytes, at: index) { return index }
            index -= 1
        }
        return nil
    }

    private static func matches(_ needle: [UInt8], in bytes: [UInt8], at index: Int) -> Bool {
        for offset in needle.indices {
            let byte = bytes[index + offset]
            // ASCII letters differ from their capitals by 0x20 only.
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if lowered != needle[offset] { return false }
        }
        return true
    }

    /// An attribute value as the browser reads it (the escapes HTML templates produce).
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&#x27;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&#x3D;", with: "=").replacingOccurrences(of: "&#61;", with: "=")
    }
}
