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
    /// The badge number on the app icon (APNs `aps.badge`, FCM `notification_count`).
    public var badge: Int?
    /// A sound name, or `default`.
    public var sound: String?
    /// The notification's category (APNs `aps.category`, FCM `click_action`), for actions.
    public var category: String?
    /// Groups notifications in the notification centre (APNs `thread-id`, FCM `tag`).
    public var threadID: String?
    /// An image URL shown with the notification.
    public var image: String?
    /// Seconds the push service keeps an undelivered push (APNs `apns-expiration`, FCM `ttl`,
    /// Web Push `TTL`); nil: the notification's expiry, or the service's default.
    public var ttl: Int?
    /// A newer push with the same key replaces an undelivered older one (`apns-collapse-id`,
    /// FCM `collapse_key`, Web Push `Topic`).
    public var collapseKey: String?
    /// `high` (wake the device now) or `normal` (when convenient); nil: high for alerts,
    /// normal for silent pushes.
    public var priority: PushPriority?
    /// A data-only push that wakes the app without showing anything (APNs
    /// `content-available`, FCM data message); `title` and `body` are not shown.
    public var silent: Bool?

    public init(
        title: String? = nil, body: String, url: String? = nil, data: [String: String] = [:], variant: TemplateVariant? = nil,
        badge: Int? = nil, sound: String? = nil, category: String? = nil, threadID: String? = nil, image: String? = nil,
        ttl: Int? = nil, collapseKey: String? = nil, priority: PushPriority? = nil, silent: Bool? = nil
    ) {
        self.title = title
        self.body = body
        self.url = url
        self.data = data
        self.variant = variant
        self.badge = badge
        self.sound = sound
        self.category = category
        self.threadID = threadID
        self.image = image
        self.ttl = ttl
        self.collapseKey = collapseKey
        self.priority = priority
        self.silent = silent
    }

    /// Whether this is a data-only push.
    public var isSilent: Bool { silent ?? false }

    /// The priority to send with: the template's, else high for alerts and normal for silent pushes.
    public var effectivePriority: PushPriority { priority ?? (isSilent ? .normal : .high) }

    private enum CodingKeys: String, CodingKey {
        case title, body, url, data, variant, badge, sound, category, image, ttl, priority, silent
        case threadID = "thread_id"
        case collapseKey = "collapse_key"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        title = try container.decodeIfPresent(String.self, forKey: .title)
        body = try container.decode(String.self, forKey: .body)
        url = try container.decodeIfPresent(String.self, forKey: .url)
        data = try container.decodeIfPresent([String: String].self, forKey: .data) ?? [:]
        variant = try container.decodeIfPresent(TemplateVariant.self, forKey: .variant)
        badge = try container.decodeIfPresent(Int.self, forKey: .badge)
        sound = try container.decodeIfPresent(String.self, forKey: .sound)
        category = try container.decodeIfPresent(String.self, forKey: .category)
        threadID = try container.decodeIfPresent(String.self, forKey: .threadID)
        image = try container.decodeIfPresent(String.self, forKey: .image)
        ttl = try container.decodeIfPresent(Int.self, forKey: .ttl)
        collapseKey = try container.decodeIfPresent(String.self, forKey: .collapseKey)
        priority = try container.decodeIfPresent(PushPriority.self, forKey: .priority)
        silent = try container.decodeIfPresent(Bool.self, forKey: .silent)
    }
}

/// How urgently a push service should deliver a push.
public enum PushPriority: String, Sendable, Hashable, Codable, CaseIterable {
    /// Delivered at once, waking the device (APNs 10, FCM HIGH, Web Push `Urgency: high`).
    case high
    /// Delivered when it saves the battery (APNs 5, FCM NORMAL, Web Push `Urgency: normal`).
    case normal
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
    /// The sender an API send named (`"from": {"email", "name"}`), in place of the provider's
    /// configured `from`; nil for the provider's own.
    public var fromEmail: String?
    /// The sender's display name, with `fromEmail`.
    public var fromName: String?

    public init(subject: String, html: String? = nil, text: String, variant: TemplateVariant? = nil, fromEmail: String? = nil, fromName: String? = nil) {
        self.subject = subject
        self.html = html
        self.text = text
        self.variant = variant
        self.fromEmail = fromEmail
        self.fromName = fromName
    }

    private enum CodingKeys: String, CodingKey {
        case subject, html, text, variant
        case fromEmail = "from_email"
        case fromName = "from_name"
    }
}
