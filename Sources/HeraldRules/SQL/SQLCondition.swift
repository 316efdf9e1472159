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
/// read only when their JSON type is the declared one, as `CASE WHEN json_type(users.attributes,
/// '$.<name>') IN (…) THEN json_extract(users.attributes, '$.<name>') END`, the expression an
/// index must use (see `attributeExpression(for:type:)`). The condition calls the `herald_*`
/// functions of `RuleSQLFunctions.all`, which the connection must have registered. In
/// PostgreSQL's dialect, attributes are read as `herald_string(users.attributes -> '<name>')` and
/// the like (see `postgresIndexElement(for:type:)`), with the functions of `PostgresStore`'s
/// migrations.
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

    /// The expression a rule uses to read the attribute `name` of `type`, for an expression index
    /// that the rule's SQL can use: the value when its JSON type is the declared one, NULL
    /// otherwise (see `sqliteRead(of:path:type:)`). `nil` for a list (searched with `json_each`,
    /// which no index serves) and for a name a rule cannot mention (anything but ASCII letters,
    /// digits and `_`, starting with a letter or `_`).
    ///
    /// ```sql
    /// CREATE INDEX users_attribute_country ON users (CASE WHEN json_type(attributes, '$.country') = 'text'
    ///     THEN json_extract(attributes, '$.country') END);
    /// ```
    public static func attributeExpression(for name: String, type: AttributeType) -> String? {
        guard let path = jsonPath(for: name), let scalar = ValueType(type)?.scalar else { return nil }
        return sqliteRead(of: "attributes", path: SQLFragment("'\(path)'"), type: scalar).sql
    }

    /// SQLite's read of a scalar attribute of `type` at `path` (a literal or a bound `?`) in the
    /// JSON column `column`: the value when `json_type` names a JSON type that
    /// `AttributeJSON.decode` reads as `type`, and NULL otherwise, as the evaluator sees a value of
    /// another type as missing (`json_extract` alone would return `"17"` for a number, and SQLite
    /// finds `'17' > 3`).
    static func sqliteRead(of column: String, path: SQLFragment, type: ScalarType) -> SQLFragment {
        .join(
            SQLFragment("CASE WHEN json_type(\(column), "), path, SQLFragment(") \(sqliteTypeTest(type)) THEN json_extract(\(column), "),
            path, ") END"
        )
    }

    /// SQLite's test of a JSON list at `path` in `column` whose elements are all of `element`
    /// (`AttributeJSON.decode` reads nothing of a list with one element of another type): an array
    /// without an element whose `json_each` type does not fit.
    static func sqliteListTest(of column: String, path: SQLFragment, element: ScalarType) -> SQLFragment {
        .join(
            SQLFragment("json_type(\(column), "), path, SQLFragment(") = 'array' AND NOT EXISTS (SELECT 1 FROM json_each(\(column), "),
            path, SQLFragment(") WHERE type \(sqliteTypeTest(element, negated: true)))")
        )
    }

    /// The test that a JSON type name, as `json_type` and `json_each` give it, is one that
    /// `AttributeJSON.decode` reads as `type`: a string is 'text', a number or a time 'integer' or
    /// 'real', a bool 'true' or 'false'.
    private static func sqliteTypeTest(_ type: ScalarType, negated: Bool = false) -> String {
        switch type {
        case .string: negated ? "<> 'text'" : "= 'text'"
        case .number, .time: negated ? "NOT IN ('integer', 'real')" : "IN ('integer', 'real')"
        case .bool: negated ? "NOT IN ('true', 'false')" : "IN ('true', 'false')"
        }
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
