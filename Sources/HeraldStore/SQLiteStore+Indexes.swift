import GRDB
import HeraldCore
import HeraldRules

extension SQLiteStore {
    /// Creates an expression index for each declared scalar attribute, on the exact expression
    /// that audience SQL reads it with, so that equality, `in` and range tests on attributes can
    /// use an index. The attribute schema lives in herald.yml rather than in a migration, so the
    /// indexes follow it each time the store opens; list attributes are searched with
    /// `json_each`, which no index serves.
    static func ensureAttributeIndexes(_ db: Database, schema: AttributeSchema) throws {
        for definition in schema.definitions {
            if case .list = definition.type { continue }
            guard let expression = SQLCondition.attributeExpression(for: definition.name) else { continue }
            // attributeExpression only accepts [A-Za-z_][A-Za-z0-9_]*, so the name is a safe identifier.
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS users_attribute_\(definition.name) ON users (\(expression))")
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
