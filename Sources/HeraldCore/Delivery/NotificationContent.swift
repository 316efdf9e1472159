/// The rendered content of one notification, as it is stored and handed to a transport.
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
}

public struct PushContent: Sendable, Hashable, Codable {
    public var title: String?
    public var body: String
    /// Opened when the notification is tapped.
    public var url: String?
    public var data: [String: String]

    public init(title: String? = nil, body: String, url: String? = nil, data: [String: String] = [:]) {
        self.title = title
        self.body = body
        self.url = url
        self.data = data
    }
}

public struct SMSContent: Sendable, Hashable, Codable {
    public var body: String

    public init(body: String) {
        self.body = body
    }
}

public struct EmailContent: Sendable, Hashable, Codable {
    public var subject: String
    /// The HTML part, with variables escaped; `nil` for a text-only email.
    public var html: String?
    /// The plain-text part (derived from the HTML when the template has none).
    public var text: String

    public init(subject: String, html: String? = nil, text: String) {
        self.subject = subject
        self.html = html
        self.text = text
    }
}
