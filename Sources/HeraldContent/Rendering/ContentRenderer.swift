import Foundation
import HeraldCore
import Mustache
import Synchronization

/// Renders templates per channel and locale for many recipients.
///
/// Each (template, locale variant, channel) is compiled once, on first use, and kept; a render
/// is then a cache lookup and the Mustache render itself. Formatters for each (locale, zone) are
/// made once and kept too. Safe to use from many tasks at once.
///
/// ```swift
/// let renderer = ContentRenderer(templates: workspace.templates)
/// var variables = user.templateVariables
/// variables.merge(campaign.params(for: user.locale)) { _, param in param }
/// let rendered = try renderer.render(
///     template: "restock", channel: .email, locale: user.locale, timeZone: user.timezone, variables: variables
/// )
/// rendered.variant // `ko` for a ko-KR recipient when templates/restock.ko.yml has an email
/// ```
///
/// Escaping: an email's HTML body HTML-escapes `{{x}}` and not `{{{x}}}`; subjects, text bodies,
/// push and SMS fields escape nothing. Built-in variables (`BuiltInVariable.all`) are set by the
/// renderer and win over variables of the same name. Values: whole numbers print without `.0`,
/// lists as `a, b`, dates and instants in ISO 8601 (`2026-12-07`), money as currency in the
/// recipient's locale, and an empty string counts as absent in a section (`{{#coupon}}`), as in
/// mustache.js. The formatting helpers (`FormattingHelper.all`: `{{date(ends_on)}}`,
/// `{{currency(price)}}`…) show values in the language of the text and the recipient's zone.
/// Templates are rendered by swift-mustache; a text of only literal text and plain variables is
/// joined directly, with the same output. An email without a text part gets one derived from
/// its rendered HTML (`HTMLText`).
public final class ContentRenderer: Sendable {
    /// How the renderer formats values for recipients who lack a setting.
    public struct Configuration: Sendable {
        /// The zone instants are shown in for a recipient without a valid IANA zone: herald.yml's
        /// `default_timezone`. Default `UTC`.
        public var defaultTimeZone: String

        /// - Parameter defaultTimeZone: default `UTC`.
        public init(defaultTimeZone: String = "UTC") {
            self.defaultTimeZone = defaultTimeZone
        }
    }

    private let templates: [String: Template]
    private let defaultTimeZone: TimeZone
    private let cache = Mutex(Cache())

    /// The most recipient locales remembered per renderer. Locales map to a handful of variants,
    /// but they come from user data, so the map from locale to variant is bounded; past the
    /// bound a locale is resolved on each render (correct, only slower). The same bound applies
    /// to formatters per (locale, zone).
    private static let localeCacheLimit = 4096

    /// - Parameters:
    ///   - templates: by name, as `Workspace.templates`.
    ///   - configuration: the defaults for recipients without a zone.
    public init(templates: [String: Template], configuration: Configuration = Configuration()) {
        self.templates = templates
        self.defaultTimeZone = TimeZone(identifier: configuration.defaultTimeZone) ?? TimeZone(identifier: "UTC")!
    }

    /// Renders a template's content for one recipient.
    ///
    /// - Parameters:
    ///   - name: the template name (`templates/<name>.yml`).
    ///   - channel: which content to render.
    ///   - locale: the recipient's locale (`ko-KR`); the exact variant, then the language's, then
    ///     the base file, field by field (`Template.content(for:)`). Values are formatted in it
    ///     when the text is in its language (see `FormattingHelper`).
    ///   - timeZone: the recipient's IANA zone, for instants; the configuration's default when
    ///     nil or unknown.
    ///   - variables: the user's fields and attributes, campaign params and request data, merged
    ///     by the caller (later sources win).
    ///   - unsubscribeURL: the value of `{{unsubscribe_url}}` (``UnsubscribeLinks/url(for:)``);
    ///     empty without `tracking:`.
    /// - Returns: the content, the variant it came from, and the variables that were missing
    ///   (rendered as empty).
    /// - Throws: `RenderError` when the template does not exist, has no content for the channel,
    ///   or a field of the channel is not valid Mustache (`herald validate` reports these first).
    public func render(
        template name: String,
        channel: Channel,
        locale: String?,
        timeZone: String? = nil,
        variables: [String: TemplateValue],
        unsubscribeURL: String = ""
    ) throws(RenderError) -> RenderedNotification {
        let (compiled, formatter) = try prepare(template: name, channel: channel, locale: locale, timeZone: timeZone)
        return compiled.render(variables: variables, unsubscribeURL: unsubscribeURL, formatter: formatter)
    }

    // MARK: - Caches

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

    private struct FormatterKey: Hashable {
        var locale: String
        var timeZone: String
    }

    /// What a recipient locale resolves to for one template and channel.
    private struct Resolved {
        var content: Result<CompiledContent, RenderError>
        /// The locale values are formatted in for this recipient locale.
        var formattingLocale: String
    }

    private struct Cache {
        var byLocale: [LocaleKey: Resolved] = [:]
        var byVariants: [VariantKey: Result<CompiledContent, RenderError>] = [:]
        var formatters: [FormatterKey: LocaleFormatter] = [:]
    }

    private func prepare(template name: String, channel: Channel, locale: String?, timeZone: String?) throws(RenderError) -> (CompiledContent, LocaleFormatter) {
        let localeKey = LocaleKey(template: name, locale: locale ?? "", channel: channel)
        let zone = timeZone ?? ""
        // One lock for the common case: both the content and the formatter are known.
        let cached = cache.withLock { cache -> (Resolved, LocaleFormatter?)? in
            guard let resolved = cache.byLocale[localeKey] else { return nil }
            return (resolved, cache.formatters[FormatterKey(locale: resolved.formattingLocale, timeZone: zone)])
        }
        let resolved: Resolved
        if let cached {
            resolved = cached.0
            if let formatter = cached.1 { return (try resolved.content.get(), formatter) }
        } else {
            resolved = try resolve(template: name, channel: channel, locale: locale, key: localeKey)
        }
        let content = try resolved.content.get()
        return (content, formatter(locale: resolved.formattingLocale, timeZone: zone))
    }

    private func resolve(template name: String, channel: Channel, locale: String?, key localeKey: LocaleKey) throws(RenderError) -> Resolved {
        guard let template = templates[name] else {
            throw RenderError.unknownTemplate(name, known: templates.keys.sorted())
        }
        let variants = template.variantNames(for: locale)
        let variantKey = VariantKey(template: name, variants: variants, channel: channel)
        // Compiling outside the lock keeps other renders going; two tasks may compile the same
        // entry at once, and the first one stored is kept.
        let existing = cache.withLock { $0.byVariants[variantKey] }
        let result = existing ?? Result { () throws(RenderError) in
            try CompiledContent(template: template, variants: variants, channel: channel)
        }
        let formattingLocale = (try? result.get()).map { Self.formattingLocale(for: locale, variant: $0.variant, of: template) }
            ?? template.baseLocale
        return cache.withLock { cache in
            let stored = cache.byVariants[variantKey] ?? result
            cache.byVariants[variantKey] = stored
            let resolved = Resolved(content: stored, formattingLocale: formattingLocale)
            if cache.byLocale.count < Self.localeCacheLimit {
                cache.byLocale[localeKey] = resolved
            }
            return resolved
        }
    }

    private func formatter(locale: String, timeZone: String) -> LocaleFormatter {
        let key = FormatterKey(locale: locale, timeZone: timeZone)
        if let formatter = cache.withLock({ $0.formatters[key] }) { return formatter }
        let zone = timeZone.isEmpty ? defaultTimeZone : TimeZone(identifier: timeZone) ?? defaultTimeZone
        let made = LocaleFormatter(locale: locale, timeZone: zone)
        return cache.withLock { cache in
            if let existing = cache.formatters[key] { return existing }
            if cache.formatters.count < Self.localeCacheLimit {
                cache.formatters[key] = made
            }
            return made
        }
    }

    /// The locale values are formatted in: the recipient's when the text is in their language
    /// (a variant was chosen for their locale, or the base file is in their language), else the
    /// base file's, so that an English fallback shows `December 7` to a Korean reader.
    static func formattingLocale(for locale: String?, variant: TemplateVariant, of template: Template) -> String {
        guard let locale, !locale.isEmpty else { return template.baseLocale }
        if !variant.isBase { return locale }
        let language = LocaleFallback.language(of: locale).lowercased()
        return language == LocaleFallback.language(of: template.baseLocale).lowercased() ? locale : template.baseLocale
    }
}

/// A push template's settings besides its text: the templated ones compiled, the rest as written.
struct PushOptions: Sendable {
    var sound: CompiledText?
    var category: CompiledText?
    var threadID: CompiledText?
    var image: CompiledText?
    var collapseKey: CompiledText?
    var badge: Int?
    var ttl: Int?
    var priority: PushPriority?
    var silent: Bool?
}

/// One channel's fields of a template for one set of locale variants, compiled.
final class CompiledContent: Sendable {
    private enum Fields {
        case push(title: CompiledText?, body: CompiledText?, data: [(key: String, text: CompiledText)], options: PushOptions)
        case sms(body: CompiledText)
        case email(subject: CompiledText, html: CompiledText?, text: CompiledText?)
    }

    private let fields: Fields
    /// The push url: the push's own url, and the value of `{{link}}` in every channel.
    private let url: CompiledText?
    /// The most specific file that gave this channel a field.
    let variant: TemplateVariant

    init(template: Template, variants: [String], channel: Channel) throws(RenderError) {
        var content = template.base
        var variant = TemplateVariant.base
        for name in variants {
            if let file = template.variants[name] {
                content = content.overlaid(with: file)
                if !file.fields(for: channel).isEmpty { variant = TemplateVariant(locale: name) }
            }
        }
        self.variant = variant
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
            let push = content.push
            fields = .push(title: compiled["push.title"], body: compiled["push.body"], data: data, options: PushOptions(
                sound: compiled["push.sound"], category: compiled["push.category"], threadID: compiled["push.thread_id"],
                image: compiled["push.image"], collapseKey: compiled["push.collapse_key"],
                badge: push?.badge, ttl: push?.ttl, priority: push?.priority, silent: push?.silent
            ))
        case .sms:
            guard let body = compiled["sms.body"] else { throw RenderError.missingChannel(channel, template: template.name) }
            fields = .sms(body: body)
        case .email:
            guard let subject = compiled["email.subject"] else { throw RenderError.missingChannel(channel, template: template.name) }
            fields = .email(subject: subject, html: compiled["email.html"], text: compiled["email.text"])
        }
        self.url = url
    }

    func render(variables: [String: TemplateValue], unsubscribeURL: String, formatter: LocaleFormatter) -> RenderedNotification {
        var scope = RenderScope(variables: variables, link: "", unsubscribeURL: unsubscribeURL, formatter: formatter)
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
        case .push(let title, let body, let data, let options):
            var renderedData: [String: String] = [:]
            for entry in data {
                renderedData[entry.key] = run(entry.text)
            }
            // A templated option that renders empty is absent, not an empty string to the provider.
            func option(_ text: CompiledText?) -> String? {
                text.map(run).flatMap { $0.isEmpty ? nil : $0 }
            }
            content = .push(
                PushContent(
                    title: title.map(run),
                    body: body.map(run) ?? "",
                    url: renderedURL.flatMap { $0.isEmpty ? nil : $0 },
                    data: renderedData,
                    variant: variant,
                    badge: options.badge, sound: option(options.sound), category: option(options.category),
                    threadID: option(options.threadID), image: option(options.image), ttl: options.ttl,
                    collapseKey: option(options.collapseKey), priority: options.priority, silent: options.silent
                )
            )
        case .sms(let body):
            content = .sms(SMSContent(body: run(body), variant: variant))
        case .email(let subject, let html, let text):
            let renderedHTML = html.map(run)
            let renderedText = text.map(run) ?? renderedHTML.map(HTMLText.plainText(fromHTML:)) ?? ""
            content = .email(EmailContent(subject: run(subject), html: renderedHTML, text: renderedText, variant: variant))
        }
        return RenderedNotification(content: content, missingVariables: missing, formattingLocale: formatter.localeIdentifier)
    }
}
