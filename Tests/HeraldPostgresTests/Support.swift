import Foundation
import HeraldCore
import HeraldPostgres
import PostgresNIO
import Testing

extension Tag {
    @Tag static var slow: Self
}

/// The PostgreSQL server of the tests: `HERALD_TEST_POSTGRES_URL`, which `.ci/run` and
/// `make test` set by starting a throwaway cluster with scripts/postgres-cluster. Without it the
/// PostgreSQL tests print why they are skipped and pass; with it, a server that cannot be
/// reached fails them.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"]

    static func skip(_ test: String = #function) {
        print("skipped: \(test): PostgreSQL tests need HERALD_TEST_POSTGRES_URL (scripts/postgres-cluster start DIR prints one; make test sets it)")
    }

    /// A new schema name, so that each test has tables of its own.
    static func schemaName() -> String {
        "t_" + String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))
    }

    /// Runs `body` with a store in a schema of its own, closed after; skipped, saying why, without
    /// a server.
    static func withStore(
        attributes: AttributeSchema, defaultTimezone: String = "UTC", test: String = #function,
        _ body: (PostgresStore) async throws -> Void
    ) async throws {
        guard let url else { return skip(test) }
        let store = try await PostgresStore(
            url: url, attributes: attributes, searchPath: schemaName(), maximumConnections: 4, defaultTimezone: defaultTimezone
        )
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

extension PostgresStore {
    /// Runs a statement that returns no rows.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await client.query(query, logger: Logger(label: "herald.test"))
    }

    /// The rows of a query, decoded as `T`.
    func rows<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> [T] {
        let rows = try await client.query(query, logger: Logger(label: "herald.test"))
        var values: [T] = []
        for try await value in rows.decode(T.self) { values.append(value) }
        return values
    }

    /// The rows of a query, decoded as a tuple of columns.
    func rows<each Column: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as type: (repeat each Column).Type
    ) async throws -> [(repeat each Column)] {
        let rows = try await client.query(query, logger: Logger(label: "herald.test"))
        var values: [(repeat each Column)] = []
        for try await value in rows.decode(type) { values.append(value) }
        return values
    }

    /// `SELECT id FROM users WHERE <condition> ORDER BY id`, as the planner runs it.
    func selectIDs(where sql: String, _ arguments: PostgresBindings) async throws -> [String] {
        try await rows(PostgresQuery(unsafeSQL: "SELECT id FROM users WHERE \(sql) ORDER BY id", binds: arguments))
    }
}

/// The users with a token of its own for each device: PostgreSQL's store keeps one device per
/// token, as an import does, and the rules generator gives every device the same one.
func distinctDevices(_ users: [User]) -> [User] {
    users.map { user in
        var user = user
        user.devices = user.devices.enumerated().map { index, device in
            Device(platform: device.platform, token: "t\(index)", isActive: device.isActive)
        }
        return user
    }
}
