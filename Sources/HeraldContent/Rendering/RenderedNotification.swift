import HeraldCore

/// The content of one notification for one recipient, the template file it came from, and the
/// variables it lacked.
public struct RenderedNotification: Sendable, Hashable {
    /// What is stored with the notification and handed to the transport; its `variant` says
    /// which template file the text came from.
    public var content: NotificationContent
    /// The variables the template used that the recipient had no value for, in order of first
    /// use (dotted names as written: `order.id`). Each rendered as empty; the caller records a
    /// warning event. Names used only inside sections and section names themselves are not
    /// checked: an absent section value is how a template says "only when present".
    public var missingVariables: [String]
    /// The locale values were formatted in (`ko-KR`, or the base file's `en` for a recipient who
    /// got the base text in another language); nil when not rendered from a template.
    public var formattingLocale: String?

    /// A rendered notification; `missingVariables` as the renderer reports them.
    public init(content: NotificationContent, missingVariables: [String] = [], formattingLocale: String? = nil) {
        self.content = content
        self.missingVariables = missingVariables
        self.formattingLocale = formattingLocale
    }

    /// The template file the text came from: `ko` for `templates/<name>.ko.yml`, or the base file.
    ///
    /// A preview or report says "ko variant" when it is not the base, and "base fallback for
    /// ko-KR" when the recipient had a locale the template has no variant for.
    public var variant: TemplateVariant { content.variant ?? .base }
}
