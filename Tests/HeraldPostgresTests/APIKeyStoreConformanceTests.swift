import Foundation
import HeraldCore
import Testing

/// `herald keys`' role (``APIKeyStore``) on a SQLite file and a PostgreSQL schema: the salt and
/// hash kept byte for byte (zeros and high bytes included), the scopes and rate read back, the
/// first revocation kept, and one key per app key even when two processes make it at once.
@Suite struct APIKeyStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000.25)

    func key(_ appKey: String, at: Date, scopes: [APIScope] = [.send, .events], rate: String? = "100/s") -> APIKeyRecord {
        APIKeyRecord(
            appKey: appKey, salt: [0, 1, 0x7F, 0x80, 0xFF] + Array(repeating: 0, count: 11), secretHash: (0..<32).map { UInt8(255 - $0 * 7 % 256) },
            scopes: scopes, rate: rate.flatMap(RateLiteral.init), createdAt: at
        )
    }

    @Test(arguments: StoreKind.allCases)
    func aKeyIsKeptByteForByteListedOldestFirstAndRevokedOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = try #require(stores[0].store as? any APIKeyStore)
            #expect(try await store.apiKeys().isEmpty)
            let later = key("hk_b", at: now.addingTimeInterval(10), scopes: [.read], rate: nil)
            let first = key("hk_z", at: now)
            try await store.insertAPIKey(later)
            try await store.insertAPIKey(first)
            #expect(try await store.apiKeys() == [first, later])
            #expect(try await store.apiKey("hk_z") == first)
            #expect(try await store.apiKey("hk_nope") == nil)

            // The same app key again: refused, and the first one stands.
            await #expect(throws: StoreError.self) { try await store.insertAPIKey(key("hk_z", at: now.addingTimeInterval(20), scopes: [.users])) }
            #expect(try await store.apiKey("hk_z") == first)

            let revokedAt = now.addingTimeInterval(60)
            var revoked = first
            revoked.revokedAt = revokedAt
            #expect(try await store.revokeAPIKey("hk_z", at: revokedAt) == revoked)
            #expect(try await store.revokeAPIKey("hk_z", at: revokedAt.addingTimeInterval(60)) == revoked)
            #expect(try await store.revokeAPIKey("hk_nope", at: revokedAt) == nil)
            #expect(try await store.apiKeys().map(\.isRevoked) == [true, false])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func twoProcessesMakingTheSameKeyAtOnceMakeOne(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            let made = try await concurrently(stores) { index, role in
                let store = try #require(role.store as? any APIKeyStore)
                do {
                    try await store.insertAPIKey(self.key("hk_same", at: self.now, scopes: index == 0 ? [.send] : [.read]))
                    return true
                } catch let error as StoreError where error.code == .conflict {
                    return false
                }
            }
            #expect(made.filter { $0 }.count == 1, "\(made)")
            #expect(try await stores[1].rows("SELECT COUNT(*) FROM api_keys") == [["1"]])
        }
    }
}
