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
    ///
    /// Each index is built with `CREATE INDEX CONCURRENTLY` under a name of its own
    /// (`users_building_<name>`), so that imports and API writes to `users` go on meanwhile, and
    /// then takes the place of the old one. A build that failed part way leaves an invalid index
    /// under that name, dropped at the next open (``PostgresMigrations/migrate(_:schema:logger:)``);
    /// an index without its comment is built again. On a new database (`isNew`: its tables
    /// made in this run, empty) they are built plainly. Runs on `connection`, which holds the
    /// schema lock (``PostgresMigrations/withSchemaLock(_:logger:_:)``).
    static func ensureAttributeIndexes(_ connection: PostgresConnection, schema: AttributeSchema, isNew: Bool, logger: Logger) async throws {
        let wanted = schema.definitions.compactMap { definition -> (name: String, element: String)? in
            guard let element = SQLCondition.postgresIndexElement(for: definition.name, type: definition.type) else { return nil }
            let name = "users_attribute_\(definition.name)"
            // Longer names would be truncated, and two attributes could share one.
            guard name.utf8.count <= 63 else { return nil }
            return (name, element)
        }
        guard !wanted.isEmpty else { return }
        let rows = try await connection.query("""
            SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c
            WHERE c.relkind = 'i' AND c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'users\\_attribute\\_%'
            """, logger: logger)
        var existing: [String: String?] = [:]
        for try await (name, comment) in rows.decode((String, String?).self) { existing[name] = comment }
        for (name, element) in wanted {
            if let comment = existing[name], comment == element { continue }
            // Attribute names are identifiers (SQLCondition checks them), so they are safe here.
            // Quoted: an attribute may have capitals (`signupDate`), which an unquoted name would
            // lose, and the index would never be found under its name again.
            let building = "\"users_building_\(name.dropFirst("users_attribute_".count))\""
            let concurrently = isNew ? "" : " CONCURRENTLY"
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE INDEX\(concurrently) \(building) ON users (\(element))"), logger: logger)
            // COMMENT takes no parameters: the element is the compiler's text, with no quote
            // that is not doubled.
            let quoted = element.replacingOccurrences(of: "'", with: "''")
            try await connection.query(PostgresQuery(unsafeSQL: "COMMENT ON INDEX \(building) IS '\(quoted)'"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "DROP INDEX\(concurrently) IF EXISTS \"\(name)\""), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER INDEX \(building) RENAME TO \"\(name)\""), logger: logger)
        }
    }
}
