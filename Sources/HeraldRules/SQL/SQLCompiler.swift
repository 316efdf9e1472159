import Foundation
import HeraldCore

/// A piece of SQL and the arguments of its `?`, in order. Pieces concatenate with their
/// arguments, so a sub-expression used twice simply binds its arguments twice.
struct SQLFragment: ExpressibleByStringLiteral {
    var sql: String
    var arguments: [SQLValue]

    init(_ sql: String, _ arguments: [SQLValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    init(stringLiteral value: String) {
        self.init(value)
    }

    static func bind(_ value: SQLValue) -> SQLFragment { SQLFragment("?", [value]) }

    /// The pieces one after the other.
    static func join(_ pieces: SQLFragment...) -> SQLFragment { join(pieces) }

    /// The same SQL with PostgreSQL's numbered parameters, `$1`, `$2`, … in place of each `?`.
    /// The compiler writes `?` only as a parameter: never in a name, a literal or an operator.
    func numbered() -> SQLFragment {
        var result = ""
        result.reserveCapacity(sql.utf8.count + arguments.count * 2)
        var number = 0
        for character in sql {
            if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        precondition(number == arguments.count, "\(number) parameters for \(arguments.count) arguments")
        return SQLFragment(result, arguments)
    }

    static func join(_ pieces: [SQLFragment], separator: String = "") -> SQLFragment {
        var result = SQLFragment("")
        for (index, piece) in pieces.enumerated() {
            if index > 0 { result.sql += separator }
            result.sql += piece.sql
            result.arguments += piece.arguments
        }
        return result
    }
}

/// Compiles a checked expression to a WHERE condition over `users` with the evaluator's
/// two-valued logic.
///
/// SQL's comparisons are NULL when an operand is NULL, and `NOT NULL` is NULL, whereas a rule's
/// comparison with a missing value is false and its negation true. So each test compiles in one
/// of two polarities: the positive form is TRUE exactly when the test holds (and FALSE or NULL
/// otherwise, which WHERE treats alike), the negative form TRUE exactly when it does not. `not`
/// switches polarity, `and`/`or` follow De Morgan, and a comparison's negative form is
/// `(comparison) IS NOT 1` (`IS NOT TRUE` in PostgreSQL). Plain comparisons thus stay plain
/// (`<attribute read> = ?`), which an expression index can serve.
///
/// An attribute whose stored JSON type is not the declared one (the schema changed after an
/// import) is missing, as `AttributeJSON.decode` leaves it out: SQLite reads a scalar as
/// `CASE WHEN json_type(…) IN (…) THEN json_extract(…) END` (`SQLCondition.sqliteRead`, also the
/// attribute indexes' expression), and a list through `users.attributes` only when it is an
/// array of the declared element type (`listDocument`).
///
/// PostgreSQL differs in spelling (see `SQLDialect`): attributes are read from JSONB by
/// `herald_string`, `herald_number`, `herald_bool` and `herald_list`, which give NULL for a value
/// of another type; strings are compared in the "C" collation, which orders them by bytes as
/// SQLite and the evaluator do; booleans are booleans; sums call `herald_add` and
/// `herald_subtract`, which overflow to infinity as doubles do instead of raising an error.
struct SQLCompiler {
    let context: RuleContext
    let dialect: SQLDialect
    private var aliases = 0

    init(context: RuleContext, dialect: SQLDialect = .sqlite) {
        self.context = context
        self.dialect = dialect
    }

    private var isPostgres: Bool {
        if case .postgres = dialect { return true }
        return false
    }

    /// The user's received events named `event`, up to now (and within `within` seconds):
    /// `received_events_by_user (user_id, name, received_at)` answers it from the index.
    func receivedEvents(_ event: String, within: Double?, selecting column: String) -> SQLFragment {
        let now = context.now.timeIntervalSince1970
        var sql = SQLFragment.join(
            SQLFragment("SELECT \(column) FROM received_events WHERE received_events.user_id = users.id AND received_events.name = "),
            SQLFragment.bind(.text(event)), " AND received_events.received_at <= ", SQLFragment.bind(.time(now))
        )
        if let within {
            sql = SQLFragment.join(sql, " AND received_events.received_at > ", SQLFragment.bind(.time(now - within)))
        }
        return sql
    }

    mutating func condition(_ condition: Condition, positive: Bool = true) -> SQLFragment {
        switch condition {
        case .isTrue(let value):
            switch value {
            case .condition(let inner):
                return self.condition(inner, positive: positive)
            case .hasDevice, .performed:
                let exists = self.value(value)
                return positive ? exists : .join("NOT ", exists)
            default:
                let read = self.value(value)
                if isPostgres { return .join("(", read, positive ? " = TRUE)" : " IS NOT TRUE)") }
                return .join("(", read, positive ? " = 1)" : " IS NOT 1)")
            }
        case .not(let inner):
            return self.condition(inner, positive: !positive)
        case .and(let parts):
            let compiled = parts.map { self.condition($0, positive: positive) }
            return .join("(", .join(compiled, separator: positive ? " AND " : " OR "), ")")
        case .or(let parts):
            let compiled = parts.map { self.condition($0, positive: positive) }
            return .join("(", .join(compiled, separator: positive ? " OR " : " AND "), ")")
        case .compare(let op, let left, let right):
            if case .list = left.type { return listComparison(op, left, right, positive: positive) }
            let sqlOperator = switch op {
            case .equal: " = "
            case .notEqual: " <> "
            default: " \(op.rawValue) "
            }
            return polarized(.join(ordered(value(left), left.type), SQLFragment(sqlOperator), value(right)), positive: positive)
        case .isNull(let operand, let negated):
            let isNull = positive != negated
            return .join("(", value(operand), isNull ? " IS NULL)" : " IS NOT NULL)")
        case .inLiterals(let operand, let constants, let negated):
            let read = value(operand)
            if constants.isEmpty {
                // `x in []` is false; `x not in []` holds for any x that is not missing.
                if !negated { return SQLFragment(truth(!positive)) }
                return .join("(", read, positive ? " IS NOT NULL)" : " IS NULL)")
            }
            let list = SQLFragment.join(constants.map { .bind(argument($0)) }, separator: ", ")
            return polarized(.join(ordered(read, operand.type), negated ? " NOT IN (" : " IN (", list, ")"), positive: positive)
        case .inList(let element, let list, let negated):
            let read = value(element)
            let exists: SQLFragment
            if isPostgres {
                let item = alias()
                exists = .join(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(", source(of: list), ") AS ", item, "(value) WHERE ",
                    typedElement(.join(item, ".value"), of: list.type), " = ", read, ")"
                )
            } else {
                exists = .join(
                    "EXISTS (SELECT 1 FROM json_each(", source(of: list), ") AS ", alias(), " WHERE ", lastAlias, ".value = ", read, ")"
                )
            }
            if !negated { return positive ? exists : .join("NOT ", exists) }
            let whole = value(list)
            if positive {
                return .join("(", read, " IS NOT NULL AND ", whole, " IS NOT NULL AND NOT ", exists, ")")
            }
            return .join("(", read, " IS NULL OR ", whole, " IS NULL OR ", exists, ")")
        case .text(let op, let left, let right):
            let test: SQLFragment = switch (op, isPostgres) {
            case (.contains, false): .join("instr(", value(left), ", ", value(right), ") > 0")
            case (.startsWith, false): .join("instr(", value(left), ", ", value(right), ") = 1")
            case (_, false): .join("herald_ends_with(", value(left), ", ", value(right), ")")
            // Both compare UTF-8 bytes in any deterministic collation, and every database
            // default collation is deterministic.
            case (.contains, true): .join("strpos(", value(left), ", ", value(right), ") > 0")
            case (.startsWith, true): .join("starts_with(", value(left), ", ", value(right), ")")
            case (_, true): .join("herald_ends_with(", value(left), ", ", value(right), ")")
            }
            return polarized(test, positive: positive)
        case .matches(let operand, let pattern):
            if isPostgres {
                // A translation into PostgreSQL's own syntax, written only of literal scalars,
                // scalar ranges and groups, so that no locale or collation plays a part.
                return polarized(.join(value(operand), " COLLATE \"C\" ~ ", .bind(.text(pattern.postgresSource))), positive: positive)
            }
            return polarized(.join("herald_matches(", value(operand), ", ", .bind(.text(pattern.source)), ")"), positive: positive)
        }
    }

    /// A test that is NULL when an operand is missing: as is, or negated with `IS NOT 1`, which is
    /// TRUE for both FALSE and NULL.
    private func polarized(_ test: SQLFragment, positive: Bool) -> SQLFragment {
        if positive { return .join("(", test, ")") }
        return .join("((", test, isPostgres ? ") IS NOT TRUE)" : ") IS NOT 1)")
    }

    /// A condition that is always true or always false.
    private func truth(_ value: Bool) -> String {
        isPostgres ? (value ? "TRUE" : "FALSE") : (value ? "1" : "0")
    }

    /// The left operand of an ordering or an equality: a string is compared in PostgreSQL's "C"
    /// collation, which orders by bytes (`RuleFunctions.compare`) whatever the database's default,
    /// and is the collation of the attribute indexes.
    private func ordered(_ read: SQLFragment, _ type: ValueType) -> SQLFragment {
        guard isPostgres, type == .string else { return read }
        return .join("(", read, " COLLATE \"C\")")
    }

    private var lastAlias: SQLFragment { SQLFragment("je\(aliases)") }

    /// A fresh name for a `json_each` in a subquery; numbered by position, so the SQL text still
    /// depends only on the rule's shape.
    private mutating func alias() -> SQLFragment {
        aliases += 1
        return lastAlias
    }

    /// The arguments of `json_each` or `json_array_length` for a list: for an attribute,
    /// `users.attributes` (NULL unless the attribute is a list of its declared element type) and
    /// its path (no JSON copy); otherwise the list's JSON. In PostgreSQL, the list's JSONB.
    private mutating func source(of list: Value) -> SQLFragment {
        if !isPostgres, case .attribute(let name, .list(let element?)) = list {
            return .join(Self.listDocument(name, element: element), ", ", Self.path(of: name))
        }
        return value(list)
    }

    /// SQLite's path of the attribute `name` in `users.attributes`: written in the SQL for a name
    /// made of identifier characters (which an expression index can then match), bound otherwise.
    private static func path(of name: String) -> SQLFragment {
        if let path = SQLCondition.jsonPath(for: name) { return SQLFragment("'\(path)'") }
        return .bind(.text("$.\"\(name)\""))
    }

    /// `users.attributes` when the attribute `name` is a JSON array of `element`s, and NULL
    /// otherwise, for which `json_each` has no rows and `json_array_length` and `json_extract`
    /// give NULL: a list of another type reads as missing, as `AttributeJSON.decode` leaves it out.
    private static func listDocument(_ name: String, element: ScalarType) -> SQLFragment {
        .join("CASE WHEN ", SQLCondition.sqliteListTest(of: "users.attributes", path: path(of: name), element: element), " THEN users.attributes END")
    }

    /// A JSONB element of a list of `type`, read as the SQL value of its element type.
    private func typedElement(_ json: SQLFragment, of type: ValueType) -> SQLFragment {
        guard case .list(let element) = type else { return json }
        return .join(SQLFragment(Self.postgresReader(of: element.map(ValueType.init) ?? .string)), "(", json, ")")
    }

    private mutating func listComparison(_ op: ComparisonOperator, _ left: Value, _ right: Value, positive: Bool) -> SQLFragment {
        let equal: SQLFragment
        let bothPresent: SQLFragment
        let arrayLength = isPostgres ? "jsonb_array_length(" : "json_array_length("
        switch (left, right) {
        case (.list(let a, _), .list(let b, _)):
            let same = a.count == b.count && zip(a, b).allSatisfy { x, y in
                guard let x = x.attributeValue, let y = y.attributeValue else { return false }
                return Evaluator.same(x, y)
            }
            equal = .join("(", .bind(.integer(same ? 1 : 0)), " = 1)")
            bothPresent = SQLFragment(truth(true))
        case (.list(let constants, _), let list), (let list, .list(let constants, _)):
            // Element by element against bound values: exact, with no JSON written here.
            let length = SQLFragment.join(SQLFragment(arrayLength), source(of: list), ")")
            var terms = [SQLFragment.join(length, " = ", .bind(.integer(Int64(constants.count))))]
            for (index, constant) in constants.enumerated() {
                terms.append(.join(element(index, of: list), " = ", .bind(argument(constant))))
            }
            equal = .join("(", .join(terms, separator: " AND "), ")")
            bothPresent = .join("(", length, " IS NOT NULL)")
        default:
            let leftLength = SQLFragment.join(SQLFragment(arrayLength), source(of: left), ")")
            let rightLength = SQLFragment.join(SQLFragment(arrayLength), source(of: right), ")")
            let first = alias()
            let second = alias()
            if isPostgres {
                equal = .join(
                    "(", leftLength, " = ", rightLength, " AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(", source(of: left),
                    ") WITH ORDINALITY AS ", first, "(value, key) JOIN jsonb_array_elements(", source(of: right),
                    ") WITH ORDINALITY AS ", second, "(value, key) ON ", first, ".key = ", second, ".key WHERE ",
                    typedElement(.join(first, ".value"), of: left.type), " IS DISTINCT FROM ",
                    typedElement(.join(second, ".value"), of: left.type), "))"
                )
            } else {
                equal = .join(
                    "(", leftLength, " = ", rightLength, " AND NOT EXISTS (SELECT 1 FROM json_each(", source(of: left), ") AS ", first,
                    " JOIN json_each(", source(of: right), ") AS ", second, " ON ", first, ".key = ", second, ".key WHERE ",
                    first, ".value IS NOT ", second, ".value))"
                )
            }
            bothPresent = .join("(", leftLength, " IS NOT NULL AND ", rightLength, " IS NOT NULL)")
        }
        if op == .equal { return polarized(equal, positive: positive) }
        return polarized(.join(bothPresent, " AND NOT ", equal), positive: positive)
    }

    /// The `index`th element of a list value.
    private mutating func element(_ index: Int, of list: Value) -> SQLFragment {
        if isPostgres {
            return typedElement(.join(value(list), SQLFragment(" -> \(index)")), of: list.type)
        }
        if case .attribute(let name, .list(let element?)) = list, let path = SQLCondition.jsonPath(for: name) {
            return .join("json_extract(", Self.listDocument(name, element: element), SQLFragment(", '\(path)[\(index)]')"))
        }
        return .join("json_extract(", value(list), SQLFragment(", '$[\(index)]')"))
    }

    /// The value of arithmetic on literals and `now()`, computed as the evaluator computes it
    /// (left to right in doubles; NaN when the result is missing); `nil` when it reads a user.
    private func constantNumber(_ value: Value) -> Double? {
        switch value {
        case .constant(.null):
            return .nan
        case .constant(let constant):
            return constant.number
        case .now:
            return context.now.timeIntervalSince1970
        case .arithmetic(let base, let steps, _):
            guard var result = constantNumber(base) else { return nil }
            for step in steps {
                guard let operand = constantNumber(step.operand) else { return nil }
                result = step.isSubtraction ? result - operand : result + operand
            }
            return result
        default:
            return nil
        }
    }

    static func argument(_ constant: Constant) -> SQLValue {
        switch constant {
        case .string(let text): .text(text)
        case .number(let number), .duration(let number): .real(number)
        case .time(let instant): .time(instant)
        case .bool(let flag): .integer(flag ? 1 : 0)
        case .null: .null
        }
    }

    /// A literal's bound value: SQLite has no booleans (1 and 0), PostgreSQL has.
    private func argument(_ constant: Constant) -> SQLValue {
        if isPostgres, case .bool(let flag) = constant { return .bool(flag) }
        return Self.argument(constant)
    }

    /// PostgreSQL's type for a value of `type`, for a typed NULL.
    private static func postgresType(of type: ValueType) -> String? {
        switch type {
        case .string: "text"
        case .number, .time, .duration: "double precision"
        case .bool: "boolean"
        case .list: "jsonb"
        case .null: nil
        }
    }

    /// The function that reads a JSONB value as the SQL value of `type`, and NULL for a value of
    /// another type (as `AttributeJSON.decode` leaves it out).
    static func postgresReader(of type: ValueType) -> String {
        switch type {
        case .string: "herald_string"
        case .bool: "herald_bool"
        default: "herald_number"
        }
    }

    /// The JSON type of a list's elements, as `jsonb_typeof` names it.
    private static func jsonType(of element: ScalarType?) -> String {
        switch element {
        case .string, nil: "string"
        case .number, .time: "number"
        case .bool: "boolean"
        }
    }

    // MARK: Values

    /// A value that is NULL exactly when the evaluator's is missing. Strings are TEXT, numbers,
    /// times (seconds) and durations (seconds) are numbers, bools are 0 or 1, lists JSON arrays.
    /// In PostgreSQL numbers are `double precision`, bools `boolean` and lists JSONB.
    mutating func value(_ value: Value) -> SQLFragment {
        switch value {
        case .constant(let constant):
            if isPostgres, case .null(let type) = constant {
                // A bare NULL has no type, and PostgreSQL cannot always infer one.
                return SQLFragment(Self.postgresType(of: type).map { "CAST(NULL AS \($0))" } ?? "NULL")
            }
            return .bind(argument(constant))
        case .list(let constants, _):
            let items = SQLFragment.join(constants.map { .bind(argument($0)) }, separator: ", ")
            return .join(isPostgres ? "jsonb_build_array(" : "json_array(", items, ")")
        case .field(let field):
            return SQLFragment("users.\(field.column)")
        case .attribute(let name, let type):
            if isPostgres {
                let json: SQLFragment = SQLCondition.jsonPath(for: name) != nil
                    ? SQLFragment("users.attributes -> '\(name)'") : .join("users.attributes -> ", .bind(.text(name)))
                if case .list(let element) = type {
                    return .join("herald_list(", json, SQLFragment(", '\(Self.jsonType(of: element))')"))
                }
                return .join(SQLFragment(Self.postgresReader(of: type)), "(", json, ")")
            }
            // Read only as the declared type: a value of another JSON type is NULL (missing).
            switch type {
            case .list(let element?):
                return .join("json_extract(", Self.listDocument(name, element: element), ", ", Self.path(of: name), ")")
            default:
                guard let scalar = type.scalar else { preconditionFailure("an attribute of type \(type)") }
                return SQLCondition.sqliteRead(of: "users.attributes", path: Self.path(of: name), type: scalar)
            }
        case .now:
            return .bind(.time(context.now.timeIntervalSince1970))
        case .today:
            if case .postgres(let zoneNames) = dialect {
                // The day starts the evaluator computes, for every zone whose day does not start
                // when the fallback's does; any other zone, valid or not, starts with the fallback.
                let table = TodayTable(now: context.now.timeIntervalSince1970, defaultZone: context.defaultTimezone, extraZoneNames: zoneNames)
                return .join(
                    "COALESCE(CAST(CAST(", .bind(.text(table.json)), " AS jsonb) ->> users.timezone AS double precision), ",
                    .bind(.time(table.fallback)), ")"
                )
            }
            return .join(
                "herald_today(", .bind(.time(context.now.timeIntervalSince1970)), ", users.timezone, ",
                .bind(.text(context.defaultTimezone)), ")"
            )
        case .lower(let operand):
            return .join("herald_lower(", self.value(operand), ")")
        case .length(let operand):
            if case .list(let constants, _) = operand {
                return .bind(isPostgres ? .real(Double(constants.count)) : .integer(Int64(constants.count)))
            }
            if isPostgres {
                if case .list = operand.type { return .join("CAST(jsonb_array_length(", source(of: operand), ") AS double precision)") }
                return .join("CAST(herald_len(", self.value(operand), ") AS double precision)")
            }
            if case .list = operand.type { return .join("json_array_length(", source(of: operand), ")") }
            return .join("herald_len(", self.value(operand), ")")
        case .daysSince(let operand):
            return .join("herald_days_since(", .bind(.time(context.now.timeIntervalSince1970)), ", ", self.value(operand), ")")
        case .bucket(let count):
            let call = SQLFragment.join("herald_bucket(", .bind(.text(context.campaignID)), ", users.id, ", .bind(.integer(count)), ")")
            return isPostgres ? .join("CAST(", call, " AS double precision)") : call
        case .performed(let event, let within):
            return .join("EXISTS (", receivedEvents(event, within: within, selecting: "1"), ")")
        case .eventCount(let event, let within):
            let count = isPostgres ? "CAST(COUNT(*) AS double precision)" : "COUNT(*)"
            return .join("(", receivedEvents(event, within: within, selecting: count), ")")
        case .hasDevice(let platform):
            var sql = SQLFragment("EXISTS (SELECT 1 FROM devices WHERE devices.user_id = users.id")
            if let platform {
                sql = .join(sql, " AND devices.platform = ", .bind(.text(platform.rawValue)))
            }
            return .join(sql, isPostgres ? " AND devices.active)" : " AND devices.active = 1)")
        case .arithmetic(let base, let steps, let type):
            if let folded = constantNumber(value) {
                // `now() - 30d` is one bound value, which the planner can compare with an index.
                if folded.isNaN, isPostgres { return "CAST(NULL AS double precision)" }
                return .bind(folded.isNaN ? .null : type == .time ? .time(folded) : .real(folded))
            }
            if isPostgres {
                // PostgreSQL raises an error where a double sum overflows; these give infinity,
                // and NULL for infinity minus infinity, as the evaluator does.
                var result = self.value(base)
                for step in steps {
                    result = .join(step.isSubtraction ? "herald_subtract(" : "herald_add(", result, ", ", self.value(step.operand), ")")
                }
                return result
            }
            // REAL arithmetic throughout, as in Swift: integers read from JSON would otherwise add
            // exactly beyond 2^53 where doubles round.
            // SQL's `+` and `-` associate to the left as the rule's do, so the chain needs no
            // parentheses (each would cost SQLite's parser a stack entry); only an operand that is
            // itself a sum does.
            var result = SQLFragment.join("CAST(", self.value(base), " AS REAL)")
            for step in steps {
                var operand = self.value(step.operand)
                if case .arithmetic = step.operand, constantNumber(step.operand) == nil {
                    operand = .join("(", operand, ")")
                }
                result = .join(result, step.isSubtraction ? " - " : " + ", operand)
            }
            return result
        case .condition(let condition):
            if isPostgres { return .join("(CASE WHEN ", self.condition(condition), " THEN TRUE ELSE FALSE END)") }
            return .join("(CASE WHEN ", self.condition(condition), " THEN 1 ELSE 0 END)")
        }
    }
}
