import Foundation
import HeraldCore
import HeraldServer
import HeraldStore
import HeraldTesting
import Testing

@Suite struct APIKeysTests {
    @Test func aKeyMatchesItsOwnSecretOnlyAndTwoKeysShareNothing() throws {
        let (first, secret) = APIKeys.make(scopes: [.send, .read, .send], rate: RateLiteral("100/s"), now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(first.appKey.hasPrefix("hk_") && first.appKey.count == 23)
        #expect(secret.hasPrefix("hs_") && secret.count == 3 + 43, "32 random bytes, base64url")
        #expect(first.scopes == [.send, .read])
        #expect(first.salt.count == 16 && first.secretHash.count == 32)
        // The store keeps neither the secret nor anything that contains it.
        #expect(!first.secretHash.elementsEqual(Array(secret.utf8)))
        #expect(APIKeys.matches(secret, first))
        #expect(!APIKeys.matches(secret + "x", first))
        #expect(!APIKeys.matches(String(secret.dropLast()), first))
        #expect(!APIKeys.matches("", first))

        let (second, other) = APIKeys.make(scopes: [.send], rate: nil, now: Date())
        #expect(second.appKey != first.appKey && other != secret && second.salt != first.salt)
        #expect(!APIKeys.matches(secret, second) && !APIKeys.matches(other, first))
        // The same secret under another salt hashes differently.
        var copy = second
        copy.salt = first.salt
        copy.secretHash = first.secretHash
        #expect(APIKeys.matches(secret, copy))
        copy.salt = second.salt
        #expect(!APIKeys.matches(secret, copy))
    }

    @Test func theStoreKeepsKeysRevokesThemOnceAndRefusesADuplicate() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("keys.db"), schema: AttributeSchema())
            let created = Date(timeIntervalSince1970: 1_800_000_000)
            let (key, secret) = APIKeys.make(scopes: [.users, .events], rate: RateLiteral("600/min"), now: created)
            try await store.insertAPIKey(key)
            let read = try #require(try await store.apiKey(key.appKey))
            #expect(read == key)
            #expect(APIKeys.matches(secret, read))
            await #expect(throws: StoreError.self) { try await store.insertAPIKey(key) }
            #expect(try await store.apiKey("hk_nobody") == nil)

            let revoked = try #require(try await store.revokeAPIKey(key.appKey, at: created.addingTimeInterval(60)))
            #expect(revoked.revokedAt == created.addingTimeInterval(60))
            let again = try #require(try await store.revokeAPIKey(key.appKey, at: created.addingTimeInterval(120)))
            #expect(again.revokedAt == created.addingTimeInterval(60), "a second revocation keeps the first one's time")
            #expect(try await store.revokeAPIKey("hk_nobody", at: created) == nil)
            #expect(try await store.apiKeys().map(\.appKey) == [key.appKey])
        }
    }
}
