import Foundation

/// A day of the calendar with no time and no zone: `2026-12-07`. It is the same day for every
/// recipient, wherever they are, so formatting it never shifts it by a time zone.
public struct CalendarDate: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// A date; the caller guarantees it exists (`init?(_:)` checks text).
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; `nil` for anything else, and for days that do not exist
    /// (`2026-02-30`) or years before 1.
    public init?(_ text: String) {
        guard text.utf8.count == 10, let value = LocalDateTime(text), value.year >= 1 else { return nil }
        self.init(year: value.year, month: value.month, day: value.day)
    }

    /// Whether a text has the shape of a date (`dddd-dd-dd`) whether or not the day exists, so that
    /// `2026-13-07` can be reported as a wrong date rather than read as text.
    public static func looksLikeDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10 else { return false }
        for (index, byte) in bytes.enumerated() {
            let isDash = index == 4 || index == 7
            if isDash ? byte != UInt8(ascii: "-") : !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return false }
        }
        return true
    }

    /// Midnight UTC at the start of the day: formatted in UTC, it names this day in any locale.
    public var midnightUTC: Date {
        Date(timeIntervalSince1970: Double(ISO8601.daysFromCivil(year: year, month: month, day: day)) * 86_400)
    }

    /// `2026-12-07`
    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}
