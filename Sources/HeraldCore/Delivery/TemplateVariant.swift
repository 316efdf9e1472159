/// Which file of a template a notification's text came from: the base file, or the locale
/// variant (`templates/winter-sale.ko.yml`) chosen for the recipient.
///
/// It is the most specific file that gave the channel at least one field; a `ko-KR` file that
/// only overrides the SMS leaves a push on `ko` (or the base). Stored with the content as one
/// string, `"ko"` or `"base"` (`base` is not a well-formed locale tag, so the two cannot be
/// confused), so that reports and previews can say "ko variant" or "base fallback for ko-KR".
public struct TemplateVariant: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The variant file's locale as written in its name (`ko`, `pt-BR`); nil for the base file.
    public var locale: String?

    /// A variant file's locale, or nil for the base.
    public init(locale: String?) {
        self.locale = locale
    }

    /// The base file, `templates/<name>.yml`.
    public static let base = TemplateVariant(locale: nil)

    /// Whether the text came from the base file.
    public var isBase: Bool { locale == nil }

    /// The stored form of the base file.
    static let baseName = "base"

    /// `ko`, or `base`.
    public var description: String { locale ?? Self.baseName }

    /// How a preview, the demo or a report names the file a recipient's text came from:
    /// `ko variant`; `base (en)` for a recipient who reads the base file's language (or has no
    /// locale); `base (en) fallback for ko-KR` when the template has no file for the recipient's
    /// language.
    ///
    /// - Parameters:
    ///   - recipientLocale: the recipient's locale (`User.locale`).
    ///   - baseLocale: the language of the base file (`Template.baseLocale`), when known.
    public func label(for recipientLocale: String?, baseLocale: String? = nil) -> String {
        if let locale { return "\(locale) variant" }
        let base = baseLocale.map { "base (\($0))" } ?? Self.baseName
        guard let recipientLocale, !recipientLocale.isEmpty else { return base }
        if let baseLocale, LocaleFallback.language(of: recipientLocale).lowercased() == LocaleFallback.language(of: baseLocale).lowercased() {
            return base
        }
        return "\(base) fallback for \(recipientLocale)"
    }

    /// Reads the stored form: `base`, or a locale.
    public init(stored: String) {
        self.locale = stored == Self.baseName ? nil : stored
    }

    public init(from decoder: any Decoder) throws {
        self.init(stored: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
