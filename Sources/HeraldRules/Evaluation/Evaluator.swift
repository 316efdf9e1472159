import Foundation
import HeraldCore

typealias Predicate = @Sendable (User, RuleContext) -> Bool

/// A value compiled to a closure that reads it from a user. Times and durations are seconds.
enum CompiledValue {
    case string(@Sendable (User, RuleContext) -> String?)
    case number(@Sendable (User, RuleContext) -> Double?)
    case bool(@Sendable (User, RuleContext) -> Bool?)
    case list(@Sendable (User, RuleContext) -> [AttributeValue]?)
}

/// Compiles a checked expression to a tree of closures, once per rule, so that evaluating it for
/// a user walks no syntax tree, formats no dates and allocates nothing for the common tests.
enum Evaluator {
    static func compile(_ condition: Condition) -> Predicate {
        switch condition {
        case .isTrue(let value):
            let read = bool(value)
            return { user, context in read(user, context) == true }
        case .not(let operand):
            let inner = compile(operand)
            return { user, context in !inner(user, context) }
        case .and(let operands):
            if operands.count == 2 {
                let first = compile(operands[0]), second = compile(operands[1])
                return { user, context in first(user, context) && second(user, context) }
            }
            let parts = operands.map { PredicateBox(test: compile($0)) }
            return { user, context in
                for part in parts where !part.test(user, context) { return false }
                return true
            }
        case .or(let operands):
            if operands.count == 2 {
                let first = compile(operands[0]), second = compile(operands[1])
                return { user, context in first(user, context) || second(user, context) }
            }
            let parts = operands.map { PredicateBox(test: compile($0)) }
            return { user, context in
                for part in parts where part.test(user, context) { return true }
                return false
            }
        case .compare(let op, let left, let right):
            return compare(op, left, right)
        case .isNull(let value, let negated):
            let isNull = nullTest(value)
            if negated { return { user, context in !isNull(user, context) } }
            return isNull
        case .inLiterals(let value, let constants, let negated):
            return membership(value, in: constants, negated: negated)
        case .inList(let value, let list, let negated):
            return membership(value, in: list, negated: negated)
        case .text(let op, let left, let right):
            let text = string(left)
            if case .constant(.string(let fixed)) = right {
                switch op {
                case .contains:
                    return { user, context in text(user, context).map { RuleFunctions.contains($0, fixed) } ?? false }
                case .startsWith:
                    return { user, context in text(user, context).map { RuleFunctions.startsWith($0, fixed) } ?? false }
                default:
                    return { user, context in text(user, context).map { RuleFunctions.endsWith($0, fixed) } ?? false }
                }
            }
            let other = string(right)
            return { user, context in
                guard let a = text(user, context), let b = other(user, context) else { return false }
                switch op {
                case .contains: return RuleFunctions.contains(a, b)
                case .startsWith: return RuleFunctions.startsWith(a, b)
                default: return RuleFunctions.endsWith(a, b)
                }
            }
        case .matches(let value, let pattern):
            let text = string(value)
            return { user, context in text(user, context).map(pattern.matches) ?? false }
        }
    }

    // MARK: Values

    static func value(_ value: Value) -> CompiledValue {
        switch value.type {
        case .string: .string(string(value))
        case .bool: .bool(bool(value))
        case .list: .list(list(value))
        case .number, .time, .duration, .null: .number(number(value))
        }
    }

    static func string(_ value: Value) -> @Sendable (User, RuleContext) -> String? {
        switch value {
        case .constant(.string(let text)):
            return { _, _ in text }
        case .field(let field):
            switch field {
            case .id: return { user, _ in user.id }
            case .email: return { user, _ in user.email }
            case .phone: return { user, _ in user.phone }
            case .locale: return { user, _ in user.locale }
            case .timezone: return { user, _ in user.timezone }
            case .firstName: return { user, _ in user.firstName }
            case .lastName: return { user, _ in user.lastName }
            case .createdAt: return { _, _ in nil }
            }
        case .attribute(let name, _):
            return { user, _ in
                if case .string(let text)? = user.attributes[name] { return text }
                return nil
            }
        case .lower(let operand):
            let text = string(operand)
            return { user, context in text(user, context).map(RuleFunctions.lower) }
        default:
            return { _, _ in nil }
        }
    }

    static func number(_ value: Value) -> @Sendable (User, RuleContext) -> Double? {
        switch value {
        case .constant(.number(let number)), .constant(.time(let number)), .constant(.duration(let number)):
            return { _, _ in number }
        case .field(.createdAt):
            return { user, _ in user.createdAt?.timeIntervalSince1970 }
        case .attribute(let name, let type):
            if type == .time {
                return { user, _ in
                    if case .time(let date)? = user.attributes[name] { return date.timeIntervalSince1970 }
                    return nil
                }
            }
            return { user, _ in
                if case .number(let number)? = user.attributes[name] { return number }
                return nil
            }
        case .now:
            return { _, context in context.now.timeIntervalSince1970 }
        case .today:
            return { user, context in
                RuleFunctions.today(now: context.now.timeIntervalSince1970, zone: user.timezone, defaultZone: context.defaultTimezone)
            }
        case .length(let operand):
            if case .list = operand.type {
                let items = list(operand)
                return { user, context in items(user, context).map { Double($0.count) } }
            }
            let text = string(operand)
            return { user, context in text(user, context).map { Double(RuleFunctions.length($0)) } }
        case .daysSince(let operand):
            let time = number(operand)
            return { user, context in
                time(user, context).map { RuleFunctions.daysSince($0, now: context.now.timeIntervalSince1970) }
            }
        case .bucket(let count):
            return { user, context in Double(RuleFunctions.bucket(campaignID: context.campaignID, userID: user.id, count: count)) }
        case .eventCount(let event, let within):
            return { user, context in Double(context.received(event, by: user.id, within: within)) }
        case .arithmetic(let base, let steps, _):
            let first = number(base)
            if steps.count == 1, case .constant(let constant) = steps[0].operand, let fixed = constant.number {
                let amount = steps[0].isSubtraction ? -fixed : fixed
                return { user, context in
                    guard let result = first(user, context).map({ $0 + amount }), !result.isNaN else { return nil }
                    return result
                }
            }
            let operations = steps.map { NumberStep(isSubtraction: $0.isSubtraction, operand: number($0.operand)) }
            return { user, context in
                guard var result = first(user, context) else { return nil }
                for operation in operations {
                    guard let operand = operation.operand(user, context) else { return nil }
                    result = operation.isSubtraction ? result - operand : result + operand
                    // SQLite turns a NaN result (infinity minus infinity) into NULL; so does this.
                    if result.isNaN { return nil }
                }
                return result
            }
        default:
            return { _, _ in nil }
        }
    }

    static func bool(_ value: Value) -> @Sendable (User, RuleContext) -> Bool? {
        switch value {
        case .constant(.bool(let flag)):
            return { _, _ in flag }
        case .attribute(let name, _):
            return { user, _ in
                if case .bool(let flag)? = user.attributes[name] { return flag }
                return nil
            }
        case .performed(let event, let within):
            return { user, context in context.received(event, by: user.id, within: within) > 0 }
        case .hasDevice(let platform):
            if let platform {
                return { user, _ in user.devices.contains { $0.isActive && $0.platform == platform } }
            }
            return { user, _ in user.devices.contains { $0.isActive } }
        case .condition(let condition):
            let test = compile(condition)
            return { user, context in test(user, context) }
        default:
            return { _, _ in nil }
        }
    }

    static func list(_ value: Value) -> @Sendable (User, RuleContext) -> [AttributeValue]? {
        switch value {
        case .list(let constants, _):
            let items = constants.compactMap(\.attributeValue)
            return { _, _ in items }
        case .attribute(let name, _):
            return { user, _ in
                if case .list(let items)? = user.attributes[name] { return items }
                return nil
            }
        default:
            return { _, _ in nil }
        }
    }

    // MARK: Tests

    private static func nullTest(_ value: Value) -> Predicate {
        switch self.value(value) {
        case .string(let read): { user, context in read(user, context) == nil }
        case .number(let read): { user, context in read(user, context) == nil }
        case .bool(let read): { user, context in read(user, context) == nil }
        case .list(let read): { user, context in read(user, context) == nil }
        }
    }

    private static func compare(_ op: ComparisonOperator, _ left: Value, _ right: Value) -> Predicate {
        switch (self.value(left), self.value(right)) {
        case (.string(let a), .string(let b)):
            if case .constant(.string(let fixed)) = right {
                if op == .equal {
                    return { user, context in a(user, context).map { RuleFunctions.equal($0, fixed) } ?? false }
                }
                return { user, context in a(user, context).map { holds(op, RuleFunctions.compare($0, fixed)) } ?? false }
            }
            return { user, context in
                guard let x = a(user, context), let y = b(user, context) else { return false }
                return holds(op, RuleFunctions.compare(x, y))
            }
        case (.number(let a), .number(let b)):
            if case .constant(let constant) = right, let fixed = constant.number {
                switch op {
                case .equal: return { user, context in a(user, context).map { $0 == fixed } ?? false }
                case .notEqual: return { user, context in a(user, context).map { $0 != fixed } ?? false }
                case .less: return { user, context in a(user, context).map { $0 < fixed } ?? false }
                case .lessOrEqual: return { user, context in a(user, context).map { $0 <= fixed } ?? false }
                case .greater: return { user, context in a(user, context).map { $0 > fixed } ?? false }
                case .greaterOrEqual: return { user, context in a(user, context).map { $0 >= fixed } ?? false }
                }
            }
            return { user, context in
                guard let x = a(user, context), let y = b(user, context) else { return false }
                return holds(op, x < y ? -1 : (x == y ? 0 : 1))
            }
        case (.bool(let a), .bool(let b)):
            return { user, context in
                guard let x = a(user, context), let y = b(user, context) else { return false }
                return op == .equal ? x == y : x != y
            }
        case (.list(let a), .list(let b)):
            return { user, context in
                guard let x = a(user, context), let y = b(user, context) else { return false }
                let equal = x.count == y.count && zip(x, y).allSatisfy { Evaluator.same($0, $1) }
                return op == .equal ? equal : !equal
            }
        default:
            return { _, _ in false }
        }
    }

    @inline(__always)
    private static func holds(_ op: ComparisonOperator, _ order: Int) -> Bool {
        switch op {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }

    /// List elements are equal when they have the same type and value; strings byte for byte.
    static func same(_ a: AttributeValue, _ b: AttributeValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): RuleFunctions.equal(x, y)
        case (.number(let x), .number(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.time(let x), .time(let y)): x.timeIntervalSince1970 == y.timeIntervalSince1970
        default: false
        }
    }

    private static func membership(_ value: Value, in constants: [Constant], negated: Bool) -> Predicate {
        switch self.value(value) {
        case .string(let read):
            let texts = constants.compactMap { if case .string(let text) = $0 { text } else { nil } }
            if texts.count > 8 {
                let set = Set(texts.map(ExactString.init))
                return { user, context in
                    guard let text = read(user, context) else { return false }
                    return set.contains(ExactString(text)) != negated
                }
            }
            return { user, context in
                guard let text = read(user, context) else { return false }
                return texts.contains { RuleFunctions.equal($0, text) } != negated
            }
        case .number(let read):
            let numbers = constants.compactMap(\.number)
            if numbers.count > 8 {
                let set = Set(numbers)
                return { user, context in
                    guard let number = read(user, context) else { return false }
                    return set.contains(number) != negated
                }
            }
            return { user, context in
                guard let number = read(user, context) else { return false }
                return numbers.contains(number) != negated
            }
        case .bool(let read):
            let flags = constants.compactMap { if case .bool(let flag) = $0 { flag } else { nil } }
            return { user, context in
                guard let flag = read(user, context) else { return false }
                return flags.contains(flag) != negated
            }
        case .list:
            return { _, _ in false }
        }
    }

    private static func membership(_ value: Value, in list: Value, negated: Bool) -> Predicate {
        let items = self.list(list)
        switch self.value(value) {
        case .string(let read):
            return { user, context in
                guard let text = read(user, context), let items = items(user, context) else { return false }
                let found = items.contains { if case .string(let item) = $0 { RuleFunctions.equal(item, text) } else { false } }
                return found != negated
            }
        case .number(let read):
            let isTime = value.type == .time
            return { user, context in
                guard let number = read(user, context), let items = items(user, context) else { return false }
                let found = items.contains {
                    switch $0 {
                    case .number(let item): !isTime && item == number
                    case .time(let item): isTime && item.timeIntervalSince1970 == number
                    default: false
                    }
                }
                return found != negated
            }
        case .bool(let read):
            return { user, context in
                guard let flag = read(user, context), let items = items(user, context) else { return false }
                let found = items.contains { if case .bool(let item) = $0 { item == flag } else { false } }
                return found != negated
            }
        case .list:
            return { _, _ in false }
        }
    }
}

/// A predicate in a struct, so that an array of them stores each closure as it is (an array of
/// bare closures stores them generically and calls each through a thunk that copies the user).
struct PredicateBox: Sendable {
    let test: Predicate
}

/// One `+ x` or `- x` of arithmetic, boxed for the same reason as `PredicateBox`.
struct NumberStep: Sendable {
    let isSubtraction: Bool
    let operand: @Sendable (User, RuleContext) -> Double?
}

/// A string that hashes and compares by its UTF-8 bytes (see `RuleFunctions.compare`).
struct ExactString: Hashable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: ExactString, rhs: ExactString) -> Bool { RuleFunctions.equal(lhs.text, rhs.text) }

    func hash(into hasher: inout Hasher) {
        for byte in text.utf8 { hasher.combine(byte) }
    }
}

extension Constant {
    /// Numbers, times and durations as seconds or plain numbers.
    var number: Double? {
        switch self {
        case .number(let value), .time(let value), .duration(let value): value
        default: nil
        }
    }
}
