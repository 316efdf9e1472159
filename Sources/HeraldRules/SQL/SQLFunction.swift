import HeraldCore

/// A scalar function that rule SQL calls, implemented in Swift. The store registers each one on
/// every SQLite connection (for GRDB: `DatabaseFunction(name, argumentCount:, pure:)`).
public struct SQLFunction: Sendable {
    /// The name the SQL calls it by (`herald_…`).
    public var name: String
    /// The exact number of arguments.
    public var argumentCount: Int
    /// Whether the result depends only on the arguments (SQLite may then use the function in
    /// indexes and factor out repeated calls).
    public var isDeterministic: Bool
    /// The implementation: `argumentCount` arguments in, one value out.
    public var call: @Sendable ([SQLValue]) -> SQLValue

    /// A function as the store should register it.
    public init(name: String, argumentCount: Int, isDeterministic: Bool, call: @escaping @Sendable ([SQLValue]) -> SQLValue) {
        self.name = name
        self.argumentCount = argumentCount
        self.isDeterministic = isDeterministic
        self.call = call
    }
}

/// The functions rule SQL uses, each a thin wrapper over `RuleFunctions`, which the in-memory
/// evaluator calls too. Any NULL argument gives NULL, as for SQL's own functions.
public enum RuleSQLFunctions {
    /// Every function a rule's SQL may call.
    public static let all: [SQLFunction] = [
        SQLFunction(name: "herald_lower", argumentCount: 1, isDeterministic: true) { arguments in
            guard let text = arguments.first?.text else { return .null }
            return .text(RuleFunctions.lower(text))
        },
        SQLFunction(name: "herald_len", argumentCount: 1, isDeterministic: true) { arguments in
            guard let text = arguments.first?.text else { return .null }
            return .integer(Int64(RuleFunctions.length(text)))
        },
        SQLFunction(name: "herald_ends_with", argumentCount: 2, isDeterministic: true) { arguments in
            guard arguments.count == 2, let text = arguments[0].text, let suffix = arguments[1].text else { return .null }
            return .integer(RuleFunctions.endsWith(text, suffix) ? 1 : 0)
        },
        SQLFunction(name: "herald_matches", argumentCount: 2, isDeterministic: true) { arguments in
            guard arguments.count == 2, let text = arguments[0].text, let pattern = arguments[1].text,
                  let matched = RuleFunctions.matches(text, pattern: pattern)
            else { return .null }
            return .integer(matched ? 1 : 0)
        },
        SQLFunction(name: "herald_today", argumentCount: 3, isDeterministic: true) { arguments in
            guard arguments.count == 3, let now = arguments[0].number, let defaultZone = arguments[2].text else { return .null }
            return .real(RuleFunctions.today(now: now, zone: arguments[1].text, defaultZone: defaultZone))
        },
        SQLFunction(name: "herald_days_since", argumentCount: 2, isDeterministic: true) { arguments in
            guard arguments.count == 2, let now = arguments[0].number, let time = arguments[1].number else { return .null }
            return .real(RuleFunctions.daysSince(time, now: now))
        },
        SQLFunction(name: "herald_bucket", argumentCount: 3, isDeterministic: true) { arguments in
            guard arguments.count == 3, let campaign = arguments[0].text, let user = arguments[1].text,
                  let count = arguments[2].number, count >= 1, count <= 9_007_199_254_740_992
            else { return .null }
            return .integer(RuleFunctions.bucket(campaignID: campaign, userID: user, count: Int64(count)))
        },
    ]
}

extension SQLValue {
    var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value), .time(let value): value
        default: nil
        }
    }
}
