import Foundation
import HeraldCore
import HeraldRules
import Logging
import PostgresNIO

extension PostgresStore {
    /// Creates an expression index for each declared scalar attribute, on the exact expression
    /// that audience SQL compares (`SQLCondition.postgresIndexElement`), as SQLite's store does
    /// with `users_attribute_<name>`. The attribute schema lives in herald.yml rather than in a
    /// migration, so the indexes follow it each time the store opens: the expression depends on
    /// the declared type, so each index carries its element as a comment, and an index whose
    /// attribute changed type is built again. List attributes are searched with
    /// `jsonb_array_elements`, which no index serves; names too long for a PostgreSQL
    /// identifier (47 bytes after the prefix) get no index.
    static func ensureAttributeIndexes(_ client: PostgresClient, schema: AttributeSchema, logger: Logger) async throws {
        let wanted = schema.definitions.compactMap { definition -> (name: String, element: String)? in
            guard let element = SQLCondition.postgresIndexElement(for: definition.name, type: definition.type) else { return nil }
            let name = "users_attribute_\(definition.name)"
            // Longer names would be truncated, and two attributes could share one.
            guard name.utf8.count <= 63 else { return nil }
            return (name, element)
        }
        guard !wanted.isEmpty else { return }
        try await client.withTransaction(logger: logger) { connection in
            // Two processes opening at once would both try to create the index.
            try await connection.query("SELECT pg_advisory_xact_lock(8317054012)", logger: logger)
            let rows = try await connection.query("""
                SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c
                WHERE c.relkind = 'i' AND c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'users\\_attribute\\_%'
                """, logger: logger)
            var existing: [String: String?] = [:]
            for try await (name, comment) in rows.decode((String, String?).self) { existing[name] = comment }
            for (name, element) in wanted {
                // Attribute names are identifiers (SQLCondition checks them), so they are safe here.
                if let comment = existing[name] {
                    if comment == element { continue }
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP INDEX \(name)"), logger: logger)
                }
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE INDEX \(name) ON users (\(element))"), logger: logger)
                // COMMENT takes no parameters: the element is the compiler's text, with no quote
                // that is not doubled.
                let quoted = element.replacingOccurrences(of: "'", with: "''")
                try await connection.query(PostgresQuery(unsafeSQL: "COMMENT ON INDEX \(name) IS '\(quoted)'"), logger: logger)
            }
        }
    }
}
