import HeraldCore
import HeraldRules
import Testing

@Suite("Patterns of 'matches'")
struct PatternTests {
    static let matching: [(pattern: String, text: String, matches: Bool)] = [
        ("abc", "xxabcxx", true),
        ("abc", "ab", false),
        ("^abc", "abcd", true),
        ("^abc", "xabc", false),
        ("abc$", "xabc", true),
        ("abc$", "abcx", false),
        ("^$", "", true),
        ("^$", "a", false),
        ("", "anything", true),
        ("a.c", "abc", true),
        ("a.c", "a\nc", false),
        ("a.c", "a😀c", true),
        ("[a-c]+x", "zzbcax", true),
        ("^[^@]+@example\\.com$", "ana@example.com", true),
        ("^[^@]+@example\\.com$", "ana@exampleXcom", false),
        ("^[^@]+@example\\.com$", "a@b@example.com", false),
        ("\\d{3}-\\d{4}", "call 555-1234 now", true),
        ("^\\d{3}$", "12", false),
        ("^\\d{2,3}$", "123", true),
        ("^\\d{2,3}$", "1234", false),
        ("^\\d{2,}$", "123456", true),
        ("^a{0}b$", "b", true),
        ("\\w+@", "user_1@x", true),
        ("\\W", "abc_1", false),
        ("\\s", "a b", true),
        ("\\S", "   ", false),
        ("\\D", "123", false),
        ("(ab|cd)+e", "xcdabe", true),
        ("^(ab|cd)+$", "abcdab", true),
        ("^(ab|cd)+$", "abcda", false),
        ("^(?:a|b)c$", "bc", true),
        ("colou?r", "color", true),
        ("colou?r", "colour", true),
        ("a*?b", "aaab", true),
        ("[]]", "]", true),
        ("[a-]", "-", true),
        ("[\\]x]", "]", true),
        ("[\\d.]+", "1.5", true),
        ("^[\\D]$", "x", true),
        ("^[\\D]$", "1", false),
        ("é", "café", true),
        ("é", "cafe\u{301}", false),
        ("[À-ÿ]", "naïve", true),
        ("😀$", "hi 😀", true),
        ("\\.", "a.b", true),
        ("\\.", "ab", false),
        ("\\(\\)", "f()", true),
        ("\\\\", "a\\b", true),
        ("\\n", "a\nb", true),
        ("\\t", "a\tb", true),
        ("^(a*)*$", String(repeating: "a", count: 5000) + "b", false),
        ("(x+x+)+y", String(repeating: "x", count: 5000), false),
        ("ABC", "abc", false),
        // Anchors hold only at the very start and end of the text, not around a newline.
        ("^", "", true),
        ("$", "", true),
        ("$", "abc", true),
        ("a^", "a", false),
        ("$a", "a", false),
        ("$^", "", true),
        ("^$", "\n", false),
        ("^a$", "a\n", false),
        ("b$", "b\na", false),
        ("^b", "a\nb", false),
        ("(^|x)a", "xa", true),
        ("(^|x)a", "ya", false),
        ("^(a|^b)+$", "ab", false),
        ("a($|b)", "ca", true),
        ("a($|b)", "ac", false),
        ("a$|b", "ab", true),
        // `.` is any scalar but a newline; negated classes and \s include it.
        (".", "\n", false),
        ("^.$", "\r", true),
        ("^[^a]$", "\n", true),
        ("^\\s$", "\n", true),
        ("^.{2}$", "😀한", true),
        ("^.{2}$", "e\u{301}", true),
        // Scalars outside ASCII: Hangul syllables, emoji, ranges over them.
        ("^한글$", "한글", true),
        ("^[가-힣]+$", "한국어", true),
        ("^[가-힣]+$", "한국어!", false),
        ("[^가-힣]", "한국", false),
        ("^😀+$", "😀😀😀", true),
        ("[😀-😂]", "x😁y", true),
        ("[😀-😂]", "x😃y", false),
        // Classes with several ranges and negation.
        ("^[^0-9a-f]+$", "xyz", true),
        ("^[^0-9a-f]+$", "xya", false),
        ("[a-cx-z]", "w", false),
        ("^[a-cx-z0-2]+$", "by1", true),
        ("^[\\w.-]+$", "a-b.c_d", true),
        // Repeats: {0}, {n,}, nested groups, alternation with an empty branch.
        ("^a{0}$", "", true),
        ("^(ab){0}c$", "c", true),
        ("^x(ab){0}$", "xab", false),
        ("^a{3,}$", "aa", false),
        ("^a{3,}$", "aaaaa", true),
        ("^(ab){2,}$", "ababab", true),
        ("^(ab){2,}$", "ab", false),
        ("^((a|b)(c|d)){2}$", "acbd", true),
        ("^((a|b)(c|d)){2}$", "acb", false),
        ("^(a(b(c)?)*)+$", "abcbab", true),
        ("^(a(b(c)?)*)+$", "abcc", false),
        ("^(a|)b$", "b", true),
        ("^(|a)b$", "ab", true),
        ("^a(|b|c)$", "a", true),
        ("^a(b|)$", "ac", false),
        ("x|", "anything", true),
        ("^(?:a|b|)+$", "", true),
    ]

    @Test(arguments: matching.indices)
    func matchesLikeARegularExpression(_ index: Int) throws {
        let (pattern, text, expected) = Self.matching[index]
        #expect(try RulePattern(pattern).matches(text) == expected, "\(pattern) on \(text.debugDescription)")
    }

    static let invalid: [(pattern: String, message: String)] = [
        ("a(", "missing ')'"),
        ("a)", "unmatched ')'"),
        ("[abc", "missing ']'"),
        ("[z-a]", "range z-a is out of order"),
        ("*a", "nothing to repeat before '*'"),
        ("a**", "nothing to repeat before '*'"),
        ("^*", "nothing to repeat before '*'"),
        ("a|+", "nothing to repeat before '+'"),
        ("a{2", "invalid repeat: write {n}, {n,} or {n,m}, or \\{ for a literal '{'"),
        ("a{x}", "invalid repeat: write {n}, {n,} or {n,m}, or \\{ for a literal '{'"),
        ("a{3,2}", "repeat {3,2} is out of order"),
        ("a{1001}", "repeat count above 1000"),
        ("(a{1000}){1000}", "pattern is too large (at most 4000 steps after expanding repeats such as {n,m}); simplify it"),
        ("(a{1000}){4}b", "pattern is too large (at most 4000 steps after expanding repeats such as {n,m}); simplify it"),
        (".{0,1000}.{0,1000}a", "pattern is too large (at most 4000 steps after expanding repeats such as {n,m}); simplify it"),
        ("\\b", "unsupported escape '\\b'"),
        ("(a)\\1", "backreferences are not supported"),
        ("(?i)a", "groups starting with '(?' other than '(?:' are not supported"),
        ("a\\", "pattern ends with '\\'"),
        ("[a-\\d]", "a class range must end with a character"),
        (String(repeating: "(", count: 200), "groups nest too deeply"),
    ]

    @Test(arguments: invalid.indices)
    func refusesWhatItDoesNotSupport(_ index: Int) {
        let (pattern, message) = Self.invalid[index]
        do {
            _ = try RulePattern(pattern)
            Issue.record("\(pattern) compiled")
        } catch {
            #expect(error.message == message, "\(pattern)")
        }
    }

    @Test("String escapes pass regular-expression escapes through")
    func escapesInRules() throws {
        let rule = try makeRule(#"email matches "^\w+@example\.com$" and email matches '\\d'"#)
        let user = User(id: "u", email: "ab1@example.com")
        #expect(rule.evaluate(user, in: testContext))
        #expect(!rule.evaluate(User(id: "u", email: "ab@example.com"), in: testContext))
    }
}
