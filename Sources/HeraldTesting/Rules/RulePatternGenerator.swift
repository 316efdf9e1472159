/// Random patterns over the documented syntax, and texts made of the scalars they mention.
public struct RulePatternGenerator {
    /// A generator; the randomness comes with each call.
    public init() {}

    let literals = ["a", "b", "c", "x", "1", "_", " ", "é", "한", "😀", "\\.", "\\-", "\\n", "\\t", "\\\\", "\\$", "\\(", "\\["]
    let classes = [
        ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[abc]", "[^abc]", "[a-c]", "[^a-c\\n]", "[a-c😀]",
        "[\\d_]", "[^\\w]", "[]a]", "[a-]", "[가-힣]", "[^가-힣]", "[😀-😂]", "[.]", "[\\s\\S]",
    ]
    let textScalars: [Character] = ["a", "b", "c", "x", "1", "_", " ", "é", "한", "😀", "😁", ".", "-", "\n", "\t", "\\", "$", "(", "[", "]", "z"]

    /// A random pattern source, nested up to `depth` groups; not always valid.
    public func pattern(_ random: inout SeededRandom, depth: Int) -> String {
        let count = random.int(4)
        var result = ""
        for _ in 0..<count { result += item(&random, depth: depth) }
        if random.chance(0.1) { result = "^" + result }
        if random.chance(0.1) { result += "$" }
        if depth > 0, random.chance(0.2) {
            result += "|" + pattern(&random, depth: depth - 1)
        }
        return result
    }

    private func item(_ random: inout SeededRandom, depth: Int) -> String {
        var atom: String
        switch random.int(10) {
        case 0..<4: atom = random.pick(literals)
        case 4..<7: atom = random.pick(classes)
        case 7: atom = random.pick(["^", "$"])
        default:
            atom = depth > 0 ? random.pick(["(", "(?:"]) + pattern(&random, depth: depth - 1) + ")" : random.pick(literals)
        }
        if atom == "^" || atom == "$" { return atom }
        if random.chance(0.35) {
            atom += random.pick(["*", "+", "?", "{0}", "{1}", "{2}", "{0,2}", "{1,3}", "{2,}", "{0,}", "*?", "+?"])
        }
        return atom
    }

    /// A random text of the scalars the patterns mention, mostly short.
    public func text(_ random: inout SeededRandom) -> String {
        let length = random.chance(0.1) ? random.int(200) : random.int(10)
        return String((0..<length).map { _ in random.pick(textScalars) })
    }
}
