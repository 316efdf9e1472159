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
    /// The events received for the users the rule is evaluated for in memory, by user id and
    /// event name (`performed()`, `count()`); SQL reads them from the store instead. A user
    /// missing here has received none.
    public var events: [String: [String: [Date]]]

    /// A context; `defaultTimezone` defaults to UTC.
    public init(now: Date, campaignID: String, defaultTimezone: String = "UTC", events: [String: [String: [Date]]] = [:]) {
        self.now = now
        self.campaignID = campaignID
        self.defaultTimezone = defaultTimezone
        self.events = events
    }

    /// Adds `userID`'s received events, as the store lists them.
    public mutating func add(_ received: [(name: String, at: Date)], for userID: String) {
        for event in received { events[userID, default: [:]][event.name, default: []].append(event.at) }
    }

    /// How many `event`s `userID` received up to now, within `within` seconds when given.
    func received(_ event: String, by userID: String, within: Double?) -> Int {
        guard let instants = events[userID]?[event] else { return 0 }
        let earliest = within.map { now.addingTimeInterval(-$0) }
        return instants.filter { instant in instant <= now && (earliest.map { instant > $0 } ?? true) }.count
    }
}
