import Foundation
import HeraldCore

/// An email's content with Herald's signed per-recipient links taken out, so that mail which
/// differs only in them can share one SendGrid request.
///
/// With `tracking:`, every email carries links signed for its own notification: the open pixel
/// (`/o/{token}`), each rewritten link (`/c/{token}`) and the unsubscribe link (`/u/{token}`).
/// Without this, no two emails of a campaign are alike and each one is a request of its own.
/// Here each such token becomes a substitution tag (`%herald0%`, `%herald1%`, … in order of first
/// appearance), and the tokens become the personalization's `substitutions`, which SendGrid puts
/// back for each recipient. Two emails of one template differ only in their values.
///
/// The links are found by the tracking base URL, which the message's own unsubscribe link
/// names (`{base}/u/{token}`): only Herald's links are touched, and a token is the run of
/// base64url characters and dots after `{base}/o/`, `/c/` or `/u/`.
///
/// Putting the values back always gives the original content, which is what makes this safe:
/// - no text of the email contains `%herald`, so the tags are found only where they were put;
/// - a value is base64url or dots, never `%`, and never starts with `herald`, so putting values
///   back cannot make another tag (SendGrid substitutes nested tags);
/// - otherwise, or when the values exceed SendGrid's 10,000 bytes per personalization, the
///   content is kept whole, with no substitutions (the message then shares a request only with
///   identical mail).
struct SharedEmail: Hashable {
    /// The content with tags in place of tokens (or the original content, when nothing was
    /// taken out).
    var content: EmailContent
    /// The tokens, in tag order: tag `i` stands for `values[i]`.
    var values: [String]

    /// SendGrid's limit on a personalization's substitutions (tags and values), in bytes.
    static let maximumSubstitutionBytes = 10_000
    static let tagPrefix = "%herald"

    static func tag(_ index: Int) -> String { "\(tagPrefix)\(index)%" }

    /// The substitutions of one personalization, tag and value.
    var substitutions: [(tag: String, value: String)] {
        values.enumerated().map { (Self.tag($0.offset), $0.element) }
    }

    init(content: EmailContent, values: [String]) {
        self.content = content
        self.values = values
    }

    /// The shared form of a message's email content.
    init(_ message: OutboundMessage, content: EmailContent) {
        guard let base = Self.linkBase(of: message.unsubscribeURL),
              !content.subject.containsBytes(of: Self.tagPrefix), !content.text.containsBytes(of: Self.tagPrefix),
              !(content.html?.containsBytes(of: Self.tagPrefix) ?? false)
        else {
            self.init(content: content, values: [])
            return
        }
        var extractor = Extractor(base: Array(base.utf8))
        var shared = content
        shared.subject = extractor.replacingTokens(in: content.subject)
        shared.text = extractor.replacingTokens(in: content.text)
        shared.html = content.html.map { extractor.replacingTokens(in: $0) }
        let size = extractor.values.enumerated().reduce(0) { $0 + Self.tag($1.offset).utf8.count + $1.element.utf8.count }
        guard !extractor.values.isEmpty, size <= Self.maximumSubstitutionBytes,
              !extractor.values.contains(where: { $0.hasPrefix("herald") })
        else {
            self.init(content: content, values: [])
            return
        }
        self.init(content: shared, values: extractor.values)
    }

    /// `https://t.example.com` for `https://t.example.com/u/…`.
    static func linkBase(of unsubscribeURL: String?) -> String? {
        guard let url = unsubscribeURL, let offset = url.lastByteOffset(of: "/u/"), offset > 0 else { return nil }
        return String(decoding: url.utf8.prefix(offset), as: UTF8.self)
    }

    /// Replaces tokens with tags, remembering each distinct token once.
    struct Extractor {
        let base: [UInt8]
        var values: [String] = []
        var indexes: [String: Int] = [:]

        init(base: [UInt8]) {
            self.base = base
        }

        mutating func replacingTokens(in text: String) -> String {
            let bytes = Array(text.utf8)
            guard let first = base.first, bytes.count > base.count + 3 else { return text }
            var out: [UInt8] = []
            var copied = 0
            var index = 0
            let last = bytes.count - base.count - 3
            while index < last {
                guard bytes[index] == first, matchesLink(bytes, at: index) else {
                    index += 1
                    continue
                }
                let start = index + base.count + 3
                var end = start
                while end < bytes.count, Self.isTokenByte(bytes[end]) { end += 1 }
                guard end > start else {
                    index = start
                    continue
                }
                let token = String(decoding: bytes[start..<end], as: UTF8.self)
                let position: Int
                if let known = indexes[token] {
                    position = known
                } else {
                    position = values.count
                    indexes[token] = position
                    values.append(token)
                }
                out.append(contentsOf: bytes[copied..<start])
                out.append(contentsOf: SharedEmail.tag(position).utf8)
                copied = end
                index = end
            }
            guard copied > 0 else { return text }
            out.append(contentsOf: bytes[copied...])
            return String(decoding: out, as: UTF8.self)
        }

        /// `{base}/o/`, `{base}/c/` or `{base}/u/` at `index`.
        func matchesLink(_ bytes: [UInt8], at index: Int) -> Bool {
            for offset in base.indices where bytes[index + offset] != base[offset] { return false }
            let slash = index + base.count
            return bytes[slash] == UInt8(ascii: "/") && bytes[slash + 2] == UInt8(ascii: "/")
                && [UInt8(ascii: "o"), UInt8(ascii: "c"), UInt8(ascii: "u")].contains(bytes[slash + 1])
        }

        /// Base64url and the dot between a token's payload and signature.
        static func isTokenByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
    }
}
