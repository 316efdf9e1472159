import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: APIKeyStore {
    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM api_keys WHERE app_key = ?", arguments: [key.appKey]) == true {
                throw StoreError(.conflict, "an API key \(key.appKey) exists already")
            }
            try db.execute(sql: """
                INSERT INTO api_keys (app_key, salt, secret_hash, scopes, rate, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    key.appKey, Data(key.salt), Data(key.secretHash), key.storedScopes,
                    key.rate?.description, key.createdAt.timeIntervalSince1970, key.revokedAt?.timeIntervalSince1970,
                ])
        }
    }

    public func apiKeys() async throws -> [APIKeyRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, app_key").map(Self.apiKey)
        }
    }

    public func apiKey(_ appKey: String) async throws -> APIKeyRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE app_key = ?", arguments: [appKey]).map(Self.apiKey)
        }
    }

    public func revokeAPIKey(_ appKey: String, at now: Date) async throws -> APIKeyRecord? {
        try await write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE app_key = ? AND revoked_at IS NULL", arguments: [now.timeIntervalSince1970, appKey])
            return try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE app_key = ?", arguments: [appKey]).map(Self.apiKey)
        }
    }

    static func apiKey(_ row: Row) -> APIKeyRecord {
        APIKeyRecord(
            appKey: row["app_key"], salt: Array(row["salt"] as Data), secretHash: Array(row["secret_hash"] as Data),
            storedScopes: row["scopes"], storedRate: row["rate"], createdAt: row["created_at"], revokedAt: row["revoked_at"]
        )
    }
}
