/// A template: per-channel content, with locale variants that override any field.
///
/// Lookup for a recipient's locale (`ko-KR`): the exact variant (`ko-KR`), then the language
/// (`ko`), then the base file; a field missing from a variant falls through to the next.
public struct Template: Sendable, Hashable {
    public var name: String
    /// `templates/<name>.yml`.
    public var base: TemplateContent
    /// `templates/<name>.<locale>.yml`, by locale as written in the file name (`ko`, `ko-KR`).
    public var variants: [String: TemplateContent]
    /// The locale the base file is written in (its `locale:` field, `en` by default): values are
    /// formatted in it for recipients who get the base text in another language, so that an
    /// English sentence shows an English date.
    public var baseLocale: String

    /// The locale of a base file that does not say: `en`.
    public static let defaultBaseLocale = "en"

    public init(name: String, base: TemplateContent, variants: [String: TemplateContent] = [:], baseLocale: String = Template.defaultBaseLocale) {
        self.name = name
        self.base = base
        self.variants = variants
        self.baseLocale = baseLocale
    }

    /// The content for a recipient's locale, with variant fields laid over the base ones.
    public func content(for locale: String?) -> TemplateContent {
        var result = base
        for name in variantNames(for: locale) {
            if let variant = variants[name] { result = result.overlaid(with: variant) }
        }
        return result
    }

    /// The variant files laid over the base for a locale, in order (`LocaleFallback`): `["ko"]`
    /// for `ko-KR` when only `ko` exists.
    public func variantNames(for locale: String?) -> [String] {
        LocaleFallback.keys(for: locale, in: variants.keys)
    }
}

/// The text of one template field and where it was written, so that a Mustache error or an
/// unknown variable points at the file.
public struct TemplateText: Sendable, Hashable {
    public var text: String
    /// Where the text starts: the YAML value, or line 1 of a body file.
    public var location: SourceLocation

    public init(_ text: String, at location: SourceLocation) {
        self.text = text
        self.location = location
    }
}

/// The content of one template file; every field is optional so that a locale variant can
/// override some and inherit the rest.
public struct TemplateContent: Sendable, Hashable {
    public var push: PushTemplate?
    public var sms: SMSTemplate?
    public var email: EmailTemplate?
    /// The template file, relative to the workspace root.
    public var file: String
    /// The base file's `locale:`: the language it is written in (`Template.baseLocale`); nil when
    /// it does not say, and always for a variant, whose file name gives its locale.
    public var locale: String?

    public init(push: PushTemplate? = nil, sms: SMSTemplate? = nil, email: EmailTemplate? = nil, file: String, locale: String? = nil) {
        self.push = push
        self.sms = sms
        self.email = email
        self.file = file
        self.locale = locale
    }

    public func overlaid(with variant: TemplateContent) -> TemplateContent {
        TemplateContent(
            push: PushTemplate.overlay(push, variant.push),
            sms: SMSTemplate.overlay(sms, variant.sms),
            email: EmailTemplate.overlay(email, variant.email),
            file: variant.file,
            locale: locale
        )
    }

    /// Whether the content has something to send on `channel`.
    public func supports(_ channel: Channel) -> Bool {
        switch channel {
        case .push: push?.hasContent == true
        case .sms: sms?.body != nil
        case .email: email?.subject != nil && (email?.html != nil || email?.text != nil)
        }
    }
}

public struct PushTemplate: Sendable, Hashable {
    public var title: TemplateText?
    public var body: TemplateText?
    /// Opened when the notification is tapped; tracked as a click.
    public var url: TemplateText?
    /// Custom key/value data delivered with the push.
    public var data: [String: TemplateText]?
    /// The number on the app icon.
    public var badge: Int?
    /// A sound name, or `default`.
    public var sound: TemplateText?
    /// The notification's category, for its actions.
    public var category: TemplateText?
    /// Groups notifications in the notification centre (`thread_id:`).
    public var threadID: TemplateText?
    /// An image URL shown with the notification.
    public var image: TemplateText?
    /// How long the push service keeps an undelivered push, in seconds (`ttl: 4h`).
    public var ttl: Int?
    /// A newer push with the same key replaces an undelivered older one (`collapse_key:`).
    public var collapseKey: TemplateText?
    /// `high` or `normal`.
    public var priority: PushPriority?
    /// A data-only push that wakes the app and shows nothing.
    public var silent: Bool?

    public init(
        title: TemplateText? = nil, body: TemplateText? = nil, url: TemplateText? = nil, data: [String: TemplateText]? = nil,
        badge: Int? = nil, sound: TemplateText? = nil, category: TemplateText? = nil, threadID: TemplateText? = nil,
        image: TemplateText? = nil, ttl: Int? = nil, collapseKey: TemplateText? = nil, priority: PushPriority? = nil, silent: Bool? = nil
    ) {
        self.title = title
        self.body = body
        self.url = url
        self.data = data
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

    /// Whether it has something to send: a title or a body, or data for a silent push.
    public var hasContent: Bool {
        title != nil || body != nil || silent == true
    }

    static func overlay(_ base: PushTemplate?, _ top: PushTemplate?) -> PushTemplate? {
        guard let top else { return base }
        guard let base else { return top }
        return PushTemplate(
            title: top.title ?? base.title, body: top.body ?? base.body, url: top.url ?? base.url, data: top.data ?? base.data,
            badge: top.badge ?? base.badge, sound: top.sound ?? base.sound, category: top.category ?? base.category,
            threadID: top.threadID ?? base.threadID, image: top.image ?? base.image, ttl: top.ttl ?? base.ttl,
            collapseKey: top.collapseKey ?? base.collapseKey, priority: top.priority ?? base.priority, silent: top.silent ?? base.silent
        )
    }
}

public struct SMSTemplate: Sendable, Hashable {
    public var body: TemplateText?

    public init(body: TemplateText? = nil) {
        self.body = body
    }

    static func overlay(_ base: SMSTemplate?, _ top: SMSTemplate?) -> SMSTemplate? {
        guard let top else { return base }
        guard let base else { return top }
        return SMSTemplate(body: top.body ?? base.body)
    }
}

public struct EmailTemplate: Sendable, Hashable {
    public var subject: TemplateText?
    /// The HTML body, read from the file the template names (its location is that file).
    public var html: TemplateText?
    /// The plain-text body; derived from the HTML when absent.
    public var text: TemplateText?

    public init(subject: TemplateText? = nil, html: TemplateText? = nil, text: TemplateText? = nil) {
        self.subject = subject
        self.html = html
        self.text = text
    }

    static func overlay(_ base: EmailTemplate?, _ top: EmailTemplate?) -> EmailTemplate? {
        guard let top else { return base }
        guard let base else { return top }
        return EmailTemplate(subject: top.subject ?? base.subject, html: top.html ?? base.html, text: top.text ?? base.text)
    }
}
