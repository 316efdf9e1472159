import HeraldCore

/// Renders a campaign's content for one recipient on one channel.
///
/// The planner depends on this protocol rather than on a template engine, so that its decisions
/// are unit-tested with a plain closure-backed renderer.
public protocol NotificationRendering: Sendable {
    /// - Throws: when the content cannot be rendered for this recipient; the planner records
    ///   `skipped(render_failed)` with the error's description.
    func render(_ campaign: Campaign, channel: Channel, for user: User) throws -> NotificationContent
}
