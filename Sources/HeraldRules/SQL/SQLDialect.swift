import Foundation

/// The database a rule's SQL is written for. Both select exactly the users the in-memory
/// evaluator accepts; they differ in spelling only.
///
/// ```swift
/// rule.sql(in: context)                                            // SQLite, `?` parameters
/// rule.sql(in: context, dialect: .postgres(zoneNames: zoneNames))  // PostgreSQL, `$1`, `$2`, …
/// ```
public enum SQLDialect: Sendable, Hashable {
    /// SQLite: attributes are JSON text read with `json_extract` when `json_type` is the declared
    /// type's, parameters are `?`, and the connection has the `herald_*` functions of
    /// `RuleSQLFunctions` registered.
    case sqlite
    /// PostgreSQL: attributes are JSONB, parameters are `$1`, `$2`, …, and the database has the
    /// functions of `PostgresStore`'s `v2-rules` migration.
    ///
    /// `today()` is read from a table of day starts that the compiler computes with
    /// `RuleFunctions.today`, the evaluator's own function, rather than with the server's time
    /// zone database, which can be another version than Foundation's and takes the later of two
    /// midnights where a clock goes back at midnight (Havana, the Azores). The table holds
    /// Foundation's known zone names and `zoneNames` (the server's, for aliases such as
    /// `US/Pacific` that Foundation accepts without listing them).
    case postgres(zoneNames: [String])
}
