import Foundation

/// The API keys services authenticate with, as the store keeps them: the app key in clear, the
/// secret only as a salted hash (``APIKeyRecord``), so that nobody can read a secret back.
/// `herald keys` writes them; the HTTP API reads them.
///
/// ```swift
/// try await store.insertAPIKey(record)                    // `herald keys create`
/// let revoked = try await store.revokeAPIKey(record.appKey, at: now)
/// ```
public protocol APIKeyStore: Sendable {
    /// Stores a new API key, its salt and hash byte for byte.
    ///
    /// - Throws: `StoreError(.conflict)` when the app key exists already; nothing is written.
    func insertAPIKey(_ key: APIKeyRecord) async throws

    /// Every API key, oldest first (then by app key), revoked ones included.
    func apiKeys() async throws -> [APIKeyRecord]

    /// The key with this app key, revoked or not; nil when there is none.
    func apiKey(_ appKey: String) async throws -> APIKeyRecord?

    /// Switches a key off from `now` on. Returns the key as it is afterwards (revoked at its first
    /// revocation, which a second one keeps), or nil when there is no such key.
    func revokeAPIKey(_ appKey: String, at now: Date) async throws -> APIKeyRecord?
}

extension APIKeyRecord {
    /// A key as a store reads it back: scopes as the comma-separated names it wrote (unknown
    /// names left out), the rate as its literal, instants in seconds since 1970.
    public init(
        appKey: String, salt: [UInt8], secretHash: [UInt8], storedScopes: String, storedRate: String?, createdAt: Double, revokedAt: Double?
    ) {
        self.init(
            appKey: appKey, salt: salt, secretHash: secretHash,
            scopes: storedScopes.split(separator: ",").compactMap { APIScope(rawValue: String($0)) }, rate: storedRate.flatMap(RateLiteral.init),
            createdAt: Date(timeIntervalSince1970: createdAt), revokedAt: revokedAt.map(Date.init(timeIntervalSince1970:))
        )
    }

    /// The scopes as a store writes them: comma-separated names.
    public var storedScopes: String { scopes.map(\.rawValue).joined(separator: ",") }
}
