import Foundation
import HeraldCore
import PostgresNIO

extension PostgresStore {
    /// Copies every table of `source` (a SQLite store) into this database, which must hold no
    /// Herald data yet, in one transaction: either everything is copied and every table's count
    /// matches the source's, or nothing is written. Ids are kept, and the sequences that number
    /// new rows continue after the copied ones.
    ///
    /// Values keep their meaning across the two type systems: SQLite's 0 and 1 become booleans
    /// where PostgreSQL's column is one, JSON text becomes `jsonb`, blobs become `bytea`.
    ///
    /// - Parameters:
    ///   - pageSize: rows read and written at a time (one statement each).
    ///   - progress: called after each page with the table and its rows copied so far.
    /// - Throws: ``StoreError`` when the database already holds data, when the source has rows
    ///   in a table or column this database lacks (its migrations are older), or when a count
    ///   differs after the copy; nothing is written then.
    public func copy(
        from source: any TableSource, pageSize: Int = 5_000, progress: @escaping @Sendable (_ table: String, _ copied: Int) -> Void = { _, _ in }
    ) async throws -> [TableCopy] {
        let tables = try await source.tableNames()
        for table in tables where !Self.isPlainIdentifier(table) {
            throw StoreError(.corrupt, "the source has a table named \(Quoted.visible(table)), which Herald never creates")
        }
        var sourceCounts: [String: Int] = [:]
        for table in tables { sourceCounts[table] = try await source.rowCount(of: table) }
        let server = "PostgreSQL at \(location.host):\(location.port)/\(location.database)"
        return try await transaction { connection in
            let target = try await Self.targetColumns(connection, logger: logger)
            let lacking = tables.filter { (sourceCounts[$0] ?? 0) > 0 && target[$0] == nil }
            guard lacking.isEmpty else {
                throw StoreError(.missing, """
                    \(server) has no table \(lacking.joined(separator: ", ")) that the SQLite store has rows in: \
                    this herald is older than the store's data, or the tables are not Herald's
                    """)
            }
            for table in tables where target[table] != nil {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(table))"), logger: logger)
                for try await exists in rows.decode(Bool.self) where exists {
                    throw StoreError(.conflict, """
                        \(server) already holds Herald data (table \(table) has rows): `herald store copy` fills an empty database, \
                        so that nothing is merged twice or overwritten
                        """)
                }
            }
            var copies: [TableCopy] = []
            for table in try await Self.parentsFirst(tables, connection, logger: logger) {
                guard let columns = target[table] else { continue }
                var key: [TableValue]?
                var copied = 0
                repeat {
                    let (page, next) = try await source.page(of: table, after: key, limit: pageSize)
                    key = next
                    guard !page.rows.isEmpty else { break }
                    let json = try Self.jsonRows(page, table: table, target: columns)
                    let names = json.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                    var binds = PostgresBindings()
                    binds.append(json.text)
                    let insert = PostgresQuery(
                        unsafeSQL: "INSERT INTO \(table) (\(names)) SELECT \(names) FROM jsonb_populate_recordset(NULL::\(table), $1::jsonb)",
                        binds: binds
                    )
                    _ = try await connection.query(insert, logger: logger)
                    copied += page.rows.count
                    progress(table, copied)
                } while key != nil
                for column in columns where column.numbered {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table)', '\(column.name)'), COALESCE((SELECT MAX("\(column.name)") FROM \(table)), 0) + 1, false)
                        """), logger: logger)
                }
                var counted = 0
                for try await count in try await connection.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger: logger).decode(Int.self) {
                    counted = count
                }
                let expected = sourceCounts[table] ?? 0
                guard counted == expected else {
                    throw StoreError(.corrupt, "table \(table): the SQLite store has \(expected) rows and \(counted) arrived; nothing was copied")
                }
                copies.append(TableCopy(table: table, sourceRows: expected, targetRows: counted))
            }
            return copies
        }
    }

    /// `tables` in an order where every table comes after the tables its foreign keys name in
    /// this database (the source's own order otherwise), so that each row finds its parent.
    static func parentsFirst(_ tables: [String], _ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT child.relname::text, parent.relname::text
            FROM pg_constraint c
            JOIN pg_class child ON child.oid = c.conrelid
            JOIN pg_class parent ON parent.oid = c.confrelid
            JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE c.contype = 'f' AND n.nspname = current_schema()
            """, logger: logger)
        var parents: [String: Set<String>] = [:]
        for try await (child, parent) in rows.decode((String, String).self) where child != parent {
            parents[child, default: []].insert(parent)
        }
        var ordered: [String] = []
        var placed = Set<String>()
        var waiting = tables
        while !waiting.isEmpty {
            // The first table whose parents are all placed (or not copied at all); a cycle, which
            // Herald's schema has none of, falls back to the source's order.
            let index = waiting.firstIndex { table in
                (parents[table] ?? []).allSatisfy { placed.contains($0) || !tables.contains($0) }
            } ?? 0
            let table = waiting.remove(at: index)
            ordered.append(table)
            placed.insert(table)
        }
        return ordered
    }

    /// A column of this database: its name, type, and whether a sequence numbers it.
    struct TargetColumn: Sendable {
        var name: String
        var type: String
        var numbered: Bool
    }

    /// Herald's tables in this database's schema, with their columns.
    static func targetColumns(_ connection: PostgresConnection, logger: Logger) async throws -> [String: [TargetColumn]] {
        let rows = try await connection.query("""
            SELECT table_name::text, column_name::text, data_type::text,
                   (COALESCE(column_default, '') LIKE 'nextval(%' OR is_identity = 'YES')
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name <> 'herald_migrations'
            ORDER BY table_name, ordinal_position
            """, logger: logger)
        var columns: [String: [TargetColumn]] = [:]
        for try await (table, name, type, numbered) in rows.decode((String, String, String, Bool).self) {
            columns[table, default: []].append(TargetColumn(name: name, type: type, numbered: numbered))
        }
        return columns
    }

    /// A page as the JSON array `jsonb_populate_recordset` reads, with the columns it fills.
    ///
    /// - Throws: ``StoreError`` for a source column this database lacks that holds a value, or a
    ///   value that has no form in the column's type.
    static func jsonRows(_ page: TablePage, table: String, target: [TargetColumn]) throws -> (text: String, columns: [String]) {
        let byName = Dictionary(target.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var kept: [(index: Int, column: TargetColumn)] = []
        for (index, name) in page.columns.enumerated() {
            if let column = byName[name] {
                kept.append((index, column))
            } else if page.rows.contains(where: { $0[index] != .null }) {
                throw StoreError(.missing, "table \(table) has no column \(name) in PostgreSQL, and the SQLite store has values in it")
            }
        }
        var text = "["
        for (number, row) in page.rows.enumerated() {
            if number > 0 { text += "," }
            text += "{"
            for (position, (index, column)) in kept.enumerated() {
                if position > 0 { text += "," }
                JSONText.appendString(column.name, to: &text)
                text += ":"
                try append(row[index], as: column, table: table, to: &text)
            }
            text += "}"
        }
        text += "]"
        return (text, kept.map(\.column.name))
    }

    private static func append(_ value: TableValue, as column: TargetColumn, table: String, to text: inout String) throws {
        switch (value, column.type) {
        case (.null, _):
            text += "null"
        case (.integer(let number), "boolean"):
            text += number == 0 ? "false" : "true"
        case (.text(let json), "jsonb"), (.text(let json), "json"):
            // Herald writes JSON text where PostgreSQL keeps jsonb: the value is the document.
            guard (try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])) != nil else {
                throw StoreError(.corrupt, "table \(table), column \(column.name): \(Quoted.visible(String(json.prefix(60)))) is not JSON")
            }
            text += json
        case (.integer(let number), _):
            text += String(number)
        case (.real(let number), _):
            guard number.isFinite else { throw StoreError(.corrupt, "table \(table), column \(column.name): \(number) has no form in PostgreSQL's JSON") }
            text += "\(number)"
        case (.text(let string), _):
            JSONText.appendString(string, to: &text)
        case (.blob(let bytes), _):
            // bytea's hex input form.
            text += "\"\\\\x" + bytes.lowercaseHex + "\""
        }
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
        return name.count <= 63 && name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}
