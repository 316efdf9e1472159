import HeraldCore

/// What each provider would refuse in a notification's content, checked without sending: the
/// push payload limits (`PushPayloadLimits`), an SMS body's length, an email's subject, body and
/// sender. The words are the ones the transport records when it refuses the message itself.
///
/// An API send checks its notifications with this before they are planned, so that its answer
/// says which ones a provider would refuse (`skipped(over_limit)`) instead of accepting them
/// and failing later.
public enum ContentLimits {
    /// The longest SMS body Twilio and Vonage take, in characters (spec/providers.md §3; Herald's
    /// Vonage transport refuses longer ones too).
    public static let maximumSMSLength = 1600

    /// Why a provider of `kind` named `provider` would refuse `content`, or nil.
    public static func refusal(_ content: NotificationContent, kind: ProviderKind, provider: String) -> String? {
        switch content {
        case .push(let push):
            guard let service = kind.pushService else { return nil }
            return PushPayloadLimits.refusal(push, service: service)
        case .sms(let sms):
            return MessageChecks.problem(with: sms, maximumLength: maximumSMSLength, provider: provider)
        case .email(let email):
            return MessageChecks.problem(with: email)
        }
    }

    /// A check of content by provider name over the providers of herald.yml; a name it does not
    /// know passes.
    public static func check(for providers: [ProviderConfiguration]) -> @Sendable (NotificationContent, String) -> String? {
        let kinds = Dictionary(providers.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
        return { content, provider in
            guard let kind = kinds[provider] else { return nil }
            return refusal(content, kind: kind, provider: provider)
        }
    }
}
