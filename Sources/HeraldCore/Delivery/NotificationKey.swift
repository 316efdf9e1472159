/// What identifies a notification before it has a row id: the occurrence, the user, the channel
/// and, for push, the device. Unique in the store (`PlannedNotification.device`), so it can be
/// signed into a link that the planner renders and a server later resolves.
public struct NotificationKey: Sendable, Hashable {
    public var occurrenceID: Int64
    public var userID: String
    public var channel: Channel
    /// The push device's address; empty for email and SMS.
    public var device: String

    public init(occurrenceID: Int64, userID: String, channel: Channel, device: String = "") {
        self.occurrenceID = occurrenceID
        self.userID = userID
        self.channel = channel
        self.device = device
    }
}

extension PlannedNotification {
    /// The notification's structural key.
    public var key: NotificationKey {
        NotificationKey(occurrenceID: occurrenceID, userID: userID, channel: channel, device: device)
    }
}
