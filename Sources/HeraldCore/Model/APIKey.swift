import Foundation

/// What an API key may do; each route of the HTTP API requires one.
public enum APIScope: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// `POST /v1/notifications` and the channel shorthands.
    case send
    /// Users, devices and preferences.
    case users
    /// `POST /v1/events`.
    case events
    /// Reports and notification trails.
    case read

    public static func < (lhs: APIScope, rhs: APIScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// An API key as the store keeps it: the app key in clear, the secret only as a salted hash.
public struct APIKeyRecord: Sendable, Hashable {
    /// The public half, sent as the user name of HTTP Basic (`hk_…`).
    public var appKey: String
    /// Random bytes mixed into the hash of this key's secret.
    public var salt: [UInt8]
    /// HMAC-SHA256 of the secret keyed with `salt`.
    public var secretHash: [UInt8]
    public var scopes: [APIScope]
    /// Requests allowed per key; nil: no limit of its own.
    public var rate: RateLiteral?
    public var createdAt: Date
    /// When `herald keys revoke` switched it off; nil while it works.
    public var revokedAt: Date?

    public init(appKey: String, salt: [UInt8], secretHash: [UInt8], scopes: [APIScope], rate: RateLiteral?, createdAt: Date, revokedAt: Date? = nil) {
        self.appKey = appKey
        self.salt = salt
        self.secretHash = secretHash
        self.scopes = scopes
        self.rate = rate
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}
