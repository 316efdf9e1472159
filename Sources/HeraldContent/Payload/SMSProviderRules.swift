import HeraldCore

/// What an SMS provider does differently with a body: its length limit. Segments are counted the
/// same way for every provider Herald has (`SMSSegments`).
///
/// Why segments need no per-provider rule:
/// - Twilio counts "160 GSM-7 or 70 UCS-2 characters" per segment (spec/providers.md §3, `Body`).
///   Its `SmartEncoded` option, which would swap look-alike Unicode characters for GSM-7 ones and
///   so change the encoding, is one of the optional fields listed there; Herald's transport does
///   not send it, so Twilio encodes the text as rendered.
/// - Vonage sends non-GSM text when the request says `type=unicode` (spec/providers.md §9,
///   marked [recall]); Herald's transport sets it whenever the text is not GSM-7, so the message
///   is UCS-2 exactly when `SMSSegments` says so.
///
/// ```swift
/// let rules = SMSProviderRules(kind: .twilio)!
/// rules.problem(with: SMSSegments(text: longText), provider: "twilio")
/// // "the SMS body has 1650 characters; twilio takes at most 1600"
/// ```
public struct SMSProviderRules: Sendable, Hashable {
    /// The longest body, in characters (`SMSSegments.characters`), that the provider takes.
    public var maximumCharacters: Int

    public init(maximumCharacters: Int) {
        self.maximumCharacters = maximumCharacters
    }

    /// The rules of an SMS provider kind; `nil` for push and email kinds.
    public init?(kind: ProviderKind) {
        switch kind {
        case .twilio:
            // spec/providers.md §3: "`Body` up to 1,600 chars" (and the sandbox answers 21617 beyond).
            self.init(maximumCharacters: 1600)
        case .vonage:
            // spec/providers.md §9 states no limit; Herald's VonageTransport refuses a body over
            // its `maximumBodyLength`, 1,600 by default, before sending it.
            self.init(maximumCharacters: 1600)
        case .apns, .fcm, .webpush, .jpush, .pushy, .sendgrid, .mandrill, .smtp:
            return nil
        }
    }

    /// Why the provider's transport would refuse the body, in the words it records
    /// (`MessageChecks.sms`), or `nil`.
    public func problem(with segments: SMSSegments, provider: String) -> String? {
        if segments.characters == 0 { return "the SMS body rendered empty" }
        guard segments.characters > maximumCharacters else { return nil }
        return "the SMS body has \(segments.characters) characters; \(provider) takes at most \(maximumCharacters)"
    }
}
