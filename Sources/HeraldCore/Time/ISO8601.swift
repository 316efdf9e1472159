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

    /// Why a text is not a date or instant, as a hint for the user.
    public struct Problem: Error, Sendable, Hashable {
        public var hint: String
    }

    public static let expectedForm = "expected a date such as 2026-11-20 or an instant such as 2026-11-20T10:00:00Z"

    /// Parses `2026-11-20T10:00:00Z`, `2026-11-20T10:00:00.123+09:00` or a date alone
    /// (`2026-11-20`, midnight UTC); `nil` for anything else (see `seconds(from:)`).
    public static func date(from text: String) -> Date? {
        guard case .success(let seconds) = seconds(from: text) else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Seconds since 1970-01-01T00:00:00Z of an ISO 8601 date or instant, computed without
    /// Foundation so that a text means the same instant on every machine. `2026-11-20` is
    /// midnight UTC; an instant with a clock time must name its zone (`Z` or an offset), since a
    /// wall-clock time without a zone is not an instant. Dates that do not exist (`2026-02-30`,
    /// `24:00`, second 60) and years before 1 are refused rather than rolled over.
    public static func seconds(from text: String) -> Result<Double, Problem> {
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
        func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        let invalid = Result<Double, Problem>.failure(Problem(hint: expectedForm))

        guard let year = digits(4), consume(UInt8(ascii: "-")), let month = digits(2), consume(UInt8(ascii: "-")),
              let day = digits(2), year >= 1, (1...12).contains(month), day >= 1, day <= LocalDateTime.daysIn(month: month, year: year)
        else { return invalid }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        if index == bytes.count { return .success(seconds) }

        guard consume(UInt8(ascii: "T")) || consume(UInt8(ascii: "t")),
              let hour = digits(2), consume(UInt8(ascii: ":")), let minute = digits(2),
              hour < 24, minute < 60
        else { return invalid }
        seconds += Double(hour * 3600 + minute * 60)
        if consume(UInt8(ascii: ":")) {
            guard let second = digits(2), second < 60 else { return invalid }
            seconds += Double(second)
            if consume(UInt8(ascii: ".")) {
                let fractionStart = index
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                guard index > fractionStart, index - fractionStart <= 9,
                      let fraction = Double("0." + String(decoding: bytes[fractionStart..<index], as: UTF8.self))
                else { return invalid }
                seconds += fraction
            }
        }
        if consume(UInt8(ascii: "Z")) || consume(UInt8(ascii: "z")) {
            return index == bytes.count ? .success(seconds) : invalid
        }
        let sign: Double
        if consume(UInt8(ascii: "+")) {
            sign = 1
        } else if consume(UInt8(ascii: "-")) {
            sign = -1
        } else if index == bytes.count {
            return .failure(Problem(hint: "an instant needs a zone: add Z for UTC or an offset such as +09:00"))
        } else {
            return invalid
        }
        guard let offsetHours = digits(2) else { return invalid }
        _ = consume(UInt8(ascii: ":"))
        guard let offsetMinutes = digits(2), offsetHours < 24, offsetMinutes < 60, index == bytes.count else {
            return invalid
        }
        return .success(seconds - sign * Double(offsetHours * 3600 + offsetMinutes * 60))
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (H. Hinnant's
    /// `civil_from_days`), the inverse of `daysFromCivil`.
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The day of the week of a day counted from 1970-01-01 (a Thursday): 0 for Sunday … 6.
    public static func weekday(ofDay days: Int) -> Int {
        ((days % 7) + 11) % 7
    }

    /// The day counted from 1970-01-01 that holds `seconds` since 1970, and the second of that day.
    public static func day(ofSeconds seconds: Int) -> (day: Int, second: Int) {
        let day = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        return (day, seconds - day * 86_400)
    }
}

extension ISO8601 {
    /// `2026-03-08T03:00:00-04:00`: the wall-clock time of `date` in `zone`, with that zone's
    /// offset at that instant, so that a person reads local time and a program the instant.
    public static func string(from date: Date, in zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: date)
        let local = LocalDateTime(instant: date, in: zone)
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d", local.year, local.month, local.day,
            local.hour, local.minute, local.second, sign, magnitude / 3600, magnitude / 60 % 60
        )
    }
}
