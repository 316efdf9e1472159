import HeraldCore
import Logging

/// Carries out ``AlertMonitor``'s actions: logs each one (an error when an incident fires, a
/// notice when it resolves) and posts it through a sink, such as a webhook.
///
/// Posting never throws and never stops at a failure: a sink that fails is logged as an error,
/// and the next action is still posted, so that the receiver being down costs at most the sink's
/// own timeout per action. Actions are posted one after another, in order, so that a recovery
/// never arrives before its alert. Run it beside the delivery workers rather than inside a send:
/// a slow receiver then delays only the alerts.
///
/// ```swift
/// let alerting = AlertDispatcher(sink: WebhookAlertSink(configuration: .init(url: alerts.webhook), http: http), logger: logger)
/// await alerting.dispatch(monitor.check(snapshot, now: clock.now))
/// ```
public struct AlertDispatcher: Sendable {
    /// Where alerts are posted; `nil` to log them only.
    public let sink: (any AlertSink)?
    public let logger: Logger

    public init(sink: (any AlertSink)?, logger: Logger) {
        self.sink = sink
        self.logger = logger
    }

    /// Logs and posts each action in order.
    ///
    /// - Returns: how many actions the sink accepted (0 without a sink).
    @discardableResult
    public func dispatch(_ actions: [AlertAction]) async -> Int {
        var posted = 0
        for action in actions {
            let metadata = Self.metadata(action.alert)
            switch action {
            case .fire:
                logger.error("alert fired", metadata: metadata)
            case .resolve:
                logger.notice("alert resolved", metadata: metadata)
            }
            guard let sink else { continue }
            do {
                try await sink.post(action)
                posted += 1
            } catch {
                var failed = metadata
                failed["alert.event"] = "\(action.event)"
                failed["error.message"] = "\(error)"
                logger.error("alert not posted", metadata: failed)
            }
        }
        return posted
    }

    static func metadata(_ alert: Alert) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "alert.kind": "\(alert.kind.rawValue)",
            "alert.channel": "\(alert.channel.rawValue)",
            "alert.severity": "\(alert.severity.rawValue)",
            "alert.message": "\(alert.message)",
        ]
        if let provider = alert.provider { metadata["provider.name"] = "\(provider)" }
        return metadata
    }
}
