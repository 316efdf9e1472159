import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Synchronization
import Testing

/// Concurrent writes committed together in one transaction; a caller that throws has nothing of
/// its work committed.
@Suite struct GroupCommitTests {
    struct Refused: Error {}

    /// `count` callers submitting `work(index, db)` at once: which of them succeeded, by index.
    /// Each error must be `expected`.
    static func submitConcurrently(
        _ count: Int, to store: SQLiteStore, expecting expected: (any Error.Type)? = nil,
        _ work: @escaping @Sendable (Int, Database) throws -> Void
    ) async -> [Int: Bool] {
        await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<count {
                group.addTask {
                    do {
                        try await store.groupCommit.submit { db in try work(index, db) }
                        return (index, true)
                    } catch {
                        if let expected { #expect(type(of: error) == expected, "\(error)") }
                        return (index, false)
                    }
                }
            }
            var all: [Int: Bool] = [:]
            for await (index, ok) in group { all[index] = ok }
            return all
        }
    }

    final class Counts: Sendable {
        let seen = Mutex<Set<Int64>>([])
        let runs = Mutex(0)
    }

    @Test func concurrentWritesShareTransactionsAndAFailingOneUndoesOnlyItself() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("group.db"), schema: AttributeSchema())
            let counts = Counts()
            let results = await Self.submitConcurrently(200, to: store, expecting: Refused.self) { index, db in
                try db.execute(sql: "INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (?, 'h', 0)", arguments: ["c\(index)"])
                // Each caller sees the rows of those before it in the transaction.
                let count = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM campaigns") ?? 0
                counts.seen.withLock { _ = $0.insert(count) }
                if index % 10 == 3 { throw Refused() }
            }
            #expect(results.count == 200)
            #expect(results.filter { !$0.value }.map(\.key).sorted() == Array(stride(from: 3, to: 200, by: 10)))
            let stored = try await store.rows(sql: "SELECT id FROM campaigns ORDER BY CAST(substr(id, 2) AS INTEGER)").map { $0[0] }
            #expect(stored == (0..<200).filter { $0 % 10 != 3 }.map { "c\($0)" }, "every write but the refused ones, each once")
            // A refused caller's row is undone at once: the caller after it sees the same count.
            #expect(counts.seen.withLock { $0.count } == 180, "each kept caller saw one more row than the one before")
            #expect(store.groupCommit.batchesWritten < 100, "\(store.groupCommit.batchesWritten) transactions for 200 concurrent writes")
            // A refused caller had written its row: its batch was written again, each caller in a
            // savepoint.
            #expect(store.groupCommit.isolatedBatches >= 1)
        }
    }

    @Test func aCallerRefusedBeforeItWritesCostsItsBatchNoSecondRun() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("group.db"), schema: AttributeSchema())
            let counts = Counts()
            let results = await Self.submitConcurrently(100, to: store, expecting: Refused.self) { index, db in
                counts.runs.withLock { $0 += 1 }
                // Reads, then refuses before it writes: nothing to undo.
                _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM campaigns")
                if index % 4 == 1 { throw Refused() }
                try db.execute(sql: "INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (?, 'h', 0)", arguments: ["c\(index)"])
            }
            #expect(results.filter { !$0.value }.map(\.key).sorted() == Array(stride(from: 1, to: 100, by: 4)))
            let stored = try await store.rows(sql: "SELECT COUNT(*) FROM campaigns")
            #expect(stored == [["75"]])
            #expect(store.groupCommit.isolatedBatches == 0)
            #expect(counts.runs.withLock { $0 } == 100, "each caller's work ran once")
        }
    }

    @Test func aCallerWhoseSQLFailsUndoesOnlyItselfAndTheOthersAreWrittenOnce() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("group.db"), schema: AttributeSchema())
            try await store.groupCommit.submit { db in
                try db.execute(sql: "INSERT INTO campaigns (id, definition_hash, updated_at) VALUES ('taken', 'h', 0)")
            }
            let outcomes = await Self.submitConcurrently(40, to: store, expecting: DatabaseError.self) { index, db in
                try db.execute(sql: "INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (?, 'h', 0)", arguments: ["c\(index)"])
                // A constraint error after a write: the SQLite error reaches the caller.
                if index == 17 {
                    try db.execute(sql: "INSERT INTO campaigns (id, definition_hash, updated_at) VALUES ('taken', 'h', 0)")
                }
            }
            #expect(outcomes.filter { !$0.value }.map(\.key) == [17])
            let stored = try await store.rows(sql: "SELECT id FROM campaigns WHERE id != 'taken' ORDER BY CAST(substr(id, 2) AS INTEGER)").map { $0[0] }
            #expect(stored == (0..<40).filter { $0 != 17 }.map { "c\($0)" })
        }
    }

    /// An API send to `userIDs` (and `guests`) that plans nothing.
    static func plan(_ userIDs: [String], guests: [User] = [], key: String? = nil) -> APISendPlan {
        APISendPlan(
            request: OccurrenceRequest(campaignID: "api:t", definitionHash: "api", fireAt: Date(timeIntervalSince1970: 1_796_000_000), kind: .users),
            appKey: "hk_test", idempotencyKey: key, requestHash: "h", guests: guests, userIDs: userIDs, capReach: nil,
            decide: { _, _, _ in [] }, answer: { occurrence, _ in "{\"send_id\":\(occurrence.id)}" }
        )
    }

    @Test func anAPISendRefusedForItsRecipientsIsRefusedBeforeItWrites() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("group.db"), schema: AttributeSchema())
            let now = Date(timeIntervalSince1970: 1_796_000_000)
            _ = try await store.upsertUsers([User(id: "u1"), User(id: "guest-0001")], at: now)
            await #expect(throws: UnknownUsers.self) { try await store.apiSend(Self.plan(["u1", "u9"], key: "k1"), at: now) }
            // A guest whose id a user took (only by choosing it) refuses the send first.
            let taken = User(id: "guest-0001", email: "bo@example.com")
            await #expect(throws: GuestIDTaken.self) { try await store.apiSend(Self.plan(["u9", "guest-0001"], guests: [taken], key: "k2"), at: now) }
            #expect(store.groupCommit.isolatedBatches == 0, "nothing to undo")
            #expect(try await store.rows(sql: "SELECT (SELECT COUNT(*) FROM occurrences) + (SELECT COUNT(*) FROM api_requests)") == [["0"]])
            // The same key then starts a send of its own.
            guard case .planned(let occurrence, _, _) = try await store.apiSend(Self.plan(["u1"], key: "k1"), at: now) else {
                Issue.record("not planned")
                return
            }
            #expect(try await store.rows(sql: "SELECT state FROM occurrences WHERE id = ?", arguments: [String(occurrence.id)]) == [["planned"]])
        }
    }

    @Test func aBatchHoldsAtMostItsWeightOfWorkAndAHeavierCallerGoesAlone() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("group.db"), schema: AttributeSchema())
            let commit = GroupCommit(maximumBatch: 128, maximumWeight: 10) { body in try await store.write(body) }
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        _ = try? await commit.submit(weight: index == 7 ? 50 : 3) { db in
                            try db.execute(sql: "INSERT INTO campaigns (id, definition_hash, updated_at) VALUES (?, 'h', 0)", arguments: ["c\(index)"])
                        }
                    }
                }
            }
            // Weights of 3 under a limit of 10: at most three callers share a transaction.
            #expect(commit.largestBatch <= 3 && commit.largestBatch >= 1, "\(commit.largestBatch)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM campaigns") == [["60"]], "the heavy caller was written too")
            #expect(commit.batchesWritten >= 20, "\(commit.batchesWritten) transactions for 60 callers of weight 3")
        }
    }

    @Test func aCommitThatFailsReachesEveryCallerOfItsBatch() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.file("group.db"), schema: AttributeSchema())
            // A deferred foreign key fails only at COMMIT: the whole batch is refused.
            try await store.groupCommit.submit { db in
                try db.execute(sql: "CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
            }
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            try await store.groupCommit.submit { db in
                                try db.execute(sql: "INSERT INTO child (parent) VALUES (?)", arguments: [index == 0 ? 999 : nil])
                            }
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                var all: [Bool] = []
                for await ok in group { all.append(ok) }
                return all
            }
            #expect(outcomes.count == 20 && outcomes.contains(false), "the batch with the dangling row failed")
            let children = try await store.rows(sql: "SELECT COUNT(*) FROM child WHERE parent = 999")
            #expect(children == [["0"]], "nothing of a failed commit stays")
            // Callers told success have their rows; callers told failure do not.
            let kept = try await store.rows(sql: "SELECT COUNT(*) FROM child").first?.first.flatMap { Int($0) } ?? -1
            #expect(kept == outcomes.filter { $0 }.count)
        }
    }
}
