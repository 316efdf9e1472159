/// One campaign file, `campaigns/<id>.yml`, parsed and checked for shape.
public struct Campaign: Sendable, Hashable {
    /// The category that bypasses frequency caps and quiet hours (never a channel opt-out).
    public static let transactionalCategory = "transactional"
    public static let marketingCategory = "marketing"

    /// `[a-z0-9-]+`, equal to the file name.
    public var id: String
    public var description: String?
    /// `marketing` (the default), `transactional`, or any topic a user can opt out of.
    public var category: String
    public var audience: Audience
    /// In order of preference.
    public var channels: [Channel]
    public var delivery: DeliveryMode
    /// The template name: `templates/<template>.yml`.
    public var template: String
    /// Campaign-wide template parameters: the values for every recipient, unless
    /// `localeParams` gives one for the recipient's locale.
    public var params: [String: TemplateValue]
    /// `locale_params:`: values of some params for the recipients of one locale, by locale tag as
    /// written (`ko`, `ko-KR`). Every key is also in `params`. See `params(for:)`.
    public var localeParams: [String: [String: TemplateValue]]
    public var schedule: Schedule
    /// This campaign's own caps, on top of the global ones.
    public var frequencyCaps: [FrequencyCap]
    /// Overrides the global quiet hours when set.
    public var quietHours: QuietHours?
    public var throttle: RateLiteral?
    /// Not sent after this long past its due time: `skipped(expired)`.
    public var expiresAfter: DurationLiteral?
    /// The campaign file, relative to the workspace root.
    public var file: String
    /// A hash of the file's bytes, kept with each occurrence so that an edit changes only later
    /// occurrences.
    public var definitionHash: String
    /// The campaign file's text, kept with each scheduled occurrence so that one resumed after an
    /// edit is finished as it started; nil for a campaign not read from a file.
    public var definitionText: String?
    /// Content an API send gave as is, sent in place of `template`'s; nil for every campaign file.
    public var rawContent: RawContent?
    /// Variants, holdout and conversion event; empty for a campaign that tests nothing.
    public var experiment: Experiment

    public init(
        id: String,
        description: String? = nil,
        category: String = Campaign.marketingCategory,
        audience: Audience = .everyone,
        channels: [Channel],
        delivery: DeliveryMode = .firstAvailable,
        template: String,
        params: [String: TemplateValue] = [:],
        localeParams: [String: [String: TemplateValue]] = [:],
        schedule: Schedule,
        frequencyCaps: [FrequencyCap] = [],
        quietHours: QuietHours? = nil,
        throttle: RateLiteral? = nil,
        expiresAfter: DurationLiteral? = nil,
        file: String,
        definitionHash: String = "",
        rawContent: RawContent? = nil,
        experiment: Experiment = Experiment()
    ) {
        self.id = id
        self.description = description
        self.category = category
        self.audience = audience
        self.channels = channels
        self.delivery = delivery
        self.template = template
        self.params = params
        self.localeParams = localeParams
        self.schedule = schedule
        self.frequencyCaps = frequencyCaps
        self.quietHours = quietHours
        self.throttle = throttle
        self.expiresAfter = expiresAfter
        self.file = file
        self.definitionHash = definitionHash
        self.rawContent = rawContent
        self.experiment = experiment
    }

    public var isTransactional: Bool { category == Campaign.transactionalCategory }

    /// The params for a recipient's locale, by the same lookup as template variants
    /// (`LocaleFallback`), param by param: the exact locale's value, then its language's, then the
    /// campaign-wide one.
    ///
    /// ```yaml
    /// params: {discount: 30%, headline: Winter sale}
    /// locale_params:
    ///   ko: {headline: 겨울 세일}
    /// ```
    /// gives `{discount: 30%, headline: 겨울 세일}` for `ko-KR`, and the campaign-wide params for
    /// `en-US` or no locale.
    public func params(for locale: String?) -> [String: TemplateValue] {
        let keys = LocaleFallback.keys(for: locale, in: localeParams.keys)
        guard !keys.isEmpty else { return params }
        var result = params
        for key in keys {
            guard let overrides = localeParams[key] else { continue }
            result.merge(overrides) { _, override in override }
        }
        return result
    }

    /// Which `locale_params` entry gives a param its value for a locale: the locale tag as
    /// written, or nil when the campaign-wide value applies.
    public func paramSource(of name: String, for locale: String?) -> String? {
        LocaleFallback.keys(for: locale, in: localeParams.keys).last { localeParams[$0]?[name] != nil }
    }
}

/// Who a campaign is for.
public enum Audience: Sendable, Hashable {
    /// No `audience:` given: every user.
    case everyone
    /// `audience: {where: …}`: an expression in the rules language.
    case rule(RuleSource)
    /// `audience: {segment: name}`: the rule of `segments/<name>.yml`.
    case segment(name: String, location: SourceLocation)
}

/// The text of a rules-language expression and where it starts in its file, so that an error
/// inside the expression is reported at its file position.
public struct RuleSource: Sendable, Hashable {
    public var text: String
    /// The position of the expression's first character in the file.
    public var location: SourceLocation

    public init(text: String, location: SourceLocation) {
        self.text = text
        self.location = location
    }
}

/// A named, reusable audience rule: `segments/<name>.yml`.
public struct Segment: Sendable, Hashable {
    public var name: String
    public var rule: RuleSource
    public var file: String

    public init(name: String, rule: RuleSource, file: String) {
        self.name = name
        self.rule = rule
        self.file = file
    }
}

/// How a campaign with several channels reaches a user.
public enum DeliveryMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The first listed channel the user can receive; the others are `skipped(not_needed)`.
    case firstAvailable = "first_available"
    /// Every listed channel the user can receive.
    case all
}

extension Campaign {
    /// Sets parameters given for one send (`send --param`): each is typed as campaign params
    /// are, and wins over the campaign's own value in every locale.
    public mutating func override(params: [String: String]) {
        for (name, text) in params {
            self.params[name] = TemplateValue(commandLine: text)
            for locale in localeParams.keys { localeParams[locale]?[name] = nil }
        }
    }
}

/// The raw form of an API send (`"subject"`, `"content": [{"type": "text/plain", "value": …}]`,
/// `"from"`): text sent exactly as given, without a template and with nothing substituted.
///
/// Email takes the subject with the HTML and/or plain text (the text derived from the HTML
/// when absent) and the sender when given; SMS takes the plain text; push the plain text as its
/// body and the subject as its title.
public struct RawContent: Sendable, Hashable {
    public var subject: String?
    public var text: String?
    public var html: String?
    public var fromEmail: String?
    public var fromName: String?

    public init(subject: String? = nil, text: String? = nil, html: String? = nil, fromEmail: String? = nil, fromName: String? = nil) {
        self.subject = subject
        self.text = text
        self.html = html
        self.fromEmail = fromEmail
        self.fromName = fromName
    }

    /// Whether the content can be sent on `channel`.
    public func offers(_ channel: Channel) -> Bool {
        switch channel {
        case .email: subject != nil && (text != nil || html != nil)
        case .sms, .push: text != nil
        }
    }
}
