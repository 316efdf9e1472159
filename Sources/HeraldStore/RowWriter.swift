import GRDB
import GRDBSQLite

/// Binds values straight into a statement's SQLite handle and steps it: the write path for rows
/// written by the hundred thousand (planning, and each delivery's claim and outcome), where
/// building GRDB's `StatementArguments` (an array of boxed values per row) costs more than
/// SQLite's own work.
///
/// Its statements are its own: GRDB caches statements by their SQL text and keeps track of
/// what it bound to them, so the SQL gets a leading comment that no other statement has, and
/// a statement is reset before its first use here.
/// Use it inside one transaction, on the connection's thread.
struct RowWriter {
    private let statement: Statement
    private let handle: SQLiteStatement

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: "/* RowWriter */ " + sql)
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
    }

    /// Binds `values` to the statement's parameters, in order (one value for each), and runs it.
    /// Returns the rows it changed.
    @discardableResult
    func run(_ db: Database, _ values: any RowValue...) throws -> Int {
        defer {
            sqlite3_reset(handle)
        }
        try bind(values, to: handle, of: statement)
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
        return db.sqliteConnection.map { Int(sqlite3_changes($0)) } ?? 0
    }
}

/// Steps a query's rows straight from its statement's SQLite handle, reading each column as
/// the caller asks: the read path of a delivery claim, where GRDB's `Row` (a copy of every value,
/// boxed, then decoded through generic conformances) cost more than the query.
///
/// Its statements are its own, as ``RowWriter``'s are. Use it inside a transaction, on the
/// connection's thread; a ``Columns`` is valid only within the closure it is given to.
struct RowReader {
    private let statement: Statement
    private let handle: SQLiteStatement

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: "/* RowReader */ " + sql)
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
    }

    /// Binds `values` to the statement's parameters, in order, and calls `row` with each row.
    func forEach(_ db: Database, _ values: any RowValue..., row: (Columns) throws -> Void) throws {
        defer {
            sqlite3_reset(handle)
        }
        try bind(values, to: handle, of: statement)
        let columns = Columns(handle: handle)
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
            }
            try row(columns)
        }
    }

    /// The current row's columns, by index from 0.
    struct Columns {
        fileprivate let handle: SQLiteStatement

        func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }
        func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }
        func int(_ index: Int32) -> Int { Int(sqlite3_column_int64(handle, index)) }
        func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }
        func optionalDouble(_ index: Int32) -> Double? { isNull(index) ? nil : double(index) }
        func optionalBool(_ index: Int32) -> Bool? { isNull(index) ? nil : sqlite3_column_int64(handle, index) != 0 }
        /// The column's text ("" for NULL).
        func string(_ index: Int32) -> String {
            guard let text = sqlite3_column_text(handle, index) else { return "" }
            let count = Int(sqlite3_column_bytes(handle, index))
            return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
        }
        func optionalString(_ index: Int32) -> String? { isNull(index) ? nil : string(index) }
    }
}

/// A value `RowWriter` binds without boxing it into a `DatabaseValue`.
protocol RowValue {
    func bind(to statement: SQLiteStatement, at index: Int32) -> Int32
}

extension String: RowValue {
    func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        var text = self
        return text.withUTF8 { bytes in
            // An empty buffer may have no address, which SQLite would read as NULL.
            guard let address = bytes.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, transient) }
            return sqlite3_bind_text(statement, index, address, Int32(bytes.count), transient)
        }
    }
}

extension Double: RowValue {
    func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        sqlite3_bind_double(statement, index, self)
    }
}

extension Int64: RowValue {
    func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        sqlite3_bind_int64(statement, index, self)
    }
}

extension Optional: RowValue where Wrapped: RowValue {
    func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        guard let self else { return sqlite3_bind_null(statement, index) }
        return self.bind(to: statement, at: index)
    }
}

/// SQLite copies the bytes it is given (`SQLITE_TRANSIENT`).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Binds `values` to the parameters of `statement` (whose SQLite handle is `handle`), in order,
/// one value for each: ``RowWriter``'s and ``RowReader``'s binding.
private func bind(_ values: [any RowValue], to handle: SQLiteStatement, of statement: Statement) throws {
    guard values.count == sqlite3_bind_parameter_count(handle) else {
        throw DatabaseError(message: "\(values.count) values for \(sqlite3_bind_parameter_count(handle)) parameters", sql: statement.sql)
    }
    for (offset, value) in values.enumerated() {
        let code = value.bind(to: handle, at: Int32(offset + 1))
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "SQLite refused value \(offset + 1)", sql: statement.sql)
        }
    }
}
