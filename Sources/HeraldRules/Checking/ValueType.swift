import HeraldCore

/// The type of a list element.
enum ScalarType: Sendable, Hashable, CustomStringConvertible {
    case string, number, bool, time

    var description: String { ValueType(self).description }
}

/// The type of a value in an expression.
enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case string, number, bool, time, duration
    /// `nil`: the empty list literal `[]`, which fits any list.
    case list(ScalarType?)
    /// The `null` literal, which fits any type.
    case null

    init(_ scalar: ScalarType) {
        switch scalar {
        case .string: self = .string
        case .number: self = .number
        case .bool: self = .bool
        case .time: self = .time
        }
    }

    /// The element type when this type can be a list element.
    var scalar: ScalarType? {
        switch self {
        case .string: .string
        case .number: .number
        case .bool: .bool
        case .time: .time
        default: nil
        }
    }

    /// How errors name the type: the names of herald.yml's `attributes:` (`string`, `[string]`).
    var description: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .bool: "bool"
        case .time: "time"
        case .duration: "duration"
        case .list(let element?): "[\(element)]"
        case .list(nil): "empty list"
        case .null: "null"
        }
    }

    var isList: Bool {
        if case .list = self { return true }
        return false
    }

    /// The type a declared attribute has in expressions; `nil` for types rules cannot use.
    init?(_ type: AttributeType) {
        switch type {
        case .string: self = .string
        case .number: self = .number
        case .bool: self = .bool
        case .time: self = .time
        case .list(let element):
            guard let scalar = ValueType(element)?.scalar else { return nil }
            self = .list(scalar)
        }
    }

    /// Whether values of the two types can be compared with `==`; the empty list fits any list.
    func matches(_ other: ValueType) -> Bool {
        switch (self, other) {
        case (.list(nil), .list), (.list, .list(nil)): true
        default: self == other
        }
    }
}
