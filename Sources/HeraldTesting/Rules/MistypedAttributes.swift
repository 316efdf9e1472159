import HeraldCore

/// Attributes stored with another JSON type than the schema declares, as a database holds them
/// after herald.yml changed an attribute's type: the store reads such a value as missing
/// (`AttributeJSON.decode`), so every back end must select as if the attribute were missing.
public enum MistypedAttributes {
    /// Values of every JSON type, for any attribute: strings of digits, integers, reals, booleans,
    /// null, lists of each element type, mixed and nested lists, and an object.
    public static let values = [
        #""17""#, "17", "0.5", "true", "false", "null", #""KR""#, #""""#, "[]", #"["vip"]"#, "[1, 2.5]", "[true]", #"[1, "a"]"#,
        "[[1]]", #"{"a": 1}"#, "1790000000", #"["2026-01-01"]"#, "[null]", "1e+20", "-0.0", #"[true, 1]"#, #"["a", ["a"]]"#,
    ]

    /// The stored JSON of `user`'s attributes with each attribute of `schema`, at random, as
    /// written, missing, or one of `values`.
    public static func json(of user: User, schema: AttributeSchema = RuleFixtures.schema, random: inout SeededRandom) -> String {
        var members: [String] = []
        for definition in schema.definitions {
            switch random.int(3) {
            case 0:
                if let value = user.attributes[definition.name] {
                    // `{"x":<value>}` without `{"x":` and `}`.
                    members.append("\"\(definition.name)\": \(AttributeJSON.encode(["x": value]).dropFirst(5).dropLast())")
                }
            case 1: break
            default: members.append("\"\(definition.name)\": \(random.pick(values))")
            }
        }
        return "{" + members.joined(separator: ", ") + "}"
    }
}
