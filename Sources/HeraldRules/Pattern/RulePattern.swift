/// The regular expressions of `matches`: a small subset that runs the same way in memory and in
/// SQL (the SQL function calls this very code), in time linear in the text, with no catastrophic
/// backtracking.
///
/// Syntax, over Unicode scalars, case-sensitive:
/// - a literal character; `\` before any punctuation makes it literal (`\.`, `\(`, `\\`);
/// - `.`: any character but a newline; `\d` `[0-9]`, `\w` `[A-Za-z0-9_]`, `\s` space, tab, newline,
///   carriage return, form feed, vertical tab; `\D` `\W` `\S` their complements; `\n` `\r` `\t`;
/// - classes `[abc]`, `[a-z0-9]`, `[^"]` (`]` first or escaped, `-` first or last to be literal);
/// - groups `(…)` and `(?:…)`, alternation `|`;
/// - repeats `*` `+` `?` `{n}` `{n,}` `{n,m}` (n, m ≤ 1000; a trailing `?` is accepted and changes
///   nothing, since only whether the text matches counts);
/// - anchors `^` (start of the text) and `$` (end of the text).
///
/// A pattern matches when it matches anywhere in the text; anchor it with `^…$` to match the
/// whole text.
public struct RulePattern: Sendable, Hashable {
    /// Why a pattern is invalid.
    public struct SyntaxError: Error, Sendable, Hashable {
        /// What is wrong, as in `missing ')'`.
        public var message: String
    }

    /// The hint shown after an invalid pattern.
    public static let supportedSyntax =
        #"supported: literal characters, ., [abc], [^a-z], \d \w \s, * + ? {n,m}, |, ( ), ^ and $"#

    /// The most instructions a compiled pattern may have, once repeats are expanded: 4,000.
    ///
    /// In the worst case, a text that visits a new DFA state at every scalar (see `LazyDFA`), a
    /// scalar costs up to a step per instruction, so this bounds it: about 10 µs per scalar, five
    /// times lower than the 20,000 allowed before. It still admits the patterns of issue 6
    /// (`[\w\W]{1000}[\w\W]{1000}[\w\W]{1000}z` takes 3,001 steps) and two repeats such as
    /// `.{0,1000}` (2,000 each), and refuses `(a{1000}){1000}`.
    static let maximumSize = 4_000

    /// The pattern as written.
    public let source: String
    let matcher: LazyDFA

    /// Compiles a pattern; throws a `SyntaxError` that says what is wrong.
    public init(_ source: String) throws(SyntaxError) {
        self.source = source
        var parser = PatternParser(Array(source.unicodeScalars))
        let node = try parser.parse()
        var compiler = PatternCompiler()
        try compiler.emit(node)
        compiler.program.append(.match)
        matcher = LazyDFA(program: compiler.program, sets: compiler.sets)
    }

    /// Patterns are equal when written alike.
    public static func == (lhs: RulePattern, rhs: RulePattern) -> Bool { lhs.source == rhs.source }

    /// Hashes the pattern as written.
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }

    /// Whether the pattern matches somewhere in `text`.
    ///
    /// Time linear in the text, one table lookup per scalar once the matcher has seen similar
    /// texts; safe to call from many tasks at once.
    public func matches(_ text: String) -> Bool {
        matcher.matches(text)
    }
}

enum Instruction: Sendable, Equatable {
    case scalar(UInt32)
    case any
    case set(Int32)
    case split(Int32, Int32)
    case jump(Int32)
    case assertStart
    case assertEnd
    case match
}

/// Ranges of Unicode scalar values.
struct ScalarSet: Sendable, Hashable {
    var ranges: [ClosedRange<UInt32>]

    func contains(_ value: UInt32) -> Bool {
        for range in ranges where range.contains(value) { return true }
        return false
    }

    static let digits = ScalarSet(ranges: [48...57])
    static let word = ScalarSet(ranges: [48...57, 65...90, 95...95, 97...122])
    static let space = ScalarSet(ranges: [9...13, 32...32])

    /// Every scalar value not in this set.
    var inverted: ScalarSet {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = max(next, range.upperBound &+ 1)
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return ScalarSet(ranges: result)
    }
}
