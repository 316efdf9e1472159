import HeraldContent
import HeraldCore

/// Renders a campaign's content for one recipient on one channel.
///
/// The planner depends on this protocol rather than on a template engine, so that its decisions
/// are unit-tested with a plain closure-backed renderer.
public protocol NotificationRendering: Sendable {
    /// - Throws: when the content cannot be rendered for this recipient; the planner records
    ///   `skipped(render_failed)` with the error's description.
    /// - Returns: the content and the variables that were missing (rendered as empty), which the
    ///   planner records as a `render_warning` event.
    /// - Parameter unsubscribeURL: the value of `{{unsubscribe_url}}` for this recipient and
    ///   channel; empty without `tracking:`.
    func render(_ campaign: Campaign, channel: Channel, for user: User, unsubscribeURL: String) throws -> RenderedNotification
}

/// Renders with the campaign's template: the user's fields and attributes, with the campaign's
/// params for the user's locale laid over them (`Campaign.params(for:)`), formatted in the
/// user's locale and time zone.
public struct TemplateRenderer: NotificationRendering {
    let renderer: ContentRenderer

    /// - Parameters:
    ///   - templates: by name, as `Workspace.templates`.
    ///   - defaultTimezone: the zone for users without a valid one: herald.yml's
    ///     `default_timezone` (`Workspace.configuration.defaultTimezone`). Default `UTC`.
    public init(templates: [String: Template], defaultTimezone: String = "UTC") {
        renderer = ContentRenderer(templates: templates, configuration: ContentRenderer.Configuration(defaultTimeZone: defaultTimezone))
    }

    /// Renders with the workspace's templates and default time zone.
    public init(workspace: Workspace) {
        self.init(templates: workspace.templates, defaultTimezone: workspace.configuration.defaultTimezone)
    }

    public func render(_ campaign: Campaign, channel: Channel, for user: User, unsubscribeURL: String) throws -> RenderedNotification {
        if let raw = campaign.rawContent { return try Self.render(raw, channel: channel) }
        var variables = user.templateVariables
        // `campaign.params(for:)`, merged straight into the variables: no dictionary in between.
        variables.merge(campaign.params) { _, param in param }
        for key in LocaleFallback.keys(for: user.locale, in: campaign.localeParams.keys) {
            if let overrides = campaign.localeParams[key] {
                variables.merge(overrides) { _, param in param }
            }
        }
        return try renderer.render(
            template: campaign.template, channel: channel, locale: user.locale, timeZone: user.timezone, variables: variables,
            unsubscribeURL: unsubscribeURL
        )
    }
}

extension TemplateRenderer {
    /// An API send's raw content on `channel`, exactly as given.
    ///
    /// - Throws: `RawContentError` when the content lacks what the channel needs (the API
    ///   refuses such a request before planning).
    static func render(_ raw: RawContent, channel: Channel) throws -> RenderedNotification {
        switch channel {
        case .email:
            guard let subject = raw.subject, raw.text != nil || raw.html != nil else { throw RawContentError(channel: channel) }
            let text = raw.text ?? HTMLText.plainText(fromHTML: raw.html ?? "")
            return RenderedNotification(content: .email(EmailContent(
                subject: subject, html: raw.html, text: text, fromEmail: raw.fromEmail, fromName: raw.fromName
            )))
        case .sms:
            guard let text = raw.text else { throw RawContentError(channel: channel) }
            return RenderedNotification(content: .sms(SMSContent(body: text)))
        case .push:
            guard let text = raw.text else { throw RawContentError(channel: channel) }
            return RenderedNotification(content: .push(PushContent(title: raw.subject, body: text)))
        }
    }
}

/// Raw content that lacks what a channel needs.
struct RawContentError: Error, CustomStringConvertible {
    var channel: Channel
    var description: String {
        channel == .email ? "the raw content has no subject, or neither text/plain nor text/html" : "the raw content has no text/plain value"
    }
}

extension NotificationRendering {
    /// Renders with an empty `{{unsubscribe_url}}`.
    public func render(_ campaign: Campaign, channel: Channel, for user: User) throws -> RenderedNotification {
        try render(campaign, channel: channel, for: user, unsubscribeURL: "")
    }
}
