import Foundation

/// A person Herald can reach: built-in fields, declared attributes, devices and preferences.
public struct User: Sendable, Hashable, Identifiable {
    public var id: String
    public var email: String?
    /// E.164, e.g. `+821012345678`.
    public var phone: String?
    /// BCP 47, e.g. `ko-KR`.
    public var locale: String?
    /// IANA zone name, e.g. `Asia/Seoul`.
    public var timezone: String?
    public var firstName: String?
    public var lastName: String?
    public var createdAt: Date?
    /// Declared attributes; a missing key means the value is absent (null).
    public var attributes: [String: AttributeValue]
    public var devices: [Device]
    public var preferences: Preferences

    public init(
        id: String,
        email: String? = nil,
        phone: String? = nil,
        locale: String? = nil,
        timezone: String? = nil,
        firstName: String? = nil,
        lastName: String? = nil,
        createdAt: Date? = nil,
        attributes: [String: AttributeValue] = [:],
        devices: [Device] = [],
        preferences: Preferences = Preferences()
    ) {
        self.id = id
        self.email = email
        self.phone = phone
        self.locale = locale
        self.timezone = timezone
        self.firstName = firstName
        self.lastName = lastName
        self.createdAt = createdAt
        self.attributes = attributes
        self.devices = devices
        self.preferences = preferences
    }

    /// The devices that can receive a push now.
    public var activeDevices: [Device] { devices.filter(\.isActive) }
}

/// A push endpoint of a user.
public struct Device: Sendable, Hashable, Codable {
    public var platform: DevicePlatform
    /// The push service that issued the token (apns for ios, fcm for android and webpush for
    /// web unless the device says otherwise, e.g. jpush or pushy for Android where FCM is
    /// blocked).
    public var service: PushService
    /// The APNs device token or FCM registration token; `nil` for web.
    public var token: String?
    /// The Web Push subscription; `nil` for ios and android.
    public var subscription: WebPushSubscription?
    /// False once a provider said the token is dead.
    public var isActive: Bool

    public init(
        platform: DevicePlatform, service: PushService? = nil, token: String? = nil, subscription: WebPushSubscription? = nil, isActive: Bool = true
    ) {
        self.platform = platform
        self.service = service ?? platform.defaultService
        self.token = token
        self.subscription = subscription
        self.isActive = isActive
    }

    /// Whether `service` can deliver to devices of `platform`: APNs to iOS only, Web Push to
    /// browsers only, FCM, JPush and Pushy to iOS and Android apps.
    public static func serves(_ platform: DevicePlatform, with service: PushService) -> Bool {
        switch service {
        case .apns: platform == .ios
        case .webpush: platform == .web
        case .fcm, .jpush, .pushy: platform != .web
        }
    }

    /// The token, or the subscription endpoint: what identifies this device to its provider.
    public var address: String { token ?? subscription?.endpoint ?? "" }
}

/// A browser's Web Push subscription (RFC 8030 endpoint and RFC 8291 keys).
public struct WebPushSubscription: Sendable, Hashable, Codable {
    public var endpoint: String
    public var p256dh: String
    public var auth: String

    public init(endpoint: String, p256dh: String, auth: String) {
        self.endpoint = endpoint
        self.p256dh = p256dh
        self.auth = auth
    }
}
