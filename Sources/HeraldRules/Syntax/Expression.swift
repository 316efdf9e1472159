/// The syntax tree of an expression, as written. Every node keeps the offset (in Unicode scalars
/// from the start of the expression) where it starts, so that the type checker can point at it.
struct Expression: Sendable {
    indirect enum Kind: Sendable {
        case literal(Literal)
        /// `["KR", "JP"]`: literals only.
        case list([Expression])
        /// `country`, `user.email`, `attributes.tags`.
        case path([Name])
        /// `lower(name)`, `performed("purchase", within: 7d)`.
        case call(Name, [Argument])
        case not(Expression)
        /// Two or more operands; a chain is one node so that long chains do not nest deeply.
        case and([Expression])
        case or([Expression])
        case comparison(ComparisonOperator, Expression, Expression, operatorOffset: Int)
        /// `x in list`, `x not in list`.
        case membership(negated: Bool, Expression, Expression, operatorOffset: Int)
        case textTest(TextOperator, Expression, Expression, operatorOffset: Int)
        /// `x is null`, `x is not null`.
        case nullTest(negated: Bool, Expression, operatorOffset: Int)
        /// `now() - 30d + 1h`: evaluated left to right.
        case arithmetic(Expression, [ArithmeticStep])
    }

    var kind: Kind
    var offset: Int
}

enum Literal: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    /// Seconds.
    case duration(Int64)
    /// Seconds since 1970-01-01T00:00:00Z.
    case time(Double)
}

/// A name as written, with its position.
struct Name: Sendable {
    var text: String
    var offset: Int
}

struct Argument: Sendable {
    /// `within` in `within: 7d`.
    var label: Name?
    var value: Expression
}

struct ArithmeticStep: Sendable {
    var isSubtraction: Bool
    var operatorOffset: Int
    var operand: Expression
}

enum ComparisonOperator: String, Sendable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    var isOrdering: Bool { self != .equal && self != .notEqual }
}

enum TextOperator: String, Sendable, CaseIterable {
    case contains
    case startsWith = "starts_with"
    case endsWith = "ends_with"
    case matches
}
