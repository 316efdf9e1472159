import Foundation

/// A wall-clock date and time with no zone: `2026-12-01T09:00`. It becomes an instant only with
/// an explicit IANA zone (DESIGN.md, invariant 5).
public struct LocalDateTime: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// Parses `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD` (midnight), also with a
    /// space instead of `T`. Rejects impossible dates such as February 30.
    public init?(_ text: String) {
        let scalars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard scalars.count == 10 || scalars.count == 16 || scalars.count == 19,
              scalars[4] == UInt8(ascii: "-"), scalars[7] == UInt8(ascii: "-"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        if scalars.count >= 16 {
            guard scalars[10] == UInt8(ascii: "T") || scalars[10] == UInt8(ascii: " "),
                  scalars[13] == UInt8(ascii: ":"),
                  let h = number(11..<13), let m = number(14..<16)
            else { return nil }
            hour = h
            minute = m
            if scalars.count == 19 {
                guard scalars[16] == UInt8(ascii: ":"), let s = number(17..<19) else { return nil }
                second = s
            }
        }
        guard (1...12).contains(month), (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second),
              day >= 1, day <= LocalDateTime.daysIn(month: month, year: year)
        else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    public var description: String {
        String(format: "%04d-%02d-%02dT%02d:%02d", year, month, day, hour, minute) + (second == 0 ? "" : String(format: ":%02d", second))
    }

    public static func < (lhs: LocalDateTime, rhs: LocalDateTime) -> Bool {
        (lhs.year, lhs.month, lhs.day, lhs.hour, lhs.minute, lhs.second)
            < (rhs.year, rhs.month, rhs.day, rhs.hour, rhs.minute, rhs.second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The instant this wall-clock time names in `zone`.
    ///
    /// A time in a DST gap (it never happens on the clock) moves forward by the length of the gap;
    /// a time in an overlap (it happens twice) is the first of the two instants.
    public func instant(in zone: TimeZone) -> Date {
        // Read the wall clock as if it were UTC, then correct by the zone's offset. Trying the
        // offsets in force just before and just after the naive instant finds both readings of an
        // overlap (take the earlier) and detects a gap (neither reading maps back to this time).
        let days = ISO8601.daysFromCivil(year: year, month: month, day: day)
        let naive = Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3600 + minute * 60 + second))
        let offsets = Set([
            zone.secondsFromGMT(for: naive.addingTimeInterval(-86_400)),
            zone.secondsFromGMT(for: naive),
            zone.secondsFromGMT(for: naive.addingTimeInterval(86_400)),
        ])
        let candidates = offsets
            .map { naive.addingTimeInterval(TimeInterval(-$0)) }
            .filter { zone.secondsFromGMT(for: $0) == Int(naive.timeIntervalSince($0)) }
            .sorted()
        if let first = candidates.first {
            return first
        }
        // A gap: the clock jumps over this time. Use the offset from before the jump, which lands
        // the same distance past the jump as the time was past its start.
        let before = zone.secondsFromGMT(for: naive.addingTimeInterval(-86_400))
        return naive.addingTimeInterval(TimeInterval(-before))
    }
}
