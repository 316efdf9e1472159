import Foundation

/// The value of one user attribute.
///
/// Times are instants (UTC). In the store, attributes are one JSON object per user where a time
/// is a number of seconds since 1970-01-01T00:00:00Z, a bool is `true`/`false` and a list is an
/// array; the schema says how to read each back.
public indirect enum AttributeValue: Sendable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case time(Date)
    case list([AttributeValue])

    /// The value as the store's JSON writes it (see the type's documentation).
    public var jsonValue: Any {
        switch self {
        case .string(let value): value
        case .number(let value): value
        case .bool(let value): value
        case .time(let value): value.timeIntervalSince1970
        case .list(let values): values.map(\.jsonValue)
        }
    }

    /// Reads a value written by `jsonValue`, using the declared type; `nil` when the JSON does
    /// not fit the type.
    public init?(jsonValue: Any, type: AttributeType) {
        switch type {
        case .string:
            guard let value = jsonValue as? String else { return nil }
            self = .string(value)
        case .number:
            guard let value = (jsonValue as? NSNumber)?.doubleValue else { return nil }
            self = .number(value)
        case .bool:
            guard let value = jsonValue as? Bool else { return nil }
            self = .bool(value)
        case .time:
            guard let value = (jsonValue as? NSNumber)?.doubleValue else { return nil }
            self = .time(Date(timeIntervalSince1970: value))
        case .list(let element):
            guard let values = jsonValue as? [Any] else { return nil }
            var items: [AttributeValue] = []
            for value in values {
                guard let item = AttributeValue(jsonValue: value, type: element) else { return nil }
                items.append(item)
            }
            self = .list(items)
        }
    }

    /// The value as a template variable sees it: times stay instants, so that a template can
    /// show them in the recipient's zone (`{{date(last_seen_at)}}`) and prints them plainly in
    /// ISO 8601; lists are arrays.
    public var templateValue: TemplateValue {
        switch self {
        case .string(let value): .string(value)
        case .number(let value): .number(value)
        case .bool(let value): .bool(value)
        case .time(let value): .time(value)
        case .list(let values): .list(values.map(\.templateValue))
        }
    }
}
