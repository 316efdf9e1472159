import Foundation
import HeraldStore
import HeraldTesting
import Testing

/// `herald keys create|list|revoke` on a workspace's store, as an operator runs them.
@Suite(.tags(.slow))
struct KeysCommandTests {
    @Test func aKeyIsCreatedWithItsSecretShownOnceListedWithoutItAndRevoked() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            let empty = try await HeraldBinary.run(["keys", "list"], in: directory.path)
            #expect(empty.status == 1, "no database yet: reading never creates one")

            let created = try await HeraldBinary.run(["keys", "create", "--scopes", "send, events", "--rate", "100/s"], in: directory.path)
            #expect(created.status == 0, "\(created.stderr)")
            let lines = created.stdout.split(separator: "\n").map(String.init)
            let appKey = try #require(lines.first { $0.hasPrefix("app key: ") }?.dropFirst("app key: ".count)).description
            let secret = try #require(lines.first { $0.hasPrefix("secret:  ") }?.dropFirst("secret:  ".count)).description
            #expect(created.stdout.contains("scopes:  send, events; rate 100/s"))
            #expect(created.stdout.contains("shown this once"))

            // Listed with its scopes and rate, and the secret nowhere: not in the listing, not in the file.
            let list = try await HeraldBinary.run(["keys", "list", "--format", "json"], in: directory.path)
            #expect(list.status == 0, "\(list.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
            let keys = try #require(object["keys"] as? [[String: Any]])
            #expect(keys.count == 1 && keys[0]["app_key"] as? String == appKey && keys[0]["rate"] as? String == "100/s")
            #expect(keys[0]["scopes"] as? [String] == ["send", "events"] && keys[0]["revoked_at"] is NSNull)
            #expect(!list.stdout.contains(secret))
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory.file("herald.db")))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "the secret is not in the database")

            let typo = try await HeraldBinary.run(["keys", "revoke", String(appKey.dropLast())], in: directory.path)
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("no API key '\(appKey.dropLast())' (did you mean '\(appKey)'?)"), "\(typo.stderr)")
            let revoke = try await HeraldBinary.run(["keys", "revoke", appKey], in: directory.path)
            #expect(revoke.status == 0 && revoke.stdout == "revoked \(appKey): its requests are refused from now on\n", "\(revoke.stdout)\(revoke.stderr)")
            let twice = try await HeraldBinary.run(["keys", "revoke", appKey], in: directory.path)
            #expect(twice.status == 0 && twice.stdout.contains("was already revoked on"))
            let table = try await HeraldBinary.run(["keys", "list"], in: directory.path)
            let row = try #require(table.stdout.split(separator: "\n").first { $0.contains(appKey) }, "\(table.stdout)")
            #expect(row.contains("send,events") && row.contains("100/s") && row.filter { $0 == "Z" }.count == 2, "made and revoked: two instants in \(row)")

            let scope = try await HeraldBinary.run(["keys", "create", "--scopes", "sned"], in: directory.path)
            #expect(scope.status == 64)
            #expect(scope.stderr.contains("unknown scope 'sned' (did you mean 'send'?)"), "\(scope.stderr)")
            let rate = try await HeraldBinary.run(["keys", "create", "--scopes", "send", "--rate", "fast"], in: directory.path)
            #expect(rate.status == 64)
            #expect(rate.stderr.contains("--rate 'fast': expected a rate such as 100/s"), "\(rate.stderr)")
        }
    }
}
