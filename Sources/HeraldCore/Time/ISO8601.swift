import Foundation

/// ISO 8601 formatting and parsing of instants, in UTC, without the per-call cost of creating
/// formatters.
public enum ISO8601 {
    /// `2026-11-20T10:00:00Z`, or with milliseconds when the instant has them.
    public static func string(from date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        if seconds.rounded(.down) == seconds {
            return date.formatted(.iso8601)
        }
        return date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    /// Parses `2026-11-20T10:00:00Z`, `2026-11-20T10:00:00.123+09:00` or a date alone
    /// (`2026-11-20`, midnight UTC). Returns `nil` for anything else, including dates that do not
    /// exist (`2026-02-30`, `24:00`, second 61), which a lenient parser would roll over into
    /// another date. Years run from 1 to 9999.
    public static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + count)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
              year >= 1, (1...12).contains(month), day >= 1, day <= LocalDateTime.daysIn(month: month, year: year)
        else { return nil }
        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var offset = 0
        if index < bytes.count {
            guard expect("T") || expect("t") || expect(" "),
                  let hour = digits(2), expect(":"), let minute = digits(2), hour < 24, minute < 60
            else { return nil }
            components.hour = hour
            components.minute = minute
            if expect(":") {
                guard let second = digits(2), second < 60 else { return nil }
                components.second = second
                if expect(".") {
                    var fraction = 0.0, scale = 0.1, count = 0
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57, count < 9 {
                        fraction += Double(bytes[index] - 48) * scale
                        scale /= 10
                        index += 1
                        count += 1
                    }
                    guard count > 0 else { return nil }
                    components.nanosecond = Int((fraction * 1e9).rounded())
                }
            }
            if expect("Z") || expect("z") {
                offset = 0
            } else {
                guard index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") else { return nil }
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let hours = digits(2), expect(":") || true, let minutes = digits(2), hours < 24, minutes < 60 else { return nil }
                offset = sign * (hours * 3600 + minutes * 60)
            }
        }
        guard index == bytes.count else { return nil }
        guard let instant = utcCalendar.date(from: components) else { return nil }
        return instant.addingTimeInterval(TimeInterval(-offset))
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()
}
