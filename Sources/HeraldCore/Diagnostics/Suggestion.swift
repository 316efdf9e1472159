/// "Did you mean" suggestions for misspelled names.
public enum Suggestion {
    /// The candidate closest to `word` by edit distance, when it is close enough to be a likely
    /// typo (at most a third of the word's length, and at least 1).
    ///
    /// ```swift
    /// Suggestion.closest(to: "chanels", in: ["channels", "template"]) // "channels"
    /// ```
    ///
    /// Words longer than 64 characters get no suggestion (they are not typos of a name), and a
    /// candidate whose length alone rules it out is not compared, so that a hostile value costs
    /// little.
    public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let length = word.count
        guard length <= 64 else { return nil }
        let limit = max(1, length / 3)
        let lowered = word.lowercased()
        var best: (name: String, distance: Int)?
        for candidate in candidates where abs(candidate.count - length) <= limit {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= limit, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.name
    }

    /// The hint text for an unknown name: `did you mean 'x'?` or the list of valid names.
    public static func hint(for word: String, in candidates: [String]) -> String {
        if let match = closest(to: word, in: candidates) {
            return "did you mean '\(match)'?"
        }
        return "expected one of: " + candidates.joined(separator: ", ")
    }

    /// Edit distance over Unicode characters where a swap of two neighbours counts as one edit
    /// (optimal string alignment), since `titel` for `title` is the commonest typo of all.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}
