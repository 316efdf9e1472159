import Foundation

/// What a rule needs besides the user: the time of evaluation, the campaign (for `bucket`) and
/// the zone of recipients without a valid one (for `today()`).
public struct RuleContext: Sendable {
    /// The instant `now()` returns; the planner passes the occurrence's fire time so that a
    /// campaign's audience does not drift while it is planned.
    public var now: Date
    /// Seeds `bucket(n)`, so that each campaign splits users independently.
    public var campaignID: String
    /// herald.yml's `default_timezone`; UTC when it is not a known IANA zone either.
    public var defaultTimezone: String

    /// A context; `defaultTimezone` defaults to UTC.
    public init(now: Date, campaignID: String, defaultTimezone: String = "UTC") {
        self.now = now
        self.campaignID = campaignID
        self.defaultTimezone = defaultTimezone
    }
}
