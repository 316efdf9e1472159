import HeraldCore

/// One token of a rules-language expression, with the offset (in Unicode scalars) where it starts.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case keyword(Keyword)
        case string(String)
        case number(Double)
        /// Seconds.
        case duration(Int64)
        /// Seconds since 1970-01-01T00:00:00Z.
        case time(Double)
        case leftParenthesis, rightParenthesis, leftBracket, rightBracket
        case comma, colon, dot, plus, minus
        case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
        case end
    }

    var kind: Kind
    var offset: Int
    /// The token as written, for error messages.
    var text: String

    /// How a token is named in an error message: `'and'`, `')'`, `end of expression`.
    var displayName: String {
        switch kind {
        case .end: "end of expression"
        case .string: "string \(text)"
        case .number, .duration, .time: "'\(text)'"
        default: "'\(text)'"
        }
    }
}

/// Words the grammar reserves; they cannot name attributes.
enum Keyword: String, Sendable, CaseIterable {
    case and, or, not, `in`, `is`, null, `true`, `false`
    case contains, startsWith = "starts_with", endsWith = "ends_with", matches
}
