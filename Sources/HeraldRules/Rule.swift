import Foundation
import HeraldCore

/// A parsed and type-checked rules-language expression (spec/rules-language.md): an audience,
/// a segment or a `when:` condition. It decides for one user in memory (`evaluate`) and for a
/// whole table in SQL (`sql`), with the same meaning.
///
/// ```swift
/// let rule = try Rule(RuleSource(text: #"country == "KR" and last_seen > now() - 30d"#, location: location), schema: schema)
/// rule.evaluate(user, in: RuleContext(now: now, campaignID: "restock"))   // true or false
/// rule.sql(in: context)   // CASE WHEN json_type(users.attributes, '$.country') = 'text' THEN … END = ? AND …
/// ```
///
/// Details the spec leaves open, decided here:
/// - Names: a bare name or `user.<name>` is a built-in field (`id`, `email`, `phone`, `locale`,
///   `timezone`, `first_name`, `last_name`, `created_at`) or else a declared attribute;
///   `attributes.<name>` is always the attribute.
/// - Strings: `"…"` or `'…'`, with `\\ \" \' \n \r \t \u{…}`; any other backslash is kept, so
///   `"\d+"` reaches `matches` as written. Strings compare by code point (UTF-8 bytes), as SQL does.
/// - Times: `2026-11-20` is midnight UTC; an instant with a clock time names its zone
///   (`2026-11-20T10:00:00Z`, `…+09:00`). `today()` is the start of the recipient's day;
///   `days_since(t)` counts whole days, rounded down.
/// - Columns in diagnostics count Unicode scalars.
public struct Rule: Sendable {
    /// The expression and where it is.
    public let source: RuleSource
    /// The declared attributes the rule reads, in order of first use: the ones worth an index.
    public let attributeNames: [String]
    let condition: Condition
    private let predicate: Predicate
    /// The terms of a top-level `and` (or the whole rule), as written, with their tests.
    private let clauses: [(text: String, predicate: Predicate)]

    /// Parses and type-checks an expression against the attribute schema.
    ///
    /// - Throws: every problem found, each a `Diagnostic` at its file position: the expression's
    ///   `source.location` moved by the line and column inside the expression. A syntax error
    ///   stops the check (one diagnostic); type errors are all reported.
    public init(_ source: RuleSource, schema: AttributeSchema) throws(DiagnosticList) {
        let map = SourceMap(source)
        let expression: Expression
        do {
            expression = try Parser.parse(source, map: map)
        } catch {
            throw DiagnosticList([error])
        }
        var checker = TypeChecker(schema: schema, map: map)
        let condition = checker.checkRule(expression)
        guard let condition, checker.diagnostics.isEmpty else {
            throw DiagnosticList(checker.diagnostics)
        }
        self.source = source
        self.condition = condition
        attributeNames = checker.attributeNames
        predicate = Evaluator.compile(condition)
        clauses = Self.clauses(of: expression, condition: condition, text: source.text)
    }

    /// One term of a rule and whether a user satisfies it.
    public struct Clause: Sendable, Hashable {
        /// The term as written, such as `plan != "enterprise"`.
        public var text: String
        public var holds: Bool
    }

    /// Why a user is in or out: each term of the rule's top-level `and` (or the whole rule when
    /// it is not an `and`), as written, with whether it holds for `user`.
    ///
    /// For `country == "KR" and plan != "enterprise"` and a Korean enterprise user:
    /// `[("country == \"KR\"", true), ("plan != \"enterprise\"", false)]`.
    public func explain(_ user: User, in context: RuleContext) -> [Clause] {
        clauses.map { Clause(text: $0.text, holds: $0.predicate(user, context)) }
    }

    private static func clauses(of expression: Expression, condition: Condition, text: String) -> [(text: String, predicate: Predicate)] {
        let whole = [(text.trimmingCharacters(in: .whitespacesAndNewlines), Evaluator.compile(condition))]
        guard case .and(let operands) = expression.kind, case .and(let conditions) = condition, operands.count == conditions.count else {
            return whole
        }
        let scalars = Array(text.unicodeScalars)
        var result: [(text: String, predicate: Predicate)] = []
        for (index, operand) in operands.enumerated() {
            let end = index + 1 < operands.count ? operands[index + 1].offset : scalars.count
            var piece = String(String.UnicodeScalarView(scalars[min(operand.offset, end)..<end])).trimmingCharacters(in: .whitespacesAndNewlines)
            // The next term starts after this one's `and`.
            if index + 1 < operands.count, piece.hasSuffix("and") {
                piece = String(piece.dropLast(3)).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            result.append((piece, Evaluator.compile(conditions[index])))
        }
        return result
    }

    /// Whether `user` satisfies the rule. A comparison with a missing value is false.
    public func evaluate(_ user: User, in context: RuleContext) -> Bool {
        predicate(user, context)
    }

    /// A parameterised WHERE condition over the `users` table that selects exactly the users
    /// `evaluate` accepts; every literal, `now()` and the campaign id are bound arguments.
    ///
    /// - Parameter dialect: SQLite's (`?` parameters) or PostgreSQL's (`$1`, `$2`, …); see
    ///   `SQLDialect`.
    public func sql(in context: RuleContext, dialect: SQLDialect = .sqlite) -> SQLCondition {
        var compiler = SQLCompiler(context: context, dialect: dialect)
        var fragment = compiler.condition(condition)
        if case .postgres = dialect { fragment = fragment.numbered() }
        return SQLCondition(sql: fragment.sql, arguments: fragment.arguments)
    }
}

extension Rule: CustomStringConvertible {
    /// The expression as written.
    public var description: String { source.text }
}
