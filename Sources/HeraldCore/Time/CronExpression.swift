import Foundation

/// A five-field cron expression: minute, hour, day of month, month, day of week.
///
/// Fields take `*`, numbers, ranges `1-5`, lists `1,15`, steps `*/15` or `0-30/10`, and names for
/// months (`JAN`…`DEC`) and days (`SUN`…`SAT`, where 0 and 7 are Sunday), and the shorthands
/// `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`). As in
/// Vixie cron, when both day fields are restricted a day matches if either does, and a day field
/// that starts with `*` (`*`, `*/2`) counts as unrestricted: the day then has to match both fields
/// (`*/2` still means odd days of the month).
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var minutes: Set<Int>
    public var hours: Set<Int>
    public var daysOfMonth: Set<Int>
    public var months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    public var daysOfWeek: Set<Int>
    public var isDayOfMonthRestricted: Bool
    public var isDayOfWeekRestricted: Bool

    public var description: String { source }

    /// A cron syntax error: which field and why.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The five fields each shorthand stands for.
    public static let shorthands: [String: String] = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]

    public init(_ source: String) throws(ParseError) {
        var text = source
        let trimmed = source.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("@") {
            guard let expanded = Self.shorthands[trimmed.lowercased()] else {
                throw ParseError(message: "unknown shorthand '\(trimmed)' (\(Suggestion.hint(for: trimmed.lowercased(), in: Self.shorthands.keys.sorted())))")
            }
            text = expanded
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            throw ParseError(message: "a cron expression has 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        self.source = source
        minutes = try Self.field(fields[0], name: "minute", range: 0...59, names: [:])
        hours = try Self.field(fields[1], name: "hour", range: 0...23, names: [:])
        daysOfMonth = try Self.field(fields[2], name: "day of month", range: 1...31, names: [:])
        self.months = try Self.field(
            fields[3], name: "month", range: 1...12,
            names: Dictionary(uniqueKeysWithValues: months.enumerated().map { ($1, $0 + 1) })
        )
        let weekdays = try Self.field(
            fields[4], name: "day of week", range: 0...7,
            names: Dictionary(uniqueKeysWithValues: days.enumerated().map { ($1, $0) })
        )
        daysOfWeek = Set(weekdays.map { $0 % 7 })
        isDayOfMonthRestricted = !fields[2].hasPrefix("*")
        isDayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    private static func field(_ text: Substring, name: String, range: ClosedRange<Int>, names: [String: Int]) throws(ParseError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(message: "\(name) field '\(text)' has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value > 0 else {
                    throw ParseError(message: "\(name) field '\(text)' has a step that is not a positive number")
                }
                step = value
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else {
                let ends = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw ParseError(message: "\(name) field '\(text)' is not a valid range") }
                var numbers: [Int] = []
                for end in ends {
                    guard let value = Int(end) ?? names[end.uppercased()] else {
                        throw ParseError(message: "\(name) field has '\(end)', which is not a number\(names.isEmpty ? "" : " or a name")")
                    }
                    guard range.contains(value) else {
                        throw ParseError(message: "\(name) value \(value) is out of range \(range.lowerBound)-\(range.upperBound)")
                    }
                    numbers.append(value)
                }
                let lower = numbers[0]
                let upper = numbers.count == 2 ? numbers[1] : (pieces.count == 2 ? range.upperBound : numbers[0])
                guard lower <= upper else { throw ParseError(message: "\(name) range \(lower)-\(upper) is backwards") }
                bounds = lower...upper
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }
}
