import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// How a send finds its occurrence: resumed when unfinished, refused when already sent, new
/// otherwise; and the notifications of one occurrence are unique by their columns.
@Suite struct OccurrenceStartTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func request(_ campaign: String = "spring", at instant: Date, kind: Occurrence.Kind = .audience, again: Bool = false, new: Bool = false) -> OccurrenceRequest {
        OccurrenceRequest(campaignID: campaign, definitionHash: "h", fireAt: instant, kind: kind, resumesUnfinished: !new, repeatsFinished: again || new)
    }

    @Test func aSendNowIsDatedNowWhateverOccurrenceLiesAhead() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            // An occurrence three days ahead (a trigger's delay, an event dated later)...
            let ahead = now.addingTimeInterval(3 * 86_400)
            guard case .started(let later) = try await store.startOccurrence(request(at: ahead, kind: .users, new: true), at: now) else {
                Issue.record("no occurrence ahead")
                return
            }
            #expect(later.fireAt == ahead)
            // ...does not push a send made now past it; two sends in one millisecond get the next one.
            guard case .started(let first) = try await store.startOccurrence(request(at: now, kind: .users, new: true), at: now),
                  case .started(let second) = try await store.startOccurrence(request(at: now, kind: .users, new: true), at: now)
            else {
                Issue.record("the sends did not start")
                return
            }
            #expect(first.fireAt == now)
            #expect((second.fireAt.timeIntervalSince1970 * 1000).rounded() == now.timeIntervalSince1970 * 1000 + 1, "a millisecond later")
        }
    }

    @Test func paramsGivenForOneSendAreKeptWithItsOccurrence() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            var first = request(at: now)
            first.params = ["order_id": "A-7", "note": "naïve \"quote\""]
            _ = try await store.startOccurrence(first, at: now)
            guard case .resumed(let resumed) = try await store.startOccurrence(request(at: now.addingTimeInterval(5)), at: now) else {
                Issue.record("not resumed")
                return
            }
            #expect(resumed.params == ["order_id": "A-7", "note": "naïve \"quote\""])
        }
    }

    @Test func idsAndTokensWithTheSeparatorNoLongerCollide() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let occurrence = try await store.beginOccurrence(campaignID: "sale", fireAt: now, definitionHash: "h", at: now)
            // With the old key `<occurrence>:<user>:<channel>:<device>` both of these were
            // "1:a:push:b:push:c", and the second was dropped as a duplicate.
            let batch = [
                planned(user: "a", channel: .push, device: "b:push:c", due: now, occurrence: occurrence.id),
                planned(user: "a:push:b", channel: .push, device: "c", due: now, occurrence: occurrence.id),
            ]
            #expect(try await store.savePlanned(batch, at: now) == PlanSummary(planned: 2))
            #expect(try await store.savePlanned(batch, at: now) == PlanSummary(duplicates: 2))
            #expect(try await store.rows(sql: "SELECT user_id, device FROM notifications ORDER BY user_id") == [["a", "b:push:c"], ["a:push:b", "c"]])
        }
    }

    @Test func aVersion1DatabaseIsMigratedWithItsNotificationsAndOutboxIntact() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("herald.db")
            let old = try DatabaseQueue(path: path)
            try StoreMigrations.migrator.migrate(old, upTo: "v1-foundation")
            try await old.write { db in
                try db.execute(sql: """
                    INSERT INTO occurrences (id, campaign_id, fire_at, definition_hash, state, created_at) VALUES (1, 'sale', 1, 'h', 'planned', 0);
                    INSERT INTO notifications (id, dedupe_key, occurrence_id, campaign_id, category, user_id, channel, provider, address, content, state, due_at, created_at, updated_at)
                    VALUES (10, '1:u-1:push:tok', 1, 'sale', 'marketing', 'u-1', 'push', 'apns', 'tok', NULL, 'planned', 0, 0, 0),
                           (11, '1:u-1:email', 1, 'sale', 'marketing', 'u-1', 'email', 'sendgrid', 'a@example.com', NULL, 'sent', 0, 0, 0),
                           (12, '1:u-2:push', 1, 'sale', 'marketing', 'u-2', 'push', NULL, NULL, NULL, 'skipped', 0, 0, 0);
                    INSERT INTO outbox (notification_id, channel, due_at) VALUES (10, 'push', 0);
                    """)
            }
            try old.close()

            let store = try makeStore(directory)
            #expect(try await store.rows(sql: "SELECT id, user_id, channel, device, state FROM notifications ORDER BY id") == [
                ["10", "u-1", "push", "tok", "planned"], ["11", "u-1", "email", "", "sent"], ["12", "u-2", "push", "", "skipped"],
            ])
            #expect(try await store.rows(sql: "SELECT notification_id FROM outbox") == [["10"]])
            #expect(try await store.rows(sql: "SELECT kind, params FROM occurrences") == [["audience", "{}"]])
            #expect(try await store.rows(sql: "PRAGMA foreign_key_check") == [])
            // The migrated row still blocks its duplicate.
            let again = planned(user: "u-1", channel: .push, device: "tok", due: now, occurrence: 1)
            #expect(try await store.savePlanned([again], at: now) == PlanSummary(duplicates: 1))
        }
    }
}

@Suite struct ConcurrentStartTests {
}

@Suite struct AudiencePageTests {
    @Test func aPageWalksTheIdIndexEvenWhenStatisticsFavourAnAttributeIndex() async throws {
        try await withTemporaryDirectory { directory in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let users = (0..<3000).map { index in
                User(id: String(format: "u-%05d", index), attributes: ["country": .string(index % 100 == 0 ? "KR" : "US")])
            }
            let first = try makeStore(directory)
            _ = try await first.upsertUsers(users, at: now)
            try await first.analyze()
            // The statistics ANALYZE wrote for a million generated users, where a country
            // selects a few percent: they make the country index look better than the id order.
            try await makeStore(directory).pool.write { db in
                try db.execute(sql: """
                    DELETE FROM sqlite_stat1;
                    INSERT INTO sqlite_stat1 VALUES ('users', 'users_attribute_country', '1000000 50'),
                        ('users', 'sqlite_autoindex_users_1', '1000000 1'), ('users', NULL, '1000000');
                    """)
            }
            let store = try makeStore(directory)
            let source = RuleSource(text: #"country == "KR""#, location: SourceLocation(file: "x", line: 1, column: 1))
            let condition = try store.ruleCondition(source, now: now, campaignID: "x")
            let arguments = condition.arguments + ["u-01000", 1000]
            let plan = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteStore.pageQuery(condition: condition.sql, afterAnID: true), arguments: arguments)
                    .map { $0["detail"] as String }
            }
            #expect(plan == ["SEARCH users USING INDEX sqlite_autoindex_users_1 (id>?)"], "\(plan)")
            // The same condition without the named index is what SQLite would rather do.
            let free = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM users WHERE (\(condition.sql)) AND id > ? ORDER BY id LIMIT ?", arguments: arguments)
                    .map { $0["detail"] as String }
            }
            #expect(free.contains { $0.contains("users_attribute_country") }, "\(free)")
            // And the pages still hold exactly the matching users, in order.
            var seen: [String] = []
            var last: String?
            while true {
                let page = try await store.users(matching: .rule(source, now: now, campaignID: "x"), after: last, limit: 7)
                guard let tail = page.last else { break }
                seen += page.map(\.id)
                last = tail.id
            }
            #expect(seen == users.filter { $0.attributes["country"] == .string("KR") }.map(\.id))
        }
    }
}

@Suite struct ConcurrentOpenTests {
    /// Processes that open a new database at the same moment all migrate it, or find it migrated.
    @Test(arguments: 0..<10)
    func storesOpenedTogetherOnANewFileAllWork(round: Int) async throws {
        try await withTemporaryDirectory { directory in
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let store = try makeStore(directory)
                        return try await store.countUsers(matching: .everyone)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(counts == [0, 0, 0, 0], "round \(round)")
        }
    }
}
