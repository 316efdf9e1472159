import Foundation
import HeraldCore
import Synchronization

/// Formats values for one locale and time zone with Foundation's format styles, for the
/// formatting helpers (`FormattingHelper`).
///
/// Formatting is deterministic (it never reads the clock) and safe from many tasks at once: the
/// styles are values, and results are remembered in a `Mutex`-guarded memo, since the same
/// campaign params are formatted for every recipient who reads the same locale and zone. The
/// memo is bounded: when it is full it is emptied, so that values that differ per recipient
/// (a user's `last_seen_at`) cannot grow it without limit while the hot campaign params come back
/// at once.
final class LocaleFormatter: Sendable {
    /// The locale identifier as given (`ko-KR`).
    let localeIdentifier: String
    let timeZone: TimeZone

    private let locale: Locale
    /// Styles in the recipient's zone (instants) and in UTC (calendar dates, which are midnight
    /// UTC and must not shift by a day).
    private let zoned: DateStyles
    private let utc: DateStyles
    private let number: FloatingPointFormatStyle<Double>
    private let percent: FloatingPointFormatStyle<Double>.Percent
    private let memo = Mutex<[MemoKey: String]>([:])

    /// The most results remembered before the memo is emptied.
    static let memoLimit = 1024

    private struct MemoKey: Hashable {
        var helper: FormattingHelper.Kind
        var value: TemplateValue
    }

    private struct DateStyles: Sendable {
        var date: Date.FormatStyle
        var longDate: Date.FormatStyle
        var shortDate: Date.FormatStyle
        var weekday: Date.FormatStyle
        var time: Date.FormatStyle

        init(locale: Locale, timeZone: TimeZone) {
            var calendar = Calendar(identifier: .gregorian)
            calendar.locale = locale
            calendar.timeZone = timeZone
            func style(date: Date.FormatStyle.DateStyle?, time: Date.FormatStyle.TimeStyle?) -> Date.FormatStyle {
                Date.FormatStyle(date: date, time: time, locale: locale, calendar: calendar, timeZone: timeZone)
            }
            self.date = style(date: nil, time: nil).month(.wide).day()
            self.longDate = style(date: .long, time: .omitted)
            self.shortDate = style(date: .numeric, time: .omitted)
            self.weekday = style(date: nil, time: nil).weekday(.wide)
            self.time = style(date: .omitted, time: .shortened)
        }
    }

    /// - Parameters:
    ///   - locale: a locale identifier (`ko-KR`, `de`); Foundation reads one it does not know as
    ///     its closest known locale.
    ///   - timeZone: the zone instants are shown in.
    init(locale: String, timeZone: TimeZone) {
        self.localeIdentifier = locale
        self.timeZone = timeZone
        let locale = Locale(identifier: locale)
        self.locale = locale
        self.zoned = DateStyles(locale: locale, timeZone: timeZone)
        self.utc = DateStyles(locale: locale, timeZone: TimeZone(identifier: "UTC") ?? timeZone)
        self.number = FloatingPointFormatStyle<Double>(locale: locale)
        self.percent = FloatingPointFormatStyle<Double>.Percent(locale: locale)
    }

    /// The value as the helper shows it, or nil when the helper does not apply to the value's kind.
    func format(_ helper: FormattingHelper, _ value: TemplateValue) -> String? {
        guard let kind = ValueKind(value), helper.accepts.contains(kind) else { return nil }
        let key = MemoKey(helper: helper.kind, value: value)
        if let remembered = memo.withLock({ $0[key] }) { return remembered }
        guard let text = compute(helper.kind, value) else { return nil }
        memo.withLock { memo in
            if memo.count >= Self.memoLimit { memo.removeAll(keepingCapacity: true) }
            memo[key] = text
        }
        return text
    }

    /// Money as `currency` shows it: what `{{price}}` prints too.
    func currency(_ money: Money) -> String {
        format(.currency, .money(money)) ?? money.description
    }

    private func compute(_ helper: FormattingHelper.Kind, _ value: TemplateValue) -> String? {
        let text: String
        switch (helper, value) {
        case (.number, .number(let number)):
            guard number.isFinite else { return TemplateValue.number(number).description }
            text = number.formatted(self.number)
        case (.percent, .number(let number)):
            guard number.isFinite else { return TemplateValue.number(number).description }
            text = number.formatted(percent)
        case (.currency, .money(let money)):
            text = money.amount.formatted(Decimal.FormatStyle.Currency(code: money.currency, locale: locale))
        case (_, .date(let date)):
            guard let formatted = Self.format(date.midnightUTC, helper, with: utc) else { return nil }
            text = formatted
        case (_, .time(let instant)):
            guard let formatted = Self.format(instant, helper, with: zoned) else { return nil }
            text = formatted
        default:
            return nil
        }
        return Self.withOrdinarySpaces(text)
    }

    private static func format(_ date: Date, _ helper: FormattingHelper.Kind, with styles: DateStyles) -> String? {
        switch helper {
        case .date: date.formatted(styles.date)
        case .longDate: date.formatted(styles.longDate)
        case .shortDate: date.formatted(styles.shortDate)
        case .weekday: date.formatted(styles.weekday)
        case .time: date.formatted(styles.time)
        case .number, .percent, .currency: nil
        }
    }

    /// ICU writes no-break spaces (U+00A0, and the narrow U+202F in times and French numbers);
    /// outside the GSM 7-bit alphabet, one would turn a whole SMS into UCS-2.
    private static func withOrdinarySpaces(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\u{00A0}" || $0 == "\u{202F}" }) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(scalar == "\u{00A0}" || scalar == "\u{202F}" ? " " : scalar)
        }
        return String(result)
    }
}
