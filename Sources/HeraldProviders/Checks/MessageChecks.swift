import Foundation
import HeraldCore

/// Checks made before anything is sent: a message that fails one is refused with a reason that
/// the event trail keeps, instead of being handed to a provider that would refuse it (or, worse,
/// accept a header injected through a subject).
public enum MessageChecks {
    /// The message is past its `expiresAt`.
    public static func expiry(_ message: OutboundMessage, now: Date) -> DeliveryOutcome? {
        guard let expiresAt = message.expiresAt, expiresAt <= now else { return nil }
        return .rejected(reason: "expired at \(ISO8601.string(from: expiresAt)) before it could be sent")
    }

    /// An SMS: an E.164 number and a body within the provider's limit.
    public static func sms(_ message: OutboundMessage, maximumLength: Int, provider: String) -> DeliveryOutcome? {
        guard case .sms(let content) = message.content else {
            return .rejected(reason: "\(provider) carries SMS, and this is \(message.content.channel.rawValue) content")
        }
        guard isE164(message.address) else {
            return .deadAddress(reason: "'\(message.address)' is not an E.164 phone number (+ and up to 15 digits)")
        }
        return problem(with: content, maximumLength: maximumLength, provider: provider).map { .rejected(reason: $0) }
    }

    /// Why an SMS body cannot be sent through `provider` (empty, or over its length), or nil:
    /// checked by the transport and, for an API send, before it is planned.
    public static func problem(with content: SMSContent, maximumLength: Int, provider: String) -> String? {
        if content.body.isEmpty { return "the SMS body rendered empty" }
        guard content.body.count > maximumLength else { return nil }
        return "the SMS body has \(content.body.count) characters; \(provider) takes at most \(maximumLength)"
    }

    /// An email: a valid address, and content that can be sent (``problem(with:)``).
    public static func email(_ message: OutboundMessage) -> DeliveryOutcome? {
        guard case .email(let content) = message.content else {
            return .rejected(reason: "an email provider carries email, and this is \(message.content.channel.rawValue) content")
        }
        guard isEmail(message.address) else {
            return .deadAddress(reason: "'\(message.address)' is not a valid email address")
        }
        return problem(with: content).map { .rejected(reason: $0) }
    }

    /// Why an email's content cannot be sent, or nil: a line break in the subject or the
    /// sender's name (a header injection), an invalid sender, an empty subject, no body.
    /// Checked by the transports and, for an API send, before it is planned.
    public static func problem(with content: EmailContent) -> String? {
        if let injected = headerInjection(in: content.subject) {
            return "the subject contains \(injected): refused as a header injection"
        }
        if let from = content.fromEmail, !isEmail(from) {
            return "the sender '\(from)' is not a valid email address"
        }
        if let name = content.fromName, let injected = headerInjection(in: name) {
            return "the sender's name contains \(injected): refused as a header injection"
        }
        if content.subject.isEmpty { return "the subject rendered empty" }
        if content.text.isEmpty, (content.html ?? "").isEmpty { return "the email has no body" }
        return nil
    }

    /// "a carriage return (CR)" when `text` holds a character that ends a header line.
    public static func headerInjection(in text: String) -> String? {
        HeaderValue.lineBreak(in: text)
    }

    /// `+`, a non-zero digit, at most 15 digits in all.
    public static func isE164(_ text: String) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.utf8.first == UInt8(ascii: "+") && (2...15).contains(digits.count)
            && digits.first != UInt8(ascii: "0") && digits.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// `local@domain.tld` with no spaces, controls, angle brackets or commas: what an address
    /// header and an SMTP RCPT can carry without quoting.
    public static func isEmail(_ text: String) -> Bool {
        HeaderValue.isAddress(text)
    }
}

/// A sender or recipient: `Shop <news@example.com>` or `news@example.com`.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    public var name: String?
    public var email: String

    public init(name: String? = nil, email: String) {
        self.name = name
        self.email = email
    }

    /// Parses `Name <email>` or a bare address; nil when the address is not valid or the name
    /// holds a line break.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            let email = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
            guard MessageChecks.isEmail(email), MessageChecks.headerInjection(in: name) == nil else { return nil }
            self.init(name: name.isEmpty ? nil : name, email: email)
        } else {
            guard MessageChecks.isEmail(trimmed) else { return nil }
            self.init(email: trimmed)
        }
    }

    public var description: String {
        name.map { "\($0) <\(email)>" } ?? email
    }

    /// The sender of `content`: the one an API send named, or else `configured` (the provider's
    /// `from`).
    public static func sender(of content: EmailContent, configured: EmailAddress) -> EmailAddress {
        guard let email = content.fromEmail, !email.isEmpty else { return configured }
        return EmailAddress(name: content.fromName, email: email)
    }
}

/// RFC 8058 one-click unsubscribe headers, for subscribed (non-transactional) mail only.
public enum ListUnsubscribe {
    /// `List-Unsubscribe: <https://…/u/{token}>, <mailto:…>` and
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; none for transactional mail or
    /// without an unsubscribe link.
    ///
    /// - Parameter mailto: an address that takes unsubscribe requests by mail; the token goes in
    ///   the subject so that the request names the notification.
    public static func headers(for message: OutboundMessage, mailto: String? = nil) -> [(name: String, value: String)] {
        guard message.isSubscribed, let url = message.unsubscribeURL, !url.isEmpty, MessageChecks.headerInjection(in: url) == nil else {
            return []
        }
        var targets = ["<\(url)>"]
        if let mailto, MessageChecks.isEmail(mailto) {
            let token = url.split(separator: "/").last.map(String.init) ?? ""
            targets.append("<mailto:\(mailto)?subject=unsubscribe%20\(token)>")
        }
        return [("List-Unsubscribe", targets.joined(separator: ", ")), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    }
}
