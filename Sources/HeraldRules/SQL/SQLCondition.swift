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
}

/// A parameterised condition for the WHERE clause of a query over the `users` table:
/// `SELECT id FROM users WHERE <sql> ORDER BY id`, with `arguments` bound to its `?` in order.
///
/// The text depends only on the shape of the rule: two rules that differ only in their literal
/// values have the same `sql` and different `arguments`, so nothing a rule's author writes inside
/// a string can change the query. Columns are qualified (`users.email`); declared attributes are
/// read as `json_extract(users.attributes, '$.<name>')`, the expression an index must use
/// (see `attributeExpression(for:)`). The condition calls the `herald_*` functions of
/// `RuleSQLFunctions.all`, which the connection must have registered.
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
        }
    }
}
