import Foundation

/// A value that a template can show: campaign params, user fields and attributes, API data.
///
/// Dates, instants and money are typed so that templates can format them for each recipient
/// (`{{date(ends_on)}}`, `{{currency(price)}}`); printed plainly they read as written in ISO
/// form (`2026-12-07`, `2026-12-07T14:59:00Z`), except money, which has no plain form and is
/// shown as currency.
public indirect enum TemplateValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    /// A day of the calendar, the same for every recipient: `ends_on: 2026-12-07`.
    case date(CalendarDate)
    /// An instant, shown in each recipient's time zone: `starts_at: 2026-12-01T09:00:00+09:00`,
    /// and the time attributes of users.
    case time(Date)
    /// An amount in a currency: `price: {amount: 129.00, currency: USD}`.
    case money(Money)
    case list([TemplateValue])
    case map([String: TemplateValue])

    /// Numbers without a fractional part print without `.0`; dates as `2026-12-07`, instants in
    /// ISO 8601 UTC, money as `129.00 USD`.
    public var description: String {
        switch self {
        case .string(let value): value
        case .number(let value):
            value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): String(value)
        case .date(let value): value.description
        case .time(let value): ISO8601.string(from: value)
        case .money(let value): value.description
        case .list(let values): values.map(\.description).joined(separator: ", ")
        case .map(let values): values.keys.sorted().map { "\($0): \(values[$0]!)" }.joined(separator: ", ")
        }
    }
}

extension TemplateValue {
    /// A value given as text on the command line (`send --param ends_on=2026-12-07`), typed as
    /// the same text would be in a campaign's `params`: a date, an instant with its zone, or a
    /// number that prints back exactly as written; anything else stays text (so `00123` and
    /// `A-1042` keep their form).
    public init(commandLine text: String) {
        if CalendarDate.looksLikeDate(text), let date = CalendarDate(text) {
            self = .date(date)
        } else if text.contains("T"), let instant = ISO8601.date(from: text) {
            self = .time(instant)
        } else if let number = Double(text), number.isFinite, TemplateValue.number(number).description == text {
            self = .number(number)
        } else {
            self = .string(text)
        }
    }
}
