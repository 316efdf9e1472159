import HeraldCore
import HeraldRules
import Testing

/// Every error a rule's author can get, exactly as `herald validate` prints it. The expressions sit
/// at campaigns/restock.yml:6:14, so a problem at offset n of the first line is at column 14 + n.
let diagnosticCases: [(String, [String])] = [
    // Names
    (#"contry == "KR""#, [#"campaigns/restock.yml:6:14: unknown attribute 'contry' (did you mean 'country'?)"#]),
    ("agee > 3 and vipp", [
        "campaigns/restock.yml:6:14: unknown attribute 'agee' (did you mean 'age'?)",
        "campaigns/restock.yml:6:27: unknown attribute 'vipp' (did you mean 'vip'?)",
    ]),
    ("zzzzzz", [
        "campaigns/restock.yml:6:14: unknown attribute 'zzzzzz' (expected one of: id, email, phone, locale, timezone, first_name, last_name, created_at, country, name, age, score, vip, last_seen, birthday, tags, scores, flags, dates, nested)",
    ]),
    (#"user.email.domain == "x""#, [
        "campaigns/restock.yml:6:25: 'email' has no field 'domain' (paths are a name (country), user.<field> (user.email) or attributes.<name>)",
    ]),
    (#"attributes.email == "x""#, [
        "campaigns/restock.yml:6:25: unknown attribute 'email' (expected one of: country, name, age, score, vip, last_seen, birthday, tags, scores, flags, dates, nested)",
    ]),
    (#"nested contains "a""#, [
        "campaigns/restock.yml:6:14: attribute 'nested' has type [[string]], which rules cannot use (rules read string, number, bool, time and lists of those)",
    ]),
    // Types
    ("name > 5", ["campaigns/restock.yml:6:19: '>' cannot compare string with number"]),
    (#"age > "5""#, [#"campaigns/restock.yml:6:18: '>' cannot compare number with string (write numbers without quotes)"#]),
    (#"last_seen > "2026-01-01""#, [
        "campaigns/restock.yml:6:24: '>' cannot compare time with string (write times without quotes, such as 2026-11-20 or 2026-11-20T10:00:00Z)",
    ]),
    ("last_seen > 30d", [
        "campaigns/restock.yml:6:24: '>' cannot compare time with duration (compare a time with a time, such as created_at < now() - 30d)",
    ]),
    ("last_seen > 1700000000", ["campaigns/restock.yml:6:24: '>' cannot compare time with number (use days_since(t) for a number of days)"]),
    ("tags == 3", ["campaigns/restock.yml:6:19: '==' cannot compare [string] with number (test membership with 'in' or 'contains')"]),
    (#"contry == "KR" and age > "x""#, [
        "campaigns/restock.yml:6:14: unknown attribute 'contry' (did you mean 'country'?)",
        "campaigns/restock.yml:6:37: '>' cannot compare number with string (write numbers without quotes)",
    ]),
    ("contry + lowr(1) > 1", [
        "campaigns/restock.yml:6:14: unknown attribute 'contry' (did you mean 'country'?)",
        "campaigns/restock.yml:6:23: unknown function 'lowr' (did you mean 'lower'?)",
    ]),
    ("age == null", ["campaigns/restock.yml:6:18: '==' with null is always false (test for a missing value with 'is null' or 'is not null')"]),
    ("null in tags", ["campaigns/restock.yml:6:19: 'in' with null is always false (test for a missing value with 'is null' or 'is not null')"]),
    ("name contains null", ["campaigns/restock.yml:6:19: 'contains' with null is always false (test for a missing value with 'is null' or 'is not null')"]),
    (#"tags > ["a"]"#, ["campaigns/restock.yml:6:19: '>' cannot order lists (lists compare with == and !=)"]),
    ("vip < true", ["campaigns/restock.yml:6:18: '<' cannot order bool values (use == or !=)"]),
    (#""a" in name"#, ["campaigns/restock.yml:6:21: 'in' needs a list on its right, found string (for a substring, use contains)"]),
    ("1 in age", [#"campaigns/restock.yml:6:19: 'in' needs a list on its right, found number (write a list such as ["KR", "JP"] or a list attribute)"#]),
    ("1 in tags", ["campaigns/restock.yml:6:16: 'in' cannot look for a number in a [string]"]),
    (#""x" in [1]"#, ["campaigns/restock.yml:6:18: 'in' cannot look for a string in a [number]"]),
    (#"tags in [["a"]]"#, [
        #"campaigns/restock.yml:6:23: expected a literal in the list, found '[' (a list holds literals only, such as ["KR", "JP"] or [1, 2])"#,
    ]),
    (#"age starts_with "1""#, ["campaigns/restock.yml:6:18: 'starts_with' needs two strings, found number and string"]),
    ("age contains 1", ["campaigns/restock.yml:6:18: 'contains' needs two strings, or a list and a value, found number and number"]),
    ("tags contains 1", ["campaigns/restock.yml:6:19: 'contains' cannot look for a number in a [string]"]),
    ("now() - now() > 1d", [
        "campaigns/restock.yml:6:20: '-' needs two numbers or a time and a duration, found time and time (use days_since(t) for the days between a time and now)",
    ]),
    ("30d + now() > now()", [
        "campaigns/restock.yml:6:18: '+' needs two numbers or a time and a duration, found duration and time (write the time first, as in now() - 30d)",
    ]),
    (#"age + "1" > 2"#, ["campaigns/restock.yml:6:18: '+' needs two numbers or a time and a duration, found number and string"]),
    // Rules and connectives must be tests
    ("age + 1", [#"campaigns/restock.yml:6:14: a rule must be true or false, found number (compare the value, as in country == "KR")"#]),
    ("name", [#"campaigns/restock.yml:6:14: a rule must be true or false, found string (compare the value, as in country == "KR")"#]),
    ("vip and 3", [#"campaigns/restock.yml:6:22: 'and' needs a true/false test, found number (compare the value, as in country == "KR")"#]),
    ("tags or vip", [#"campaigns/restock.yml:6:14: 'or' needs a true/false test, found [string] (compare the value, as in country == "KR")"#]),
    ("not name", [#"campaigns/restock.yml:6:18: 'not' needs a true/false test, found string (compare the value, as in country == "KR")"#]),
    // Text written without quotes
    ("country == KR", [#"campaigns/restock.yml:6:25: unknown attribute 'KR' (to compare with the text KR, quote it: "KR")"#]),
    ("country in [KR, JP]", [#"campaigns/restock.yml:6:26: expected a literal in the list, found 'KR' (a list holds literals only, such as ["KR", "JP"] or [1, 2])"#]),
    ("KR in tags", [#"campaigns/restock.yml:6:14: unknown attribute 'KR' (to compare with the text KR, quote it: "KR")"#]),
    ("name starts_with Ana", [#"campaigns/restock.yml:6:31: unknown attribute 'Ana' (to compare with the text Ana, quote it: "Ana")"#]),
    ("contry == 1", ["campaigns/restock.yml:6:14: unknown attribute 'contry' (did you mean 'country'?)"]),
    // Allowed values
    (#"country == "XX""#, ["campaigns/restock.yml:6:25: 'XX' is not a value of 'country' (expected one of: KR, US, JP, DE, FR)"]),
    (#"country != "Kr""#, ["campaigns/restock.yml:6:25: 'Kr' is not a value of 'country' (did you mean 'KR'?)"]),
    (#""Jp" == country"#, ["campaigns/restock.yml:6:14: 'Jp' is not a value of 'country' (did you mean 'JP'?)"]),
    (#"country in ["KR", "Jp"]"#, ["campaigns/restock.yml:6:32: 'Jp' is not a value of 'country' (did you mean 'JP'?)"]),
    // Functions
    (#"lowr(name) == "a""#, ["campaigns/restock.yml:6:14: unknown function 'lowr' (did you mean 'lower'?)"]),
    ("zap() > 1", [
        "campaigns/restock.yml:6:14: unknown function 'zap' (expected one of: now, today, lower, len, days_since, bucket, has_device, performed, count)",
    ]),
    (#"lower(name, name) == "a""#, ["campaigns/restock.yml:6:26: lower() takes 1 argument, found 2 (use lower(name))"]),
    (#"lower() == "a""#, ["campaigns/restock.yml:6:14: lower() takes 1 argument, found 0 (use lower(name))"]),
    ("now(1) > now()", ["campaigns/restock.yml:6:18: now() takes no arguments, found 1 (use now())"]),
    (#"has_device("ios", "web")"#, [#"campaigns/restock.yml:6:32: has_device() takes at most 1 argument, found 2 (use has_device("ios"))"#]),
    (#"lower(age) == "a""#, ["campaigns/restock.yml:6:20: lower() needs a string, found number (use lower(name))"]),
    ("len(age) > 1", ["campaigns/restock.yml:6:18: len() needs a string or a list, found number (use len(tags))"]),
    ("days_since(age) > 1", ["campaigns/restock.yml:6:25: days_since() needs a time, found number (use days_since(created_at))"]),
    (#"lower(name, x: 1) == "a""#, ["campaigns/restock.yml:6:26: lower() has no argument named 'x' (use lower(name))"]),
    ("bucket(0) < 5", ["campaigns/restock.yml:6:21: bucket() needs a whole number of buckets from 1 to 9007199254740992 (use bucket(100) < 10)"]),
    ("bucket(2.5) < 1", ["campaigns/restock.yml:6:21: bucket() needs a whole number of buckets from 1 to 9007199254740992 (use bucket(100) < 10)"]),
    ("bucket(age) < 1", ["campaigns/restock.yml:6:21: bucket() needs a whole number of buckets from 1 to 9007199254740992 (use bucket(100) < 10)"]),
    (#"has_device("iOS")"#, [#"campaigns/restock.yml:6:25: has_device() needs a platform name (did you mean "ios"?)"#]),
    (#"has_device("phone")"#, [#"campaigns/restock.yml:6:25: has_device() needs a platform name (expected one of: "ios", "android", "web")"#]),
    (#"count("purchase") == "2""#, [
        "campaigns/restock.yml:6:32: '==' cannot compare number with string (write numbers without quotes)",
    ]),
    (#"performed("purchase", within: 0d)"#, [
        "campaigns/restock.yml:6:44: 'within' needs a positive duration (expected a duration such as 30s, 15m, 12h, 7d or 2w)",
    ]),
    (#"performed("a", within: 1d, within: 2d)"#, [#"campaigns/restock.yml:6:41: performed() has 'within' twice (use performed("purchase", within: 7d))"#]),
    ("performed(purchase)", [#"campaigns/restock.yml:6:24: unknown attribute 'purchase' (expected one of: id, email, phone, locale, timezone, first_name, last_name, created_at, country, name, age, score, vip, last_seen, birthday, tags, scores, flags, dates, nested)"#]),
    ("performed(3)", [#"campaigns/restock.yml:6:24: performed() needs an event name in quotes (use performed("purchase", within: 7d))"#]),
    // Patterns
    (#"name matches "a(""#, [
        #"campaigns/restock.yml:6:27: invalid regular expression: missing ')' (supported: literal characters, ., [abc], [^a-z], \d \w \s, * + ? {n,m}, |, ( ), ^ and $)"#,
    ]),
    (#"name matches "[z-a]""#, [
        #"campaigns/restock.yml:6:27: invalid regular expression: range z-a is out of order (supported: literal characters, ., [abc], [^a-z], \d \w \s, * + ? {n,m}, |, ( ), ^ and $)"#,
    ]),
    ("name matches name", [
        #"campaigns/restock.yml:6:27: 'matches' needs a string literal pattern (patterns are checked when the campaign is validated, as in email matches "@example\.com$")"#,
    ]),
    // Literals
    (#"name == "abc"#, [#"campaigns/restock.yml:6:22: unterminated string (add the closing ")"#]),
    ("vip and\nname == 'abc", ["campaigns/restock.yml:7:22: unterminated string (add the closing ')"]),
    (#"name == "\u{zz}""#, [#"campaigns/restock.yml:6:23: invalid Unicode escape in string (write a Unicode escape as \u{E9})"#]),
    (#"name == "a\u{0}b""#, ["campaigns/restock.yml:6:22: a string cannot contain U+0000 (remove the NUL character)"]),
    ("name == 'a\u{0}b'", ["campaigns/restock.yml:6:22: a string cannot contain U+0000 (remove the NUL character)"]),
    ("last_seen > 2026-13-01", [
        "campaigns/restock.yml:6:26: invalid time '2026-13-01' (expected a date such as 2026-11-20 or an instant such as 2026-11-20T10:00:00Z)",
    ]),
    ("last_seen > 2026-02-30", [
        "campaigns/restock.yml:6:26: invalid time '2026-02-30' (expected a date such as 2026-11-20 or an instant such as 2026-11-20T10:00:00Z)",
    ]),
    ("last_seen > 2026-11-20T10:00:00", [
        "campaigns/restock.yml:6:26: invalid time '2026-11-20T10:00:00' (an instant needs a zone: add Z for UTC or an offset such as +09:00)",
    ]),
    ("last_seen > 2026-11-20T25:00:00Z", [
        "campaigns/restock.yml:6:26: invalid time '2026-11-20T25:00:00Z' (expected a date such as 2026-11-20 or an instant such as 2026-11-20T10:00:00Z)",
    ]),
    ("last_seen > now() - 30x", ["campaigns/restock.yml:6:34: invalid duration '30x' (expected a duration such as 30s, 15m, 12h, 7d or 2w)"]),
    ("last_seen > now() - 1.5h", ["campaigns/restock.yml:6:34: invalid duration '1.5h' (expected a duration such as 30s, 15m, 12h, 7d or 2w)"]),
    ("last_seen > now() - 99999999999999999999d", [
        "campaigns/restock.yml:6:34: invalid duration '99999999999999999999d' (expected a duration such as 30s, 15m, 12h, 7d or 2w)",
    ]),
    ("age > 1e999", ["campaigns/restock.yml:6:20: number '1e999' is out of range (numbers are 64-bit floating point)"]),
    // Syntax
    ("", [#"campaigns/restock.yml:6:14: empty expression (write a test such as country == "KR")"#]),
    (" \n ", [#"campaigns/restock.yml:6:14: empty expression (write a test such as country == "KR")"#]),
    ("country ==", [
        "campaigns/restock.yml:6:24: expected a value, found end of expression (a name, a string, a number, a time, a duration, true, false, null, a function call, '(' or '[')",
    ]),
    ("and vip", [
        "campaigns/restock.yml:6:14: expected a value, found 'and' ('and' is a keyword; expected a name, a string, a number, a time, a duration, true, false, null, a function call, '(' or '[')",
    ]),
    (#"(country == "KR""#, ["campaigns/restock.yml:6:30: expected ')' (to close the '(' at 6:14)"]),
    ("lower(name", ["campaigns/restock.yml:6:24: expected ')' (to close the '(' at 6:19)"]),
    ("age in [1, 2", ["campaigns/restock.yml:6:26: expected ']' (to close the '[' at 6:21)"]),
    (#"country == "KR")"#, ["campaigns/restock.yml:6:29: unexpected ')' (it closes no '(')"]),
    ("1 < age < 3", ["campaigns/restock.yml:6:22: unexpected '<' (tests do not chain: join them with 'and', as in 1 < x and x < 3)"]),
    ("vip vip", ["campaigns/restock.yml:6:18: unexpected 'vip' (expected an operator such as == or in, 'and', 'or', or the end of the expression)"]),
    (#"country = "KR""#, ["campaigns/restock.yml:6:22: unexpected '=' (use '==' to compare)"]),
    ("age <> 3", ["campaigns/restock.yml:6:18: unexpected '<>' (use '!=' to compare)"]),
    ("!vip", ["campaigns/restock.yml:6:14: unexpected '!' (use 'not' to negate, or '!=' to compare)"]),
    ("vip && vip", ["campaigns/restock.yml:6:18: unexpected '&&' (use 'and')"]),
    ("vip || vip", ["campaigns/restock.yml:6:18: unexpected '||' (use 'or')"]),
    ("vip AND vip", ["campaigns/restock.yml:6:18: unexpected 'AND' (keywords are lowercase: 'and')"]),
    ("age is 5", ["campaigns/restock.yml:6:21: expected 'null' after 'is' ('is' only tests for null; compare values with ==)"]),
    ("age not 5", ["campaigns/restock.yml:6:22: expected 'in' after 'not' ('not' before a value only forms 'not in'; negate other tests as not (…))"]),
    ("age in [1, age]", [#"campaigns/restock.yml:6:25: expected a literal in the list, found 'age' (a list holds literals only, such as ["KR", "JP"] or [1, 2])"#]),
    (#"tags == ["a", 1]"#, ["campaigns/restock.yml:6:28: a list mixes string and number (a list holds values of one type)"]),
    ("age in [1, null]", ["campaigns/restock.yml:6:25: a list cannot hold null (a list holds strings, numbers, times or true/false, all of one type)"]),
    ("age in [1d]", ["campaigns/restock.yml:6:22: a list cannot hold a duration (a list holds strings, numbers, times or true/false, all of one type)"]),
    ("- age > 1", ["campaigns/restock.yml:6:16: expected a number or duration after '-' (only literals can be negated; write 0 - x to negate a value)"]),
    ("user. == 1", ["campaigns/restock.yml:6:20: expected a name after '.' (write a path such as user.email)"]),
    ("age > 1 # comment", ["campaigns/restock.yml:6:22: unexpected character '#' (names use the letters a-z, digits and '_'; strings are quoted)"]),
    ("age > 1 \u{7}", [#"campaigns/restock.yml:6:22: unexpected character '\u{07}' (names use the letters a-z, digits and '_'; strings are quoted)"#]),
    ("lower(name, ) == 1", [
        "campaigns/restock.yml:6:26: expected a value, found ')' (a name, a string, a number, a time, a duration, true, false, null, a function call, '(' or '[')",
    ]),
]

@Suite("Diagnostics")
struct DiagnosticsTests {
    @Test(arguments: diagnosticCases.indices)
    func reportsEveryProblemAtItsFilePosition(_ index: Int) {
        let (text, expected) = diagnosticCases[index]
        #expect(problems(text) == expected, "\(text)")
    }

    @Test("A problem on a later line of the expression is at the expression's column + its column there (a YAML | block keeps its indentation out of the text)")
    func laterLines() {
        #expect(problems("country == \"KR\"\n  and contry == 1") == [
            "campaigns/restock.yml:7:20: unknown attribute 'contry' (did you mean 'country'?)",
        ])
        #expect(problems("vip and\n\n\tage > \"x\"") == [
            "campaigns/restock.yml:8:19: '>' cannot compare number with string (write numbers without quotes)",
        ])
    }

    @Test("Too deep a nesting is refused with a diagnostic, not a crash")
    func deepNesting() {
        let text = String(repeating: "(", count: 100) + "vip" + String(repeating: ")", count: 100)
        #expect(problems(text) == [
            "campaigns/restock.yml:6:78: expression nests too deeply (at most 64 levels of parentheses, lists, calls and 'not')",
        ])
        let negations = String(repeating: "not ", count: 1000) + "vip"
        #expect(problems(negations).first?.hasSuffix("expression nests too deeply (at most 64 levels of parentheses, lists, calls and 'not')") == true)
        // A long chain is flat in the syntax tree, but SQLite nests it one level per term.
        let chain = Array(repeating: "age > 1", count: 5000).joined(separator: " and ")
        #expect(problems(chain) == ["campaigns/restock.yml:6:14: expression is too long (at most 256 terms joined by 'and')"])
    }

    @Test("Diagnostics carry their parts: location, message and hint")
    func diagnosticParts() throws {
        do {
            _ = try makeRule(#"contry == "KR""#)
            Issue.record("expected an error")
        } catch {
            let diagnostic = try #require(error.diagnostics.first)
            #expect(diagnostic.location == SourceLocation(file: "campaigns/restock.yml", line: 6, column: 14))
            #expect(diagnostic.message == "unknown attribute 'contry'")
            #expect(diagnostic.hint == "did you mean 'country'?")
            #expect(diagnostic.severity == .error)
        }
    }
}
