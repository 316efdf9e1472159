import Foundation
import GRDB
import HeraldCore

extension SQLiteStore: TableSource {
    public func tableNames() async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations' ORDER BY rowid
                """)
        }
    }

    public func rowCount(of table: String) async throws -> Int {
        try await read { db in
            try Self.requireTable(table, db)
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)") ?? 0
        }
    }

    /// Pages in the order of the table's rowid, or of its primary key for a table without one,
    /// continuing after the last row's key (a keyset, so every page costs the same).
    public func page(of table: String, after key: [TableValue]?, limit: Int) async throws -> (page: TablePage, next: [TableValue]?) {
        try await read { db in
            try Self.requireTable(table, db)
            let columns = try db.columns(in: table).map(\.name)
            let withoutRowID = try Bool.fetchOne(db, sql: "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) ?? false
            let keyColumns = withoutRowID ? try db.primaryKey(table).columns : ["rowid"]
            let keyList = keyColumns.map(\.quotedDatabaseIdentifier).joined(separator: ", ")
            let selected = (keyColumns.map(\.quotedDatabaseIdentifier) + columns.map(\.quotedDatabaseIdentifier)).joined(separator: ", ")
            var sql = "SELECT \(selected) FROM \(table.quotedDatabaseIdentifier)"
            var arguments = StatementArguments()
            if let key {
                sql += " WHERE (\(keyList)) > (\(Array(repeating: "?", count: key.count).joined(separator: ", ")))"
                arguments = StatementArguments(key.map(\.databaseValue))
            }
            sql += " ORDER BY \(keyList) LIMIT ?"
            arguments += [limit]
            var rows: [[TableValue]] = []
            var last: [TableValue]?
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                let values = row.databaseValues.map(TableValue.init)
                last = Array(values.prefix(keyColumns.count))
                rows.append(Array(values.dropFirst(keyColumns.count)))
            }
            return (TablePage(columns: columns, rows: rows), rows.count < limit ? nil : last)
        }
    }

    private static func requireTable(_ table: String, _ db: Database) throws {
        guard try db.tableExists(table) else { throw StoreError(.missing, "the SQLite store has no table '\(table)'") }
    }
}

extension TableValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}
