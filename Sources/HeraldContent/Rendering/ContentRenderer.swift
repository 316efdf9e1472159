import HeraldCore
import Mustache
import Synchronization

/// Renders templates per channel and locale for many recipients.
///
/// Each (template, locale variant, channel) is compiled once, on first use, and kept; a render
/// is then a cache lookup and the Mustache render itself. Safe to use from many tasks at once.
///
/// ```swift
/// let renderer = ContentRenderer(templates: workspace.templates)
/// var variables = user.templateVariables
/// variables.merge(campaign.params) { _, param in param }
/// let rendered = try renderer.render(template: "restock", channel: .email, locale: user.locale, variables: variables)
/// ```
///
/// Escaping: an email's HTML body HTML-escapes `{{x}}` and not `{{{x}}}`; subjects, text bodies,
/// push and SMS fields escape nothing. Built-in variables (`BuiltInVariable.all`) are set by the
/// renderer and win over variables of the same name. Values: whole numbers print without `.0`,
/// lists as `a, b`, and an empty string counts as absent in a section (`{{#coupon}}`), as in
/// mustache.js. Templates are rendered by swift-mustache; a text of only literal text and plain
/// variables is joined directly, with the same output. An email without a text part gets one
/// derived from its rendered HTML (`HTMLText`).
public final class ContentRenderer: Sendable {
    private let templates: [String: Template]
    private let cache = Mutex(Cache())

    /// The most recipient locales remembered per renderer. Locales map to a handful of variants,
    /// but they come from user data, so the map from locale to variant is bounded; past the
    /// bound a locale is resolved on each render (correct, only slower).
    private static let localeCacheLimit = 4096

    /// - Parameter templates: by name, as `Workspace.templates`.
    public init(templates: [String: Template]) {
        self.templates = templates
    }

    /// Renders a template's content for one recipient.
    ///
    /// - Parameters:
    ///   - name: the template name (`templates/<name>.yml`).
    ///   - channel: which content to render.
    ///   - locale: the recipient's locale (`ko-KR`); the exact variant, then the language's, then
    ///     the base file, field by field (`Template.content(for:)`).
    ///   - variables: the user's fields and attributes, campaign params and request data, merged
    ///     by the caller (later sources win).
    ///   - unsubscribeURL: the value of `{{unsubscribe_url}}` (``UnsubscribeLinks/url(for:)``);
    ///     empty without `tracking:`.
    /// - Returns: the content, and the variables that were missing (rendered as empty).
    /// - Throws: `RenderError` when the template does not exist, has no content for the channel,
    ///   or a field of the channel is not valid Mustache (`herald validate` reports these first).
    public func render(
        template name: String,
        channel: Channel,
        locale: String?,
        variables: [String: TemplateValue],
        unsubscribeURL: String = ""
    ) throws(RenderError) -> RenderedNotification {
        let compiled = try compiledContent(template: name, channel: channel, locale: locale)
        return compiled.render(variables: variables, unsubscribeURL: unsubscribeURL)
    }

    // MARK: - Compilation cache

    private struct LocaleKey: Hashable {
        var template: String
        var locale: String
        var channel: Channel
    }

    private struct VariantKey: Hashable {
        var template: String
        /// The variant files laid over the base, in order (language, then exact locale).
        var variants: [String]
        var channel: Channel
    }

    private struct Cache {
        var byLocale: [LocaleKey: Result<CompiledContent, RenderError>] = [:]
        var byVariants: [VariantKey: Result<CompiledContent, RenderError>] = [:]
    }

    private func compiledContent(template name: String, channel: Channel, locale: String?) throws(RenderError) -> CompiledContent {
        let localeKey = LocaleKey(template: name, locale: locale ?? "", channel: channel)
        if let cached = cache.withLock({ $0.byLocale[localeKey] }) {
            return try cached.get()
        }
        guard let template = templates[name] else {
            throw RenderError.unknownTemplate(name, known: templates.keys.sorted())
        }
        let variants = Self.variantNames(of: template, for: locale)
        let variantKey = VariantKey(template: name, variants: variants, channel: channel)
        // Compiling outside the lock keeps other renders going; two tasks may compile the same
        // entry at once, and the first one stored is kept.
        let existing = cache.withLock { $0.byVariants[variantKey] }
        let result = existing ?? Result { () throws(RenderError) in
            try CompiledContent(template: template, variants: variants, channel: channel)
        }
        let stored = cache.withLock { cache in
            let stored = cache.byVariants[variantKey] ?? result
            cache.byVariants[variantKey] = stored
            if cache.byLocale.count < Self.localeCacheLimit {
                cache.byLocale[localeKey] = stored
            }
            return stored
        }
        return try stored.get()
    }

    /// The variant files `Template.content(for:)` lays over the base for a locale, in order, so
    /// that every locale that resolves to the same files shares one compiled entry.
    static func variantNames(of template: Template, for locale: String?) -> [String] {
        guard let locale, !locale.isEmpty else { return [] }
        func variant(named name: String) -> String? {
            if template.variants[name] != nil { return name }
            let lowercased = name.lowercased()
            return template.variants.keys.first { $0.lowercased() == lowercased }
        }
        var names: [String] = []
        let language = String(locale.split(separator: "-").first ?? Substring(locale))
        if language != locale, let name = variant(named: language) {
            names.append(name)
        }
        if let name = variant(named: locale) {
            names.append(name)
        }
        return names
    }
}

/// One channel's fields of a template for one set of locale variants, compiled.
final class CompiledContent: Sendable {
    private enum Fields {
        case push(title: CompiledText?, body: CompiledText?, data: [(key: String, text: CompiledText)])
        case sms(body: CompiledText)
        case email(subject: CompiledText, html: CompiledText?, text: CompiledText?)
    }

    private let fields: Fields
    /// The push url: the push's own url, and the value of `{{link}}` in every channel.
    private let url: CompiledText?

    init(template: Template, variants: [String], channel: Channel) throws(RenderError) {
        var content = template.base
        for name in variants {
            if let variant = template.variants[name] {
                content = content.overlaid(with: variant)
            }
        }
        guard content.supports(channel) else {
            throw RenderError.missingChannel(channel, template: template.name)
        }
        var errors: [Diagnostic] = []
        var compiled: [String: CompiledText] = [:]
        for field in content.fields(for: channel) {
            do {
                compiled[field.name] = try CompiledText(field.text, field: field.name, escaping: field.escaping)
            } catch {
                errors.append(error)
            }
        }
        var url = compiled["push.url"]
        if channel != .push, compiled.values.contains(where: \.usesLink), let field = content.linkField {
            do {
                url = try CompiledText(field.text, field: field.name, escaping: field.escaping)
            } catch {
                errors.append(error)
            }
        }
        guard errors.isEmpty else {
            throw RenderError.invalidTemplate(template.name, diagnostics: errors)
        }
        switch channel {
        case .push:
            let data = compiled.filter { $0.key.hasPrefix("push.data.") }
                .map { (key: String($0.key.dropFirst("push.data.".count)), text: $0.value) }
                .sorted { $0.key < $1.key }
            fields = .push(title: compiled["push.title"], body: compiled["push.body"], data: data)
        case .sms:
            guard let body = compiled["sms.body"] else { throw RenderError.missingChannel(channel, template: template.name) }
            fields = .sms(body: body)
        case .email:
            guard let subject = compiled["email.subject"] else { throw RenderError.missingChannel(channel, template: template.name) }
            fields = .email(subject: subject, html: compiled["email.html"], text: compiled["email.text"])
        }
        self.url = url
    }

    func render(variables: [String: TemplateValue], unsubscribeURL: String) -> RenderedNotification {
        var scope = RenderScope(variables: variables, link: "", unsubscribeURL: unsubscribeURL)
        var missing: [String] = []
        func run(_ text: CompiledText) -> String {
            for name in text.missingNames(in: scope) where !missing.contains(name) {
                missing.append(name)
            }
            return text.render(scope)
        }
        let renderedURL = url.map(run)
        scope.link = renderedURL ?? ""
        let content: NotificationContent
        switch fields {
        case .push(let title, let body, let data):
            var renderedData: [String: String] = [:]
            for entry in data {
                renderedData[entry.key] = run(entry.text)
            }
            content = .push(
                PushContent(
                    title: title.map(run),
                    body: body.map(run) ?? "",
                    url: renderedURL.flatMap { $0.isEmpty ? nil : $0 },
                    data: renderedData
                )
            )
        case .sms(let body):
            content = .sms(SMSContent(body: run(body)))
        case .email(let subject, let html, let text):
            let renderedHTML = html.map(run)
            let renderedText = text.map(run) ?? renderedHTML.map(HTMLText.plainText(fromHTML:)) ?? ""
            content = .email(EmailContent(subject: run(subject), html: renderedHTML, text: renderedText))
        }
        return RenderedNotification(content: content, missingVariables: missing)
    }
}
