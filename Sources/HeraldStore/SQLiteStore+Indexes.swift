import GRDB
import HeraldCore
import HeraldRules

extension SQLiteStore {
    /// Creates an expression index for each declared scalar attribute, on the exact expression
    /// that audience SQL reads it with (`SQLCondition.attributeExpression(for:type:)`), so that
    /// equality, `in` and range tests on attributes can use an index. The attribute schema lives
    /// in herald.yml rather than in a migration, so the indexes follow it each time the store
    /// opens: the expression depends on the declared type, so an index whose definition is not
    /// the wanted one (its attribute changed type, or it was built by an earlier version) is
    /// built again. List attributes are searched with `json_each`, which no index serves.
    static func ensureAttributeIndexes(_ db: Database, schema: AttributeSchema) throws {
        for definition in schema.definitions {
            guard let expression = SQLCondition.attributeExpression(for: definition.name, type: definition.type) else { continue }
            // attributeExpression only accepts [A-Za-z_][A-Za-z0-9_]*, so the name is a safe identifier.
            let name = "users_attribute_\(definition.name)"
            // SQLite keeps the statement as written, which is how an index is recognised.
            let statement = "CREATE INDEX \(name) ON users (\(expression))"
            let existing = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name])
            if existing == statement { continue }
            if existing != nil { try db.execute(sql: "DROP INDEX \(name)") }
            try db.execute(sql: statement)
        }
    }

    /// Runs a bulk load of users with the attribute indexes dropped, then builds them again.
    ///
    /// Each attribute index receives its rows in random order, so every transaction of a load
    /// dirties index pages all over the file, and the write-ahead log receives each of them once
    /// per transaction: loading a million users wrote 12 GB for a 0.7 GB table. Built after the
    /// load, an index is one sorted pass. A crash in the middle leaves the indexes missing only
    /// until the store is next opened for writing, which creates them.
    public func withAttributeIndexesDeferred<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let schema = self.schema
        try await write { db in try SQLiteStore.dropAttributeIndexes(db, schema: schema) }
        do {
            let result = try await body()
            try await write { db in try SQLiteStore.ensureAttributeIndexes(db, schema: schema) }
            return result
        } catch {
            try? await write { db in try SQLiteStore.ensureAttributeIndexes(db, schema: schema) }
            throw error
        }
    }

    static func dropAttributeIndexes(_ db: Database, schema: AttributeSchema) throws {
        for definition in schema.definitions where SQLCondition.attributeExpression(for: definition.name, type: definition.type) != nil {
            try db.execute(sql: "DROP INDEX IF EXISTS users_attribute_\(definition.name)")
        }
    }

    /// Refreshes the statistics SQLite's planner uses to choose between the id order and an
    /// attribute index. Run after a bulk import; it samples, so it stays fast on large tables.
    public func analyze() async throws {
        try await write { db in
            try db.execute(sql: "PRAGMA analysis_limit = 2000; ANALYZE;")
        }
    }
}
