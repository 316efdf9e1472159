import Foundation
import HeraldCore
import HeraldRules
import HeraldStore
import HeraldTesting
import Testing

/// `performed()` and `count()` over the events the store received, in SQL and in memory alike.
@Suite struct EventFunctionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let day: TimeInterval = 86_400

    @Test func performedAndCountSelectTheSameUsersInSQLAndInMemory() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("events.db"), schema: AttributeSchema())
            let users = ["u1", "u2", "u3", "u4"].map { User(id: $0) }
            _ = try await store.upsertUsers(users, at: Self.now)
            // u1 bought 2 days ago; u2 twice, 10 and 20 days ago; u3 browsed only; u4 bought
            // tomorrow (a future `at`: not performed yet).
            let events: [(String, String, TimeInterval)] = [
                ("u1", "purchase", -2), ("u2", "purchase", -10), ("u2", "purchase", -20), ("u3", "viewed_item", -1), ("u4", "purchase", 1),
            ]
            var context = RuleContext(now: Self.now, campaignID: "c")
            for (user, name, days) in events {
                let at = Self.now.addingTimeInterval(days * Self.day)
                _ = try await store.recordEvent(ReceivedEvent(userID: user, name: name, receivedAt: at), triggering: [], at: Self.now)
                context.add([(name: name, at: at)], for: user)
            }
            let cases: [(String, [String])] = [
                (#"performed("purchase", within: 7d)"#, ["u1"]),
                (#"performed("purchase")"#, ["u1", "u2"]),
                (#"performed("purchase", within: 15d)"#, ["u1", "u2"]),
                (#"count("purchase") >= 2"#, ["u2"]),
                (#"count("purchase", within: 15d) == 1"#, ["u1", "u2"]),
                (#"count("purchase") == 0"#, ["u3", "u4"]),
                (#"not performed("purchase")"#, ["u3", "u4"]),
                (#"performed("viewed_item") and not performed("purchase", within: 30d)"#, ["u3"]),
                (#"performed("refund")"#, []),
            ]
            for (text, expected) in cases {
                let source = RuleSource(text: text, location: SourceLocation(file: "test", line: 1, column: 1))
                let rule = try Rule(source, schema: AttributeSchema())
                let inMemory = users.filter { rule.evaluate($0, in: context) }.map(\.id)
                let sql = try await store.users(matching: .rule(source, now: Self.now, campaignID: "c"), after: nil, limit: 10).map(\.id)
                #expect(inMemory == expected, "\(text) in memory")
                #expect(sql == expected, "\(text) in SQL")
            }
        }
    }
}
