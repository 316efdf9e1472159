import HeraldCore

/// The content of one notification for one recipient, and the variables it lacked.
public struct RenderedNotification: Sendable, Hashable {
    /// What is stored with the notification and handed to the transport.
    public var content: NotificationContent
    /// The variables the template used that the recipient had no value for, in order of first
    /// use (dotted names as written: `order.id`). Each rendered as empty; the caller records a
    /// warning event. Names used only inside sections and section names themselves are not
    /// checked: an absent section value is how a template says "only when present".
    public var missingVariables: [String]

    /// A rendered notification; `missingVariables` as the renderer reports them.
    public init(content: NotificationContent, missingVariables: [String] = []) {
        self.content = content
        self.missingVariables = missingVariables
    }
}
