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
    /// (`2026-11-20`, midnight UTC). Returns `nil` for anything else.
    public static func date(from text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle().year().month().day()) { return date }
        return nil
    }
}
