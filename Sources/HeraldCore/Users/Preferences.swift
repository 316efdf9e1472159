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
