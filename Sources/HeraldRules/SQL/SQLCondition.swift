import Foundation
import HeraldCore

/// A value bound to a `?` of an SQL statement.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    /// An instant in seconds since 1970, bound as a REAL; shown as ISO 8601 in `--explain`.
    case time(Double)
    /// A boolean, which only PostgreSQL's SQL binds (SQLite's uses 1 and 0).
    case bool(Bool)
}

/// A parameterised condition for the WHERE clause of a query over the `users` table:
/// `SELECT id FROM users WHERE <sql> ORDER BY id`, with `arguments` bound to its `?` in order
/// (to `$1`, `$2`, … in PostgreSQL's dialect).
///
/// The text depends only on the shape of the rule: two rules that differ only in their literal
/// values have the same `sql` and different `arguments`, so nothing a rule's author writes inside
/// a string can change the query. Columns are qualified (`users.email`); declared attributes are
/// read as `json_extract(users.attributes, '$.<name>')`, the expression an index must use
/// (see `attributeExpression(for:)`). The condition calls the `herald_*` functions of
/// `RuleSQLFunctions.all`, which the connection must have registered. In PostgreSQL's dialect,
/// attributes are read as `herald_string(users.attributes -> '<name>')` and the like (see
/// `postgresIndexElement(for:type:)`), with the functions of `PostgresStore`'s migrations.
public struct SQLCondition: Sendable, Hashable, CustomStringConvertible {
    /// The condition, with a `?` for each argument.
    public var sql: String
    /// The values of the `?`, in order.
    public var arguments: [SQLValue]

    /// A condition and its arguments.
    public init(sql: String, arguments: [SQLValue]) {
        self.sql = sql
        self.arguments = arguments
    }

    /// The SQL and its arguments, for `--explain` and logs of the rule's shape.
    public var description: String {
        arguments.isEmpty ? sql : sql + " -- " + arguments.map(\.description).joined(separator: ", ")
    }

    /// The expression a rule uses to read the attribute `name`, for an expression index that the
    /// rule's SQL can use: `json_extract(attributes, '$.country')`. `nil` for a name a rule cannot
    /// mention (anything but ASCII letters, digits and `_`, starting with a letter or `_`).
    ///
    /// ```sql
    /// CREATE INDEX users_country ON users(json_extract(attributes, '$.country'));
    /// ```
    public static func attributeExpression(for name: String) -> String? {
        guard let path = jsonPath(for: name) else { return nil }
        return "json_extract(attributes, '\(path)')"
    }

    /// The element of a PostgreSQL expression index on the attribute `name` of `type` that the
    /// rule's SQL can use: the typed read it compares, in the "C" collation for strings. `nil` for
    /// a list (searched with `jsonb_array_elements`, which no index serves) and for a name a rule
    /// cannot mention.
    ///
    /// ```sql
    /// CREATE INDEX users_attribute_country ON users ((herald_string(attributes -> 'country')) COLLATE "C");
    /// ```
    public static func postgresIndexElement(for name: String, type: AttributeType) -> String? {
        guard jsonPath(for: name) != nil, let valueType = ValueType(type), !valueType.isList else { return nil }
        let read = "(\(SQLCompiler.postgresReader(of: valueType))(attributes -> '\(name)'))"
        return valueType == .string ? read + " COLLATE \"C\"" : read
    }

    /// `$.name` for a name made only of identifier characters, which need no quoting in an SQL
    /// string or a JSON path.
    static func jsonPath(for name: String) -> String? {
        guard let first = name.unicodeScalars.first, Lexer.isIdentifierStart(first),
              name.unicodeScalars.allSatisfy(Lexer.isIdentifierContinue)
        else { return nil }
        return "$.\(name)"
    }
}

extension SQLValue: CustomStringConvertible {
    /// The value as SQL would spell it, for display only (never spliced into a query).
    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .time(let value): ISO8601.string(from: Date(timeIntervalSince1970: value))
        case .text(let value): "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
        case .bool(let value): value ? "TRUE" : "FALSE"
        }
    }
}
