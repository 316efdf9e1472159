import HeraldCore

/// A transform that shows a value the way the recipient reads it, in their locale and time zone:
/// `{{date(ends_on)}}` is `December 7` in en-US and `12월 7일` in ko-KR.
///
/// Helpers are Mustache transforms (`{{helper(name)}}`, also in sections and inside other
/// transforms: `{{uppercased(weekday(ends_on))}}`). Values are formatted in the language of the
/// text they appear in: the recipient's locale when their locale has a variant of the template
/// or speaks the base file's language, else the base file's `locale:` (`en` by default), so that
/// an English fallback shows an English date. Instants are shown in the recipient's time zone
/// (herald.yml's `default_timezone` when they have none); a date (`2026-12-07`) is the same day
/// everywhere. No-break spaces that locales put in numbers and times are written as ordinary
/// spaces, so that an SMS stays in the GSM 7-bit alphabet.
///
/// A helper applied to a value of another kind renders empty; `herald validate` reports it
/// wherever the value is known (campaign params, user fields, declared attributes), as it
/// reports an unknown helper name.
public struct FormattingHelper: Sendable, Hashable, CustomStringConvertible {
    /// The transform name: `date`.
    public var name: String
    /// What it shows, with examples, for documentation and `herald validate` output.
    public var summary: String
    /// The kinds of value it applies to.
    let accepts: Set<ValueKind>
    let kind: Kind

    enum Kind: Sendable, Hashable {
        case date, longDate, shortDate, weekday, time, number, percent, currency
    }

    /// `{{date(ends_on)}}`: month and day.
    public static let date = FormattingHelper(
        name: "date", summary: "month and day of a date or instant: December 7 (en-US), 12월 7일 (ko-KR), 7. Dezember (de-DE), 12月7日 (ja-JP)",
        accepts: [.date, .time], kind: .date
    )
    /// `{{long_date(ends_on)}}`: with the year.
    public static let longDate = FormattingHelper(
        name: "long_date", summary: "a date with its year: December 7, 2026 (en-US), 2026년 12월 7일 (ko-KR), 7. Dezember 2026 (de-DE)",
        accepts: [.date, .time], kind: .longDate
    )
    /// `{{short_date(ends_on)}}`: in digits.
    public static let shortDate = FormattingHelper(
        name: "short_date", summary: "a date in digits: 12/7/2026 (en-US), 2026. 12. 7. (ko-KR), 7.12.2026 (de-DE), 2026/12/7 (ja-JP)",
        accepts: [.date, .time], kind: .shortDate
    )
    /// `{{weekday(ends_on)}}`: the day of the week.
    public static let weekday = FormattingHelper(
        name: "weekday", summary: "the day of the week: Monday (en-US), 월요일 (ko-KR), Montag (de-DE)",
        accepts: [.date, .time], kind: .weekday
    )
    /// `{{time(starts_at)}}`: the clock time of an instant in the recipient's zone.
    public static let time = FormattingHelper(
        name: "time", summary: "the clock time of an instant in the recipient's zone: 6:00 PM (en-US), 오후 6:00 (ko-KR), 18:00 (de-DE)",
        accepts: [.time], kind: .time
    )
    /// `{{number(count)}}`: digits grouped the local way.
    public static let number = FormattingHelper(
        name: "number", summary: "a number with local digit grouping: 1,234.5 (en-US), 1.234,5 (de-DE), 1 234,5 (fr-FR)",
        accepts: [.number], kind: .number
    )
    /// `{{percent(share)}}`: a fraction as a percentage.
    public static let percent = FormattingHelper(
        name: "percent", summary: "a fraction as a percentage: 0.3 is 30% (en-US), 30 % (de-DE)",
        accepts: [.number], kind: .percent
    )
    /// `{{currency(price)}}`: money with its currency's symbol and digits.
    public static let currency = FormattingHelper(
        name: "currency", summary: "money ({amount: 129.00, currency: USD}): $129.00 (en-US), US$129.00 (ko-KR), 129,00 $ (de-DE)",
        accepts: [.money], kind: .currency
    )

    /// Every formatting helper, in the order documentation lists them.
    public static let all: [FormattingHelper] = [date, longDate, shortDate, weekday, time, number, percent, currency]

    static let byName: [String: FormattingHelper] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// `date: month and day of a date or instant: …`
    public var description: String { "\(name): \(summary)" }
}

/// What `herald validate` knows about a value's kind, to check the transforms applied to it.
enum ValueKind: Sendable, Hashable, CaseIterable {
    case text, number, bool, date, time, money, list, map

    init?(_ value: TemplateValue) {
        switch value {
        case .string: self = .text
        case .number: self = .number
        case .bool: self = .bool
        case .date: self = .date
        case .time: self = .time
        case .money: self = .money
        case .list: self = .list
        case .map: self = .map
        }
    }

    /// `text`, `a number`, …: how a message names a value of this kind.
    var phrase: String {
        switch self {
        case .text: "text"
        case .number: "a number"
        case .bool: "true or false"
        case .date: "a date"
        case .time: "an instant"
        case .money: "money"
        case .list: "a list"
        case .map: "a mapping"
        }
    }
}

/// The transforms a template may use: Herald's formatting helpers and the transforms
/// swift-mustache itself applies to the values Herald hands it.
enum TemplateTransforms {
    /// swift-mustache's transforms of text.
    static let textTransforms = ["capitalized", "lowercased", "uppercased", "reversed", "empty"]
    /// swift-mustache's transforms of lists (`sorted` needs comparable items, which template
    /// values are not).
    static let listTransforms = ["first", "last", "reversed", "count", "empty"]
    /// swift-mustache's transforms of whole numbers.
    static let numberTransforms = ["plusone", "minusone", "equalzero", "even", "odd"]

    /// Every transform name a template may use, for suggestions.
    static let names: [String] = {
        var names = FormattingHelper.all.map(\.name)
        for name in textTransforms + listTransforms + numberTransforms where !names.contains(name) {
            names.append(name)
        }
        return names
    }()

    /// Whether a transform of this name exists.
    static func isKnown(_ name: String) -> Bool {
        FormattingHelper.byName[name] != nil || textTransforms.contains(name) || listTransforms.contains(name) || numberTransforms.contains(name)
    }

    /// What a transform gives when applied to a value of `kind`.
    enum Outcome: Equatable {
        /// A value of this kind (nil when it cannot be known: the first item of a list).
        case value(ValueKind?)
        /// The transform does not apply to this kind: it renders empty.
        case inapplicable
        /// No transform has this name.
        case unknown
    }

    static func apply(_ name: String, to kind: ValueKind) -> Outcome {
        if let helper = FormattingHelper.byName[name] {
            return helper.accepts.contains(kind) ? .value(.text) : .inapplicable
        }
        let known = textTransforms.contains(name) || listTransforms.contains(name) || numberTransforms.contains(name)
        guard known else { return .unknown }
        switch kind {
        case .text where textTransforms.contains(name):
            return .value(name == "empty" ? .bool : .text)
        case .list where listTransforms.contains(name):
            switch name {
            case "count": return .value(.number)
            case "empty": return .value(.bool)
            case "reversed": return .value(.list)
            default: return .value(nil)
            }
        case .number where numberTransforms.contains(name):
            return .value(name == "plusone" || name == "minusone" ? .number : .bool)
        default:
            return .inapplicable
        }
    }

    /// Which kinds a transform applies to, for the hint of a misapplied one.
    static func accepted(by name: String) -> [ValueKind] {
        ValueKind.allCases.filter { apply(name, to: $0) != .inapplicable && apply(name, to: $0) != .unknown }
    }
}
