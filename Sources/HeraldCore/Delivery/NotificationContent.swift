/// The rendered content of one notification, as it is stored and handed to a transport.
///
/// Stored as one flat JSON object tagged with its channel, readable in the database:
/// `{"body":"Your order has shipped","channel":"sms","variant":"ko"}`. `variant` is absent from
/// rows stored before it was recorded; they read as `variant == nil`.
public enum NotificationContent: Sendable, Hashable, Codable {
    case push(PushContent)
    case sms(SMSContent)
    case email(EmailContent)

    public var channel: Channel {
        switch self {
        case .push: .push
        case .sms: .sms
        case .email: .email
        }
    }

    private enum CodingKeys: String, CodingKey {
        case channel
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Channel.self, forKey: .channel) {
        case .push: self = .push(try PushContent(from: decoder))
        case .sms: self = .sms(try SMSContent(from: decoder))
        case .email: self = .email(try EmailContent(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(channel, forKey: .channel)
        switch self {
        case .push(let content): try content.encode(to: encoder)
        case .sms(let content): try content.encode(to: encoder)
        case .email(let content): try content.encode(to: encoder)
        }
    }

    /// Which template file the text came from; nil for content stored before Herald recorded it,
    /// and for content not rendered from a template.
    public var variant: TemplateVariant? {
        get {
            switch self {
            case .push(let push): push.variant
            case .sms(let sms): sms.variant
            case .email(let email): email.variant
            }
        }
        set {
            switch self {
            case .push(var push):
                push.variant = newValue
                self = .push(push)
            case .sms(var sms):
                sms.variant = newValue
                self = .sms(sms)
            case .email(var email):
                email.variant = newValue
                self = .email(email)
            }
        }
    }

    /// One line for people: the title or subject and the start of the body.
    public var summary: String {
        switch self {
        case .push(let push): [push.title, push.body].compactMap { $0 }.joined(separator: " / ")
        case .sms(let sms): sms.body
        case .email(let email): "subject: \(email.subject)"
        }
    }
}

public struct PushContent: Sendable, Hashable, Codable {
    public var title: String?
    public var body: String
    /// Opened when the notification is tapped.
    public var url: String?
    public var data: [String: String]
    /// Which template file the text came from (`NotificationContent.variant`).
    public var variant: TemplateVariant?

    public init(title: String? = nil, body: String, url: String? = nil, data: [String: String] = [:], variant: TemplateVariant? = nil) {
        self.title = title
        self.body = body
        self.url = url
        self.data = data
        self.variant = variant
    }
}

public struct SMSContent: Sendable, Hashable, Codable {
    public var body: String
    /// Which template file the text came from (`NotificationContent.variant`).
    public var variant: TemplateVariant?

    public init(body: String, variant: TemplateVariant? = nil) {
        self.body = body
        self.variant = variant
    }
}

public struct EmailContent: Sendable, Hashable, Codable {
    public var subject: String
    /// The HTML part, with variables escaped; `nil` for a text-only email.
    public var html: String?
    /// The plain-text part (derived from the HTML when the template has none).
    public var text: String
    /// Which template file the text came from (`NotificationContent.variant`).
    public var variant: TemplateVariant?

    public init(subject: String, html: String? = nil, text: String, variant: TemplateVariant? = nil) {
        self.subject = subject
        self.html = html
        self.text = text
        self.variant = variant
    }
}
