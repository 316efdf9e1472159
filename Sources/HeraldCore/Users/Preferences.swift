/// What a user has opted in to or out of.
///
/// Keys are a channel (`email`), a category (`marketing`), or a channel and category
/// (`push:marketing`). What is not set is opted in. An opt-out at any of the three levels that
/// apply to a send wins.
public struct Preferences: Sendable, Hashable, Codable {
    public private(set) var values: [String: Bool]

    public init(_ values: [String: Bool] = [:]) {
        self.values = values
    }

    public subscript(key: String) -> Bool? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Whether a notification of `category` may go out on `channel`.
    ///
    /// Transactional sends respect only the channel opt-out (a user who turned off SMS gets no SMS,
    /// even a receipt); every other category also respects the category and channel:category keys.
    public func allows(channel: Channel, category: String) -> Bool {
        if values[channel.rawValue] == false { return false }
        if category == Campaign.transactionalCategory { return true }
        if values[category] == false { return false }
        if values["\(channel.rawValue):\(category)"] == false { return false }
        return true
    }

    /// Whether `key` is a well-formed preference key: a channel, a category, or `channel:category`,
    /// where a category is `[a-z0-9_-]+`.
    public static func isValidKey(_ key: String) -> Bool {
        let parts = key.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isCategory(parts[0])
        case 2: return Channel(rawValue: String(parts[0])) != nil && isCategory(parts[1])
        default: return false
        }
    }

    private static func isCategory(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}

/// The preference keys a workspace understands: each channel, each category users can opt out
/// of (herald.yml `categories:`, `marketing`, and every campaign's category), and
/// `channel:category`.
///
/// An import refuses any other key, because a typo such as `emial` would otherwise be stored as
/// a category no send ever checks, and the user would keep getting email.
public struct PreferenceVocabulary: Sendable, Hashable {
    /// The categories a key may name (never `transactional`, which no opt-out applies to).
    public var categories: Set<String>

    public init(categories: some Sequence<String>) {
        self.categories = Set(categories).union([Campaign.marketingCategory]).subtracting([Campaign.transactionalCategory])
    }

    /// Why `key` is not a preference a send would check, or `nil` when it is one. Without a
    /// vocabulary only the shape of the key is checked.
    static func problem(with key: String, in vocabulary: PreferenceVocabulary?) -> FieldProblem? {
        let quoted = UserFieldRules.quoted(key)
        let channels = Channel.allCases.map(\.rawValue)
        guard Preferences.isValidKey(key) else {
            let near = key.count <= UserFieldRules.maximumQuotedLength ? vocabulary.flatMap { Suggestion.closest(to: key, in: $0.keys) } : nil
            return FieldProblem(
                "invalid preference key \(quoted)",
                hint: near.map { "did you mean '\($0)'?" } ?? "expected a channel, a category or channel:category, e.g. push:marketing"
            )
        }
        let parts = key.split(separator: ":").map(String.init)
        let category = parts.count == 2 ? parts[1] : (channels.contains(parts[0]) ? nil : parts[0])
        if category == Campaign.transactionalCategory {
            return FieldProblem(
                "preference \(quoted) has no effect",
                hint: "transactional messages respect only channel opt-outs such as \(parts.count == 2 ? "'\(parts[0])'" : "'email'")"
            )
        }
        guard let vocabulary, let category, !vocabulary.categories.contains(category) else { return nil }
        let candidates = parts.count == 2 ? vocabulary.categories.sorted().map { "\(parts[0]):\($0)" } : vocabulary.keys
        let near = key.count <= UserFieldRules.maximumQuotedLength ? Suggestion.closest(to: key, in: candidates) : nil
        return FieldProblem(
            "unknown preference \(quoted)",
            hint: near.map { "did you mean '\($0)'?" }
                ?? "expected a channel (\(channels.joined(separator: ", "))), a category (\(vocabulary.categories.sorted().joined(separator: ", ")); declare others under 'categories:' in herald.yml) or channel:category"
        )
    }

    /// Every single key: channels and categories.
    var keys: [String] {
        Channel.allCases.map(\.rawValue) + categories.sorted()
    }
}
