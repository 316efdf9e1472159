import Foundation
import HeraldCore

/// The values the generators draw from.
public enum RuleSamples {
    /// Strings that break naive SQL, LIKE patterns, JSON and case mapping.
    public static let oddStrings: [String] = [
        "", "a", "A", "abc", "ABC", "Ab'c", "a\"b", "it's", "'; DROP TABLE users; --", "--", "; SELECT 1", "%", "_", "a%b",
        "a_b", "%_%", "é", "e\u{301}", "É", "İstanbul", "ß", "STRASSE", "Σίσυφος", "ΣΑΣ", "日本", "😀", "a😀b", "\\", "\\d", " ",
        "  x ", "KR", "kr", "US", "JP", "DE", "vip", "VIP", "new", "null", "NULL", "true", "0", "1.5", "x@example.com",
        "X@Example.COM", "\t", "a\nb", "O'Brien", "[1,2]", "{}", "$.country", "'", "\"", "OR 1=1", "\u{FEFF}bom", "ǅ", "ﬁ",
    ]
    /// `matches` patterns: anchors, classes, escapes, repeats, non-ASCII.
    public static let patterns: [String] = [
        "^a", "b$", "a.c", "[a-c]+", "^[^@]+@example\\.com$", "\\d", "^$", "é", "(ab|cd)", "x*", "^K", "R$", "[%_]", "\\.",
        "S{2}", "^.{0,3}$", "\\w+@", "😀", "[é]", "^\\s", "'", "^(a|b)*$", "[^a-z]",
    ]
    /// Numbers, with fractions that doubles round, a large one and -0.
    public static let numbers: [Double] = [0, 1, -1, 0.5, 2.25, 17, 18, 30, 65.5, 100, 1e15, -3.75, 1234.5, 42, 0.1, 0.2, 0.3, 1e-7, 123_456_789.125, -0.0, 3]
    /// Zones of users: valid, invalid, empty and none.
    public static let zones: [String?] = ["Asia/Seoul", "America/New_York", "UTC", "Europe/Berlin", "Pacific/Kiritimati", "Invalid/Zone", "", nil, "Asia/Kolkata"]
    /// The closed set of `country` in `RuleFixtures.schema`.
    public static let allowedCountries = ["KR", "US", "JP", "DE", "FR"]
    /// The events users receive in the generated populations: plain, and with quotes to escape.
    public static let eventNames = ["purchase", "viewed_item", "x'y", "a\"b"]
}

/// How tightly a piece of generated text binds, to know when it needs parentheses.
enum Level: Int, Comparable {
    case or = 0, and, test, sum, atom
    static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Generated text, and how tightly it binds.
public struct Rendered {
    /// The expression.
    public var text: String
    var level: Level

    func at(_ level: Level) -> String { self.level >= level ? text : "(\(text))" }
}

enum ElementType: CaseIterable {
    case string, number, bool, time
}

/// Random well-typed expressions over `RuleFixtures.schema`, covering every operator and function.
public struct RuleExpressionGenerator {
    var random: SeededRandom
    let now: Date

    /// A generator whose times lie around `now`.
    public init(random: SeededRandom, now: Date) {
        self.random = random
        self.now = now
    }

    private mutating func space() -> String { random.chance(0.05) ? "\n  " : (random.chance(0.05) ? "  " : " ") }

    /// `text` as a rules string literal, in single or double quotes, escaped as needed.
    public static func quote(_ text: String, single: Bool) -> String {
        var result = single ? "'" : "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "'" where single: result += "\\'"
            case "\"" where !single: result += "\\\""
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + (single ? "'" : "\"")
    }

    mutating func stringLiteral(forCountry: Bool = false) -> Rendered {
        let text = forCountry || random.chance(0.2) ? random.pick(RuleSamples.allowedCountries) : random.pick(RuleSamples.oddStrings)
        return Rendered(text: Self.quote(text, single: random.chance(0.3)), level: .atom)
    }

    mutating func numberLiteral() -> String {
        let number = random.pick(RuleSamples.numbers)
        if number == 0, number.sign == .minus { return "-0" }
        return number.description
    }

    mutating func time() -> Date {
        let hours = Double(random.int(4000)) - 2000
        return now.addingTimeInterval(hours * 3600 + (random.chance(0.2) ? 0.5 : 0))
    }

    mutating func timeLiteral() -> String {
        let date = time()
        if random.chance(0.3) {
            return String(ISO8601.string(from: date).prefix(10))
        }
        return ISO8601.string(from: date)
    }

    mutating func durationLiteral() -> String {
        random.pick(["30d", "12h", "90m", "45s", "2w", "-3d", "0s", "1d", "400d"])
    }

    mutating func string(_ depth: Int) -> Rendered {
        switch random.int(depth > 0 ? 5 : 4) {
        case 0: return stringLiteral()
        case 1: return Rendered(text: random.pick(["name", "country", "attributes.name", "user.country"]), level: .atom)
        case 2: return Rendered(text: random.pick(["id", "email", "phone", "locale", "timezone", "first_name", "last_name", "user.email"]), level: .atom)
        case 3: return random.chance(0.1) ? Rendered(text: "lower(null)", level: .atom) : stringLiteral()
        default: return Rendered(text: "lower(\(string(depth - 1).text))", level: .atom)
        }
    }

    /// `"purchase"` or `"purchase", within: 7d`: the arguments of `performed()` and `count()`.
    mutating func eventArguments() -> String {
        let name = Self.quote(random.pick(RuleSamples.eventNames), single: random.chance(0.3))
        return random.chance(0.6) ? "\(name), within: \(random.pick(["1d", "7d", "30d", "12h", "90d", "2w"]))" : name
    }

    mutating func numberAtom(_ depth: Int) -> Rendered {
        if random.chance(0.08) { return Rendered(text: "count(\(eventArguments()))", level: .atom) }
        switch random.int(depth > 0 ? 7 : 2) {
        case 0: return Rendered(text: numberLiteral(), level: .atom)
        case 1: return Rendered(text: random.pick(["age", "score", "attributes.age", "user.score"]), level: .atom)
        case 2: return Rendered(text: "len(\(string(depth - 1).text))", level: .atom)
        case 3: return Rendered(text: "len(\(list(random.pick(ElementType.allCases), depth - 1).text))", level: .atom)
        case 4: return Rendered(text: "days_since(\(time(depth - 1).text))", level: .atom)
        case 5: return Rendered(text: "bucket(\(random.pick([1, 2, 3, 10, 100])))", level: .atom)
        default: return Rendered(text: "(\(number(depth - 1).text))", level: .atom)
        }
    }

    mutating func number(_ depth: Int) -> Rendered {
        guard depth > 0, random.chance(0.3) else { return numberAtom(depth) }
        var text = numberAtom(depth - 1).text
        for _ in 0...random.int(2) {
            text += space() + (random.chance(0.5) ? "+" : "-") + " " + (random.chance(0.05) ? "null" : numberAtom(depth - 1).text)
        }
        return Rendered(text: text, level: .sum)
    }

    mutating func timeAtom(_ depth: Int) -> Rendered {
        switch random.int(4) {
        case 0: return Rendered(text: timeLiteral(), level: .atom)
        case 1: return Rendered(text: random.pick(["last_seen", "birthday", "created_at", "user.created_at"]), level: .atom)
        case 2: return Rendered(text: random.pick(["now()", "today()"]), level: .atom)
        default: return depth > 0 ? Rendered(text: "(\(time(depth - 1).text))", level: .atom) : Rendered(text: "now()", level: .atom)
        }
    }

    mutating func time(_ depth: Int) -> Rendered {
        guard random.chance(0.35) else { return timeAtom(depth) }
        var text = timeAtom(depth - 1).text
        for _ in 0...random.int(2) {
            text += space() + (random.chance(0.5) ? "+" : "-") + " " + durationLiteral()
        }
        return Rendered(text: text, level: .sum)
    }

    mutating func bool(_ depth: Int) -> Rendered {
        if random.chance(0.12) { return Rendered(text: "performed(\(eventArguments()))", level: .atom) }
        switch random.int(depth > 0 ? 5 : 4) {
        case 0: return Rendered(text: "vip", level: .atom)
        case 1: return Rendered(text: random.pick([#"has_device("ios")"#, #"has_device("android")"#, #"has_device("web")"#, "has_device()"]), level: .atom)
        case 2: return Rendered(text: random.pick(["true", "false"]), level: .atom)
        case 3: return Rendered(text: "vip", level: .atom)
        default: return Rendered(text: "(\(condition(depth - 1).text))", level: .atom)
        }
    }

    mutating func literal(_ element: ElementType) -> String {
        switch element {
        case .string: stringLiteral().text
        case .number: numberLiteral()
        case .bool: random.pick(["true", "false"])
        case .time: timeLiteral()
        }
    }

    mutating func listLiteral(_ element: ElementType, forCountry: Bool = false) -> String {
        let items = (0..<random.int(4)).map { _ in forCountry ? stringLiteral(forCountry: true).text : literal(element) }
        return "[" + items.joined(separator: ", ") + "]"
    }

    mutating func list(_ element: ElementType, _ depth: Int) -> Rendered {
        if random.chance(0.35) { return Rendered(text: listLiteral(element), level: .atom) }
        let name = switch element {
        case .string: "tags"
        case .number: "scores"
        case .bool: "flags"
        case .time: "dates"
        }
        return Rendered(text: random.chance(0.1) ? "attributes.\(name)" : name, level: .atom)
    }

    mutating func scalar(_ element: ElementType, _ depth: Int) -> Rendered {
        switch element {
        case .string: string(depth)
        case .number: number(depth)
        case .bool: bool(depth)
        case .time: time(depth)
        }
    }

    private static func isCountry(_ text: String) -> Bool { text == "country" || text == "user.country" }

    mutating func comparison(_ depth: Int) -> Rendered {
        let element = random.pick(ElementType.allCases + [.number, .string, .time])
        let ordering = ["==", "!=", "<", "<=", ">", ">="]
        if random.chance(0.1) {
            let listElement = random.pick(ElementType.allCases)
            let op = random.pick(["==", "!="])
            return Rendered(text: "\(list(listElement, depth).text) \(op) \(list(listElement, depth).text)", level: .test)
        }
        let op = element == .bool ? random.pick(["==", "!="]) : random.pick(ordering)
        let left = scalar(element, depth - 1)
        var right = scalar(element, depth - 1)
        if element == .string, Self.isCountry(left.text), random.chance(0.7) { right = stringLiteral(forCountry: true) }
        return Rendered(text: "\(left.at(.sum))\(space())\(op) \(right.at(.sum))", level: .test)
    }

    /// A random test, nested up to `depth` levels.
    public mutating func condition(_ depth: Int) -> Rendered {
        let choice = random.int(depth > 0 ? 12 : 8)
        switch choice {
        case 0, 1:
            return comparison(depth)
        case 2:
            let value: Rendered = switch random.int(5) {
            case 0: string(depth - 1)
            case 1: number(depth - 1)
            case 2: time(depth - 1)
            case 3: list(random.pick(ElementType.allCases), depth - 1)
            default: bool(depth - 1)
            }
            return Rendered(text: "\(value.at(.sum)) is\(random.chance(0.5) ? " not" : "") null", level: .test)
        case 3:
            let element = random.pick(ElementType.allCases)
            let value = scalar(element, depth - 1)
            let list = element == .string && Self.isCountry(value.text) ? listLiteral(.string, forCountry: true) : listLiteral(element)
            return Rendered(text: "\(value.at(.sum))\(random.chance(0.4) ? " not" : "") in \(list)", level: .test)
        case 4:
            let element = random.pick(ElementType.allCases)
            let value = scalar(element, depth - 1)
            let list = list(element, depth - 1)
            switch random.int(3) {
            case 0: return Rendered(text: "\(list.at(.sum)) contains \(value.at(.sum))", level: .test)
            case 1: return Rendered(text: "\(value.at(.sum)) not in \(list.at(.sum))", level: .test)
            default: return Rendered(text: "\(value.at(.sum)) in \(list.at(.sum))", level: .test)
            }
        case 5:
            let op = random.pick(["contains", "starts_with", "ends_with"])
            return Rendered(text: "\(string(depth - 1).at(.sum)) \(op) \(string(depth - 1).at(.sum))", level: .test)
        case 6:
            let pattern = Self.quote(random.pick(RuleSamples.patterns), single: random.chance(0.3))
            return Rendered(text: "\(string(depth - 1).at(.sum)) matches \(pattern)", level: .test)
        case 7:
            return bool(0)
        case 8:
            return Rendered(text: "not\(space())\(condition(depth - 1).at(.test))", level: .test)
        case 9, 10:
            let isAnd = choice == 9
            let parts = (0...random.int(3)).map { _ in condition(depth - 1).at(isAnd ? .test : .and) }
            return Rendered(text: parts.joined(separator: "\(space())\(isAnd ? "and" : "or") "), level: isAnd ? .and : .or)
        default:
            return Rendered(text: "(\(condition(depth - 1).text))", level: .atom)
        }
    }
}
