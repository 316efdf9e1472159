import Foundation
import HeraldCore
import HeraldRules

/// What the rules tests share: a schema with an attribute of every type, an instant, a source
/// location, and users with the expressions they must select.
public enum RuleFixtures {
    /// One attribute of every type, and a closed set for `country`.
    public static let schema = AttributeSchema([
        AttributeDefinition(name: "country", type: .string, allowedValues: ["KR", "US", "JP", "DE", "FR"]),
        AttributeDefinition(name: "name", type: .string),
        AttributeDefinition(name: "age", type: .number),
        AttributeDefinition(name: "score", type: .number),
        AttributeDefinition(name: "vip", type: .bool),
        AttributeDefinition(name: "last_seen", type: .time),
        AttributeDefinition(name: "birthday", type: .time),
        AttributeDefinition(name: "tags", type: .list(.string)),
        AttributeDefinition(name: "scores", type: .list(.number)),
        AttributeDefinition(name: "flags", type: .list(.bool)),
        AttributeDefinition(name: "dates", type: .list(.time)),
        AttributeDefinition(name: "nested", type: .list(.list(.string))),
    ])

    /// 2026-09-21T14:13:20Z, a Monday.
    public static let now = Date(timeIntervalSince1970: 1_790_000_000)
    /// `now`, the campaign "restock", UTC.
    public static let context = RuleContext(now: now, campaignID: "restock", defaultTimezone: "UTC")

    /// Where test expressions "are": line 6, column 14 of a campaign file.
    public static let location = SourceLocation(file: "campaigns/restock.yml", line: 6, column: 14)

    /// The rule of `text`, checked against `schema`, as if written at `location`.
    public static func makeRule(_ text: String, schema: AttributeSchema = schema) throws(DiagnosticList) -> Rule {
        try Rule(RuleSource(text: text, location: location), schema: schema)
    }

    /// The ids `rule` accepts among `users`, by the in-memory evaluator, sorted by their bytes as
    /// SQL sorts them.
    public static func evaluatedIDs(_ rule: Rule, _ users: [User], _ context: RuleContext = context) -> [String] {
        users.filter { rule.evaluate($0, in: context) }.map(\.id).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Five users that between them have every kind of value, missing value and odd string.
    public static let semanticsUsers: [User] = {
        func daysAgo(_ days: Double) -> AttributeValue { .time(now.addingTimeInterval(-days * 86_400)) }
        return [
            User(
                id: "ana", email: "ana@example.com", timezone: "Asia/Seoul", firstName: "Ana",
                createdAt: now.addingTimeInterval(-400 * 86_400),
                attributes: [
                    "country": .string("KR"), "name": .string("Ana"), "age": .number(30), "vip": .bool(true),
                    "tags": .list([.string("vip"), .string("new")]), "scores": .list([.number(1), .number(2.5)]),
                    "last_seen": daysAgo(2),
                ],
                devices: [Device(platform: .ios, token: "a1")]
            ),
            User(
                id: "ben", email: "Ben@Example.com", timezone: "America/New_York",
                attributes: [
                    "country": .string("US"), "age": .number(17), "vip": .bool(false), "tags": .list([.string("new")]),
                    "last_seen": daysAgo(40),
                ],
                devices: [Device(platform: .web, token: "b1", isActive: false)]
            ),
            User(
                id: "cho",
                attributes: ["name": .string("Σίσυφος")],
                devices: [Device(platform: .android, token: "c1")]
            ),
            User(
                id: "dan", email: "dan%_x@example.com",
                attributes: [
                    "country": .string("JP"), "age": .number(65.5), "tags": .list([]),
                    "name": .string("O'Brien; DROP TABLE users; --"), "last_seen": daysAgo(0),
                    "flags": .list([.bool(true), .bool(false)]), "dates": .list([daysAgo(1)]),
                ]
            ),
            User(
                id: "eve", email: "eve@example.com", timezone: "Invalid/Zone",
                attributes: [
                    "country": .string("DE"), "name": .string("ÉLODIE"), "age": .number(0), "score": .number(-3),
                    "tags": .list([.string("VIP")]),
                ]
            ),
        ]
    }()

    /// Each expression with the users it must select, checked against both back ends.
    public static let semanticsCases: [(String, [String])] = [
        (#"country == "KR""#, ["ana"]),
        (#"country != "KR""#, ["ben", "dan", "eve"]),
        (#"not (country == "KR")"#, ["ben", "cho", "dan", "eve"]),
        ("country is null", ["cho"]),
        ("country is not null", ["ana", "ben", "dan", "eve"]),
        (#"country in ["KR", "JP"]"#, ["ana", "dan"]),
        (#"country not in ["KR", "JP"]"#, ["ben", "eve"]),
        (#"not (country in ["KR", "JP"])"#, ["ben", "cho", "eve"]),
        (#""vip" in tags"#, ["ana"]),
        (#"tags contains "new""#, ["ana", "ben"]),
        (#""vip" not in tags"#, ["ben", "dan", "eve"]),
        (#"not ("vip" in tags)"#, ["ben", "cho", "dan", "eve"]),
        ("age >= 18", ["ana", "dan"]),
        ("not (age >= 18)", ["ben", "cho", "eve"]),
        ("age + 1 > 18", ["ana", "dan"]),
        ("age - 0.5 == 65", ["dan"]),
        ("vip", ["ana"]),
        ("not vip", ["ben", "cho", "dan", "eve"]),
        ("vip == false", ["ben"]),
        ("(age > 10) == vip", ["ana"]),
        ("not (age > 10 and vip)", ["ben", "cho", "dan", "eve"]),
        ("last_seen > now() - 30d", ["ana", "dan"]),
        ("days_since(last_seen) >= 40", ["ben"]),
        ("created_at < now() - 365d", ["ana"]),
        (#"lower(email) == "ben@example.com""#, ["ben"]),
        (#"email == "ben@example.com""#, []),
        (#"email contains "%_""#, ["dan"]),
        (#"email starts_with "Ben""#, ["ben"]),
        (#"email ends_with "@example.com""#, ["ana", "dan", "eve"]),
        (#"email matches "^[a-z]+@""#, ["ana", "eve"]),
        (#"name contains "'""#, ["dan"]),
        (#"name == "O'Brien; DROP TABLE users; --""#, ["dan"]),
        ("len(tags) == 0", ["dan"]),
        ("len(name) == 7", ["cho"]),
        (#"lower(name) == "élodie""#, ["eve"]),
        (#"has_device("ios")"#, ["ana"]),
        (#"has_device("web")"#, []),
        ("has_device()", ["ana", "cho"]),
        ("not has_device()", ["ben", "dan", "eve"]),
        (#"tags == ["vip", "new"]"#, ["ana"]),
        (#"tags != ["new"]"#, ["ana", "dan", "eve"]),
        ("tags == []", ["dan"]),
        ("not (tags != [])", ["cho", "dan"]),
        ("scores contains 2.5", ["ana"]),
        ("flags contains false", ["dan"]),
        ("dates contains 2026-09-20T14:13:20Z", ["dan"]),
        ("country in []", []),
        ("country not in []", ["ana", "ben", "dan", "eve"]),
        (#"len(tags) > 1 and tags contains "vip""#, ["ana"]),
        (#"country == "KR" or age < 1"#, ["ana", "eve"]),
        ("true", ["ana", "ben", "cho", "dan", "eve"]),
        ("bucket(1) == 0", ["ana", "ben", "cho", "dan", "eve"]),
        // FNV-1a 64 of "restock:<id>" modulo 100: ana 6, ben 37, cho 32, dan 31, eve 66.
        ("bucket(100) == 6", ["ana"]),
        ("bucket(100) < 35", ["ana", "cho", "dan"]),
        (#"id in ["ana", "cho"]"#, ["ana", "cho"]),
        ("today() <= now()", ["ana", "ben", "cho", "dan", "eve"]),
        ("user.email is null", ["cho"]),
        ("attributes.age > 60", ["dan"]),
        ("score < 0", ["eve"]),
        // `!=` with a missing value is false like every comparison, whatever the operand types (found
        // by the property test; kept here so that every run checks it).
        ("age != 30", ["ben", "dan", "eve"]),
        ("not (age != 30)", ["ana", "cho"]),
        ("age + 1 != 31", ["ben", "dan", "eve"]),
        ("score != 0", ["eve"]),
        ("age != score", ["eve"]),
        ("last_seen != now()", ["ana", "ben"]),
        ("vip != true", ["ben"]),
        (#"name != "Ana""#, ["cho", "dan", "eve"]),
        // More than 8 literals are looked up in a set.
        ("age in [0, 1, 2, 3, 4, 5, 6, 7, 17, 30]", ["ana", "ben", "eve"]),
        ("age not in [0, 1, 2, 3, 4, 5, 6, 7, 17, 30]", ["dan"]),
        (#"name in ["a", "b", "c", "d", "e", "f", "g", "h", "Ana", "ÉLODIE"]"#, ["ana", "eve"]),
        (#"name not in ["a", "b", "c", "d", "e", "f", "g", "h", "Ana", "ÉLODIE"]"#, ["cho", "dan"]),
        ("not (country is null)", ["ana", "ben", "dan", "eve"]),
        ("not (country is not null)", ["cho"]),
        (#"email starts_with "e""#, ["eve"]),
        (#"not (email ends_with "@example.com")"#, ["ben", "cho"]),
    ]

    /// A test nesting the costliest shapes up to `budget` levels, with chains and sums around the
    /// limits.
    public static func deepTest(_ random: inout SeededRandom, budget: Int) -> String {
        if budget <= 0 { return random.pick(["vip", "age > 1", #"name == "x""#, "has_device()", "tags contains \"vip\""]) }
        let inner = deepTest(&random, budget: budget - 1)
        switch random.int(9) {
        case 0, 1:
            let count = random.chance(0.3) ? random.int(300) + 1 : random.int(4) + 1
            var terms = (0..<count).map { _ in random.pick(["vip", "age > 1", "score < 3"]) }
            terms.insert("(\(inner))", at: random.int(terms.count + 1))
            return "(" + terms.joined(separator: random.chance(0.5) ? " and " : " or ") + ")"
        case 2: return "not (\(inner))"
        case 3: return "(vip == (\(inner)))"
        case 4: return "((\(inner)) in flags)"
        case 5: return "((\(inner)) not in [true])"
        case 6: return "((\(inner)) is not null)"
        case 7:
            let steps = random.chance(0.3) ? random.int(70) + 1 : random.int(4) + 1
            return "(age" + String(repeating: " + score", count: steps) + " > len(lower(name)) and (\(inner)))"
        default: return "(flags contains (\(inner)))"
        }
    }
}
