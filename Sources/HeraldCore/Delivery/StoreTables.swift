/// One value of a stored row, as SQLite keeps it: what `herald store copy` moves from one store
/// to another without knowing the tables' meaning.
public enum TableValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// Rows of one table, in key order, with the names of their columns.
public struct TablePage: Sendable, Hashable {
    public var columns: [String]
    public var rows: [[TableValue]]

    public init(columns: [String], rows: [[TableValue]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// A store read table by table, as rows of plain values: the source of `herald store copy`.
public protocol TableSource: Sendable {
    /// Herald's tables, without the store's own bookkeeping (its migrations), in creation order.
    func tableNames() async throws -> [String]

    /// How many rows `table` holds.
    func rowCount(of table: String) async throws -> Int

    /// Up to `limit` rows of `table` after the page `after` ended (nil: from the first), in the
    /// table's key order, and the key of the last row to continue from (nil when the page is the
    /// last). The key is opaque to the caller.
    func page(of table: String, after key: [TableValue]?, limit: Int) async throws -> (page: TablePage, next: [TableValue]?)
}

/// What `herald store copy` did to one table.
public struct TableCopy: Sendable, Hashable {
    public var table: String
    /// Rows in the source.
    public var sourceRows: Int
    /// Rows in the target afterwards, counted in the copy's transaction.
    public var targetRows: Int

    public init(table: String, sourceRows: Int, targetRows: Int) {
        self.table = table
        self.sourceRows = sourceRows
        self.targetRows = targetRows
    }
}
