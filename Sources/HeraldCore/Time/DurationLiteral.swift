import Foundation

/// A duration as written in workspace files: `30s`, `15m`, `12h`, `7d`, `2w`.
public struct DurationLiteral: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Unit: String, Sendable, Hashable, Codable, CaseIterable {
        case seconds = "s"
        case minutes = "m"
        case hours = "h"
        case days = "d"
        case weeks = "w"

        public var seconds: Int64 {
            switch self {
            case .seconds: 1
            case .minutes: 60
            case .hours: 3600
            case .days: 86_400
            case .weeks: 604_800
            }
        }
    }

    public var amount: Int64
    public var unit: Unit

    public init(amount: Int64, unit: Unit) {
        self.amount = amount
        self.unit = unit
    }

    /// Parses `30s`, `15m`, `12h`, `7d`, `2w`; `nil` for anything else (including `0d`'s
    /// negative or overflowing cousins).
    public init?(_ text: String) {
        guard let last = text.last, let unit = Unit(rawValue: String(last)) else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let amount = Int64(digits), amount <= Int64.max / unit.seconds
        else { return nil }
        self.amount = amount
        self.unit = unit
    }

    public var seconds: Int64 { amount * unit.seconds }
    public var duration: Duration { .seconds(seconds) }
    public var description: String { "\(amount)\(unit.rawValue)" }

    /// The sentence used in errors: what a duration looks like.
    public static let expectedForm = "a duration such as 30s, 15m, 12h, 7d or 2w"

    /// A number of seconds as a duration is written, in the largest unit that divides it:
    /// `259200` → `3d`, `90` → `90s`.
    public static func describe(seconds: Double) -> String {
        let whole = Int64(seconds.rounded())
        for unit in Unit.allCases.reversed() where whole > 0 && whole % unit.seconds == 0 {
            return "\(whole / unit.seconds)\(unit.rawValue)"
        }
        return "\(whole)s"
    }
}

/// A rate as written in workspace files: `100/s`, `600/min`, `50/h`, `1000/d`.
public struct RateLiteral: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Per: String, Sendable, Hashable, Codable, CaseIterable {
        case second = "s"
        case minute = "min"
        case hour = "h"
        case day = "d"

        public var seconds: Double {
            switch self {
            case .second: 1
            case .minute: 60
            case .hour: 3600
            case .day: 86_400
            }
        }
    }

    public var count: Int
    public var per: Per

    public init(count: Int, per: Per) {
        self.count = count
        self.per = per
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
              let count = Int(parts[0]), count > 0, let per = Per(rawValue: String(parts[1])) else {
            return nil
        }
        self.count = count
        self.per = per
    }

    public var perSecond: Double { Double(count) / per.seconds }
    public var description: String { "\(count)/\(per.rawValue)" }

    public static let expectedForm = "a rate such as 100/s, 600/min, 50/h or 1000/d"
}

/// A wall-clock time of day, `HH:MM`.
public struct TimeOfDay: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let hour = Int(parts[0]), let minute = Int(parts[1]),
              (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        self.hour = hour
        self.minute = minute
    }

    public var minutesSinceMidnight: Int { hour * 60 + minute }
    public var description: String { String(format: "%02d:%02d", hour, minute) }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool {
        lhs.minutesSinceMidnight < rhs.minutesSinceMidnight
    }
}
