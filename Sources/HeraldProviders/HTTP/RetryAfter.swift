import Foundation

/// Reads when a provider says to come back.
public enum RetryAfter {
    /// `Retry-After: 120` (seconds) or an HTTP date; nil when absent or unreadable. Bounded to a
    /// day, so that a hostile value cannot park a message for years.
    public static func parse(_ value: String?, now: Date) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds.isFinite, seconds >= 0 {
            return .milliseconds(Int64(min(seconds, 86_400) * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(min(max(date.timeIntervalSince(now), 0), 86_400) * 1000))
    }

    /// A rate-limit reset given as a Unix time in seconds (SendGrid's `X-RateLimit-Reset`).
    public static func reset(_ value: String?, now: Date) -> Duration? {
        guard let value, let epoch = Double(value.trimmingCharacters(in: .whitespaces)), epoch.isFinite else { return nil }
        return .milliseconds(Int64(min(max(epoch - now.timeIntervalSince1970, 0), 86_400) * 1000))
    }
}
