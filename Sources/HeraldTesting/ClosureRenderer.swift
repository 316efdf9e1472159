import HeraldContent
import HeraldCore
import HeraldEngine

/// A renderer backed by a closure, for planner tests that are not about templates.
public struct ClosureRenderer: NotificationRendering {
    let body: @Sendable (Campaign, Channel, User) throws -> NotificationContent

    public init(_ body: @escaping @Sendable (Campaign, Channel, User) throws -> NotificationContent) {
        self.body = body
    }

    /// Renders `"<campaign> for <user>"` in every channel's shape.
    public static let simple = ClosureRenderer { campaign, channel, user in
        let text = "\(campaign.id) for \(user.id)"
        switch channel {
        case .push: return .push(PushContent(title: campaign.id, body: text))
        case .sms: return .sms(SMSContent(body: text))
        case .email: return .email(EmailContent(subject: campaign.id, html: "<p>\(text)</p>", text: text))
        }
    }

    public func render(_ campaign: Campaign, channel: Channel, for user: User, unsubscribeURL: String) throws -> RenderedNotification {
        RenderedNotification(content: try body(campaign, channel, user), missingVariables: [])
    }
}
