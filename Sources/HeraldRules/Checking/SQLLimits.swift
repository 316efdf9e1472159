/// How far down the SQL of a node sits, in SQLite's two measures: entries on its parser's stack
/// and levels of its expression tree. Both add up along the path from the root.
struct SQLDepth {
    var stack = 0
    var height = 0
}

/// Bounds that keep every rule the checker accepts within what SQLite parses.
///
/// SQLite 3.40 refuses SQL whose parser stack passes 100 entries ("parser stack overflow", see
/// YYSTACKDEPTH) or whose expression tree passes 1000 levels ("Expression tree is too large",
/// SQLITE_MAX_EXPR_DEPTH). The checker charges each node an upper bound of what its SQL adds to
/// both, measured on the SQL `SQLCompiler` writes, and refuses a rule past `stack` or `height`.
/// The budgets leave room for the query around the condition: the planner's `SELECT … WHERE`
/// and a few more levels of nesting.
enum SQLLimits {
    /// Terms of one `and`/`or` chain: SQL chains nest one level per term.
    static let maximumTerms = 256
    /// `+`/`-` steps of one sum.
    static let maximumSteps = 64
    /// Parser stack entries for the condition, of the 100 SQLite has.
    static let stack = 60
    /// Expression tree levels for the condition, of the 1000 SQLite allows.
    ///
    /// When SQLite resolves the names of a subquery (`x in tags` is `EXISTS (SELECT … WHERE …)`),
    /// it adds the height of that subquery's WHERE to the height of the whole expression, which
    /// already includes it, and does so again for each subquery nested inside. So the checker
    /// charges a level inside `k` subqueries `3k` times: the WHERE of the k-th subquery is then at
    /// most 600 / 3k high, and with at most three nested (the parser stack budget allows no more)
    /// SQLite counts at most 600 + 200 + 100 + 67 = 967 levels.
    static let height = 600

    /// What a term of an `and`/`or` chain adds to the stack: `… AND (`.
    static let chainTermStack = 3
    /// What an operand of a sum adds to the stack: `… + (`.
    static let operandStack = 4

    /// What a node's SQL adds above its operands. A test may be used as a value, which wraps it
    /// in `CASE WHEN … END`, and negated, which wraps it in `(… IS NOT 1)`; a membership in a
    /// list attribute is an `EXISTS` subquery, which costs the most.
    static func share(of kind: Expression.Kind) -> SQLDepth {
        switch kind {
        case .literal, .list, .path, .and, .or, .arithmetic:
            SQLDepth()
        case .call:
            SQLDepth(stack: 4, height: 3)
        case .not:
            SQLDepth(stack: 1, height: 2)
        case .comparison, .nullTest:
            SQLDepth(stack: 8, height: 5)
        case .membership(_, _, let list, _):
            if case .list = list.kind { SQLDepth(stack: 8, height: 5) } else { SQLDepth(stack: 20, height: 8) }
        case .textTest(let op, _, _, _):
            op == .contains ? SQLDepth(stack: 20, height: 8) : SQLDepth(stack: 8, height: 5)
        }
    }
}
