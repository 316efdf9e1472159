import Foundation
import HeraldCore

/// A literal value after type checking.
enum Constant: Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    /// Seconds since 1970-01-01T00:00:00Z.
    case time(Double)
    /// Seconds.
    case duration(Double)
    /// `null` as a value of the given type.
    case null(ValueType)

    var type: ValueType {
        switch self {
        case .string: .string
        case .number: .number
        case .bool: .bool
        case .time: .time
        case .duration: .duration
        case .null(let type): type
        }
    }

    /// The value as a user attribute holds it (for list elements).
    var attributeValue: AttributeValue? {
        switch self {
        case .string(let value): .string(value)
        case .number(let value): .number(value)
        case .bool(let value): .bool(value)
        case .time(let value): .time(Date(timeIntervalSince1970: value))
        case .duration, .null: nil
        }
    }
}

/// A type-checked value: every name resolved, every type known. Both back ends compile from this.
indirect enum Value: Sendable {
    case constant(Constant)
    /// A list literal; `nil` element type only for `[]` before the checker types it from the other
    /// operand.
    case list([Constant], element: ScalarType?)
    case field(UserField)
    case attribute(name: String, type: ValueType)
    case now
    /// The start of the current day in the recipient's zone.
    case today
    case lower(Value)
    /// Of a string (in characters) or of a list.
    case length(Value)
    case daysSince(Value)
    case bucket(count: Int64)
    /// `nil`: any platform.
    case hasDevice(DevicePlatform?)
    /// `performed("event", within: 7d)`: the user received the event (in the last `within`
    /// seconds when given), up to now.
    case performed(event: String, within: Double?)
    /// `count("event", within: 7d)`: how many of those events the user received.
    case eventCount(event: String, within: Double?)
    /// Numbers, or a time plus or minus durations; evaluated left to right.
    case arithmetic(Value, [(isSubtraction: Bool, operand: Value)], type: ValueType)
    /// A test used as a value, as in `(x > 1) == true`: never null.
    case condition(Condition)

    var type: ValueType {
        switch self {
        case .constant(let constant): constant.type
        case .list(_, let element): .list(element)
        case .field(let field): field.type
        case .attribute(_, let type): type
        case .now, .today: .time
        case .lower: .string
        case .length, .daysSince, .bucket, .eventCount: .number
        case .hasDevice, .condition, .performed: .bool
        case .arithmetic(_, _, let type): type
        }
    }
}

/// A type-checked test. Every test is true or false, never null: a comparison with a missing
/// value is false.
indirect enum Condition: Sendable {
    /// A bool value: true only when it is true (not when false or missing).
    case isTrue(Value)
    case not(Condition)
    case and([Condition])
    case or([Condition])
    /// Both operands have the same type.
    case compare(ComparisonOperator, Value, Value)
    case isNull(Value, negated: Bool)
    /// `x in [literals]`.
    case inLiterals(Value, [Constant], negated: Bool)
    /// `x in list` for a list-valued operand.
    case inList(Value, list: Value, negated: Bool)
    /// `contains`, `starts_with`, `ends_with` on two strings.
    case text(TextOperator, Value, Value)
    case matches(Value, RulePattern)
}
