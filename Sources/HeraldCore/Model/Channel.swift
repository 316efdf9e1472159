/// A way of reaching a person. Each channel has its own outbox queue and dispatcher.
public enum Channel: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case push
    case sms
    case email

    public static func < (lhs: Channel, rhs: Channel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The platform of a push device.
public enum DevicePlatform: String, Sendable, Hashable, Codable, CaseIterable {
    case ios
    case android
    case web

    /// The push service a device of this platform uses unless it says otherwise.
    public var defaultService: PushService {
        switch self {
        case .ios: .apns
        case .android: .fcm
        case .web: .webpush
        }
    }
}

/// The push service that issued a device's token: only that service can deliver to it (a token
/// from FCM is useless to APNs, JPush or Pushy). herald.yml's `channels.push` names a provider
/// per service.
public enum PushService: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Apple Push Notification service.
    case apns
    /// Firebase Cloud Messaging.
    case fcm
    /// A browser's Web Push service (RFC 8030).
    case webpush
    /// JPush (极光推送), for Android devices where FCM is blocked.
    case jpush
    /// Pushy, for Android devices where FCM is blocked.
    case pushy

    public static func < (lhs: PushService, rhs: PushService) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
