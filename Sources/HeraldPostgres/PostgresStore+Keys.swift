import Foundation
import HeraldCore
import PostgresNIO

/// `herald keys` on PostgreSQL: the `api_keys` table of migration v5, with the salt and the
/// secret's hash as `BYTEA`, byte for byte as SQLite's BLOBs (and `herald store copy`) keep
/// them, so that a key works whichever store it was made in.
extension PostgresStore: APIKeyStore {
    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        // ON CONFLICT: of two processes inserting the same app key at once, one is told.
        let inserted = try await fetch("""
            INSERT INTO api_keys (app_key, salt, secret_hash, scopes, rate, created_at, revoked_at)
            VALUES (\(key.appKey), \(Data(key.salt)), \(Data(key.secretHash)), \(key.storedScopes), \(key.rate?.description),
                \(key.createdAt.timeIntervalSince1970), \(key.revokedAt?.timeIntervalSince1970))
            ON CONFLICT (app_key) DO NOTHING
            RETURNING 1
            """) { rows in
            for try await _ in rows { return true }
            return false
        }
        guard inserted else { throw StoreError(.conflict, "an API key \(key.appKey) exists already") }
    }

    public func apiKeys() async throws -> [APIKeyRecord] {
        try await fetch("""
            SELECT app_key, salt, secret_hash, scopes, rate, created_at, revoked_at FROM api_keys ORDER BY created_at, app_key
            """) { try await Self.apiKeys($0) }
    }

    public func apiKey(_ appKey: String) async throws -> APIKeyRecord? {
        try await fetch("""
            SELECT app_key, salt, secret_hash, scopes, rate, created_at, revoked_at FROM api_keys WHERE app_key = \(appKey)
            """) { try await Self.apiKeys($0).first }
    }

    public func revokeAPIKey(_ appKey: String, at now: Date) async throws -> APIKeyRecord? {
        // One transaction: the key as this revocation (or an earlier one) left it.
        try await transaction { connection in
            try await connection.perform(
                "UPDATE api_keys SET revoked_at = \(now.timeIntervalSince1970) WHERE app_key = \(appKey) AND revoked_at IS NULL", logger: logger
            )
            return try await Self.apiKeys(try await connection.query("""
                SELECT app_key, salt, secret_hash, scopes, rate, created_at, revoked_at FROM api_keys WHERE app_key = \(appKey)
                """, logger: logger)).first
        }
    }

    static func apiKeys(_ rows: PostgresRowSequence) async throws -> [APIKeyRecord] {
        var keys: [APIKeyRecord] = []
        for try await (appKey, salt, hash, scopes, rate, createdAt, revokedAt) in rows.decode((String, Data, Data, String, String?, Double, Double?).self) {
            keys.append(APIKeyRecord(
                appKey: appKey, salt: Array(salt), secretHash: Array(hash), storedScopes: scopes, storedRate: rate, createdAt: createdAt, revokedAt: revokedAt
            ))
        }
        return keys
    }
}
