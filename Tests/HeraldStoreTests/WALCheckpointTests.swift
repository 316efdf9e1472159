import Foundation
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// The log is copied into the database file beside the writer (``WALCheckpointer``), not by
/// the writer after its commit.
@Suite struct WALCheckpointTests {
    /// Bytes of a file, 0 when it is missing.
    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    @Test func writesReachTheDatabaseFileShortlyAfterwardsThoughTheWriterNeverCheckpoints() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("herald.db")
            let store = try makeStore(directory)
            // The writer leaves the log to the checkpointer up to its limit.
            #expect(try await store.rows(sql: "PRAGMA wal_autocheckpoint") == [["\(WALCheckpointer.writerLimit)"]])
            let before = Self.size(path)
            // About 1.5 MB of users: a few hundred pages, short of the writer's limit (and of
            // SQLite's default of 1,000 pages, after which the writer would copy them itself).
            let users = (0..<3_000).map { index in
                User(id: "u-\(index)", email: "user\(index)@example.com", firstName: String(repeating: "x", count: 400))
            }
            _ = try await store.upsertUsers(users, at: Date())
            #expect(Self.size(path + "-wal") > 1_000_000)
            // The checkpoint runs a tenth of a second after the write; a slow machine gets 20 s.
            let deadline = Date().addingTimeInterval(20)
            while Self.size(path) < before + 1_000_000, Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(Self.size(path) >= before + 1_000_000, "the users never reached the database file: no checkpoint ran")
            #expect(try #require(store.checkpointer).count >= 1)
            // What was copied reads back whole.
            #expect(try await store.rows(sql: "SELECT COUNT(*), SUM(length(first_name)) FROM users") == [["3000", "1200000"]])
        }
    }

    @Test func aReadOnlyStoreHasNoCheckpointer() async throws {
        try await withTemporaryDirectory { directory in
            _ = try makeStore(directory)
            let readOnly = try SQLiteStore(path: directory.file("herald.db"), schema: schema, configuration: .init(access: .readOnly))
            #expect(readOnly.checkpointer == nil)
        }
    }
}
