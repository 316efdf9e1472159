import Foundation
import GRDB
import HeraldCore
import HeraldPostgres
import HeraldStore
import HeraldTesting
import PostgresNIO
import Testing

/// The two stores the role tests run the same bodies on.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// One store under test (one process's view of the database), with plain SQL on its tables for
/// what the roles do not read back or write. Queries given to `rows` are written in the SQL both
/// stores share; each value comes back as text (`NULL` for null), so they should select text and
/// integers. `execute` runs a statement that writes (what a webhook or a tracking link would).
struct RoleStore: Sendable {
    let store: any Store
    let rows: @Sendable (String) async throws -> [[String]]
    let execute: @Sendable (String) async throws -> Void

    /// How many events of each type the trail holds.
    func eventCounts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await rows("SELECT type, COUNT(*) FROM events GROUP BY type") { counts[row[0]] = Int(row[1]) }
        return counts
    }
}

/// Runs `body` with `count` stores on one new database: a SQLite file opened `count` times, or
/// one PostgreSQL schema with a connection pool per store, as that many processes would have.
/// PostgreSQL is skipped, saying why, without `HERALD_TEST_POSTGRES_URL`.
func withRoleStores(
    _ kind: StoreKind, count: Int = 1, attributes: AttributeSchema = AttributeSchema(), test: String = #function,
    _ body: ([RoleStore]) async throws -> Void
) async throws {
    switch kind {
    case .sqlite:
        try await withTemporaryDirectory { directory in
            let path = directory.file("herald.db")
            let stores = try (0..<count).map { _ in try SQLiteStore(path: path, schema: attributes) }
            let execute: @Sendable (String) async throws -> Void = { sql in
                let queue = try DatabaseQueue(path: path)
                try await queue.write { try $0.execute(sql: sql) }
                try queue.close()
            }
            try await body(stores.map { store in RoleStore(store: store, rows: { try await store.rows(sql: $0) }, execute: execute) })
        }
    case .postgres:
        guard let url = TestPostgres.url else { return TestPostgres.skip(test) }
        let schema = TestPostgres.schemaName()
        var stores: [PostgresStore] = []
        do {
            for _ in 0..<count {
                stores.append(try await PostgresStore(url: url, attributes: attributes, searchPath: schema, maximumConnections: 4))
            }
            try await body(stores.map { store in
                RoleStore(store: store, rows: { try await store.textRows($0) }, execute: { try await store.execute(PostgresQuery(unsafeSQL: $0)) })
            })
        } catch {
            for store in stores { await store.close() }
            throw error
        }
        for store in stores { await store.close() }
    }
}

extension PostgresStore {
    /// The rows of a query with every column as text, in order, `NULL` for null: as
    /// `SQLiteStore.rows(sql:)` gives them.
    func textRows(_ sql: String) async throws -> [[String]] {
        try await rows(PostgresQuery(unsafeSQL: """
            SELECT ARRAY(SELECT COALESCE(c.value, 'NULL') FROM json_each_text(row_to_json(t)) WITH ORDINALITY AS c(key, value, n) ORDER BY c.n)
            FROM (\(sql)) t
            """), as: [String].self)
    }
}

/// An email to `user` (or a skip), as the planner writes one.
func plannedEmail(
    user: String, occurrence: Int64, campaign: String = "spring", category: String = "marketing", device: String = "", due: Date,
    skip: SkipReason? = nil, detail: String? = nil
) -> PlannedNotification {
    PlannedNotification(
        occurrenceID: occurrence, campaignID: campaign, category: category, userID: user, channel: .email, device: device,
        provider: "sendgrid", address: "\(user)@example.com", dueAt: due,
        decision: skip.map { .skip($0, detail: detail) } ?? .send(.email(EmailContent(subject: "Hi", text: "Hello \(user)")))
    )
}

/// A push to one device of `user`.
func plannedPush(user: String, token: String, occurrence: Int64, campaign: String = "spring", due: Date) -> PlannedNotification {
    PlannedNotification(
        occurrenceID: occurrence, campaignID: campaign, category: "marketing", userID: user, channel: .push, device: token,
        provider: "apns", address: token, dueAt: due, decision: .send(.push(PushContent(body: "Hi \(user)")))
    )
}

/// Runs `body` once per store, all at once, and returns what each gave, in the stores' order.
func concurrently<T: Sendable>(_ stores: [RoleStore], _ body: @escaping @Sendable (Int, RoleStore) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for (index, store) in stores.enumerated() {
            group.addTask { (index, try await body(index, store)) }
        }
        var results: [(Int, T)] = []
        for try await result in group { results.append(result) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
