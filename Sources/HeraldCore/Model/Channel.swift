/// A way of reaching a person. Each channel has its own outbox queue and dispatcher.
public enum Channel: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case push
    case sms
    case email

    public static func < (lhs: Channel, rhs: Channel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The platform of a push device; it decides which provider carries the push.
public enum DevicePlatform: String, Sendable, Hashable, Codable, CaseIterable {
    case ios
    case android
    case web
}
