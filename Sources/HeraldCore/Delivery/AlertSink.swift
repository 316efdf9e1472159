/// Where alerts go besides the log: a webhook (`WebhookAlertSink` in HeraldProviders) or, in
/// tests, a list.
///
/// A sink may fail (the receiver is down, the URL was revoked); it throws, and its caller decides
/// what that means. The engine's `AlertDispatcher` logs the failure and carries on: an alert that
/// cannot be posted never stops or slows delivery beyond the sink's own timeout.
public protocol AlertSink: Sendable {
    /// Posts one alert or recovery.
    ///
    /// - Throws: when the alert was not accepted; the error's description names why, without the
    ///   destination's URL (it may be a secret).
    func post(_ action: AlertAction) async throws
}
