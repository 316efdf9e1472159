import Foundation
import HeraldCore
@testable import HeraldDefinitions
import Testing

/// Each scalar pattern of the schemas accepts exactly the texts its Swift parser accepts, on the
/// forms people write and the near misses.
struct SchemaPatternTests {
    static func matches(_ shape: SchemaShape, _ text: String) throws -> Bool {
        guard case .pattern(let pattern) = shape else {
            if case .name(let pattern) = shape { return try matches(.pattern(pattern), text) }
            Issue.record("not a pattern: \(shape)")
            return false
        }
        let expression = try NSRegularExpression(pattern: pattern)
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static let samples = [
        "", "0", "1", "30s", "15m", "12h", "7d", "2w", "0s", "1y", "1.5h", "-1d", "+1d", " 1d", "1d ", "1 d", "001m",
        "100/s", "600/min", "50/h", "1000/d", "0/s", "+5/s", "-5/s", "5/sec", "5/", "/s", "05/s",
        "21:00", "08:00", "00:00", "23:59", "24:00", "12:60", "9:00", "+9:00", "09:0", "09:00:00", "a9:00",
        "2026-12-01T09:00", "2026-12-01T09:00:30", "2026-12-01", "2026-12-01 09:00", "2026-13-01T09:00", "2026-12-32", "2026-12-01T24:00",
        "ko", "ko-KR", "pt-BR", "zh-Hant-TW", "ko_KR", "korean", "k", "en-US-x-twain", "sr-Latn-RS", "de-CH-1996", "x-private",
    ]

    @Test func durationsRatesTimesDatesAndLocalesAgreeWithTheirParsers() throws {
        for text in Self.samples {
            #expect(try Self.matches(WorkspaceSchema.duration, text) == (DurationLiteral(text) != nil), "duration \(text)")
            #expect(try Self.matches(WorkspaceSchema.positiveDuration, text) == ((DurationLiteral(text)?.amount ?? 0) > 0), "positive duration \(text)")
            #expect(try Self.matches(WorkspaceSchema.rate, text) == (RateLiteral(text) != nil), "rate \(text)")
            #expect(try Self.matches(WorkspaceSchema.timeOfDay, text) == (TimeOfDay(text) != nil), "time of day \(text)")
            #expect(try Self.matches(.pattern(WorkspaceSchema.localDateTimePattern), text) == (LocalDateTime(text) != nil), "local date and time \(text)")
            #expect(try Self.matches(WorkspaceSchema.localeTag, text) == LocaleTag.isWellFormed(text), "locale \(text)")
        }
    }
}
