import HeraldCore

/// Resolves names and checks types, collecting every problem rather than stopping at the first.
///
/// A sub-expression with an error checks as `nil`; its parents then stay silent about it, so
/// that one mistake gives one message.
struct TypeChecker {
    private let schema: AttributeSchema
    private let map: SourceMap
    private(set) var diagnostics: [Diagnostic] = []
    /// The attributes the expression reads, in order of first use.
    private(set) var attributeNames: [String] = []
    /// How deep the SQL of the node being checked will sit, estimated from above (see `SQLLimits`).
    private var sqlDepth = SQLDepth()
    /// True while checking an operand compared with something: an unknown bare name there is
    /// most likely text written without quotes (`country == KR`).
    private var isComparedOperand = false
    /// How many `EXISTS (SELECT …)` subqueries enclose the node being checked. SQLite counts the
    /// height of a subquery's WHERE once more for each subquery it resolves on the way down
    /// (`SQLLimits.height`), so a level inside `k` subqueries is charged `3k` levels.
    private var subqueryLevel = 0
    /// One "too complex" message is enough: every node below the first one would repeat it.
    private var reportedTooComplex = false

    init(schema: AttributeSchema, map: SourceMap) {
        self.schema = schema
        self.map = map
    }

    private mutating func report(_ message: String, at offset: Int, hint: String? = nil) {
        diagnostics.append(map.diagnostic(message, at: offset, hint: hint))
    }

    /// Moves `sqlDepth` down by a node's share, reporting (once) and returning `false` when the
    /// SQL would go past what SQLite parses. The caller restores `sqlDepth` when it leaves the node.
    private mutating func deepen(stack: Int, height: Int, at offset: Int) -> Bool {
        sqlDepth.stack += stack
        sqlDepth.height += height * (subqueryLevel == 0 ? 1 : 3 * subqueryLevel)
        guard sqlDepth.stack > SQLLimits.stack || sqlDepth.height > SQLLimits.height else { return true }
        if !reportedTooComplex {
            reportedTooComplex = true
            report(
                "expression is too complex to run in the database", at: offset,
                hint: "tests inside tests, 'in', calls and long chains nest too deeply here; split the rule or write it flatter"
            )
        }
        return false
    }

    // MARK: Conditions

    /// The whole expression: it must be a test.
    mutating func checkRule(_ expression: Expression) -> Condition? {
        guard let value = checkValue(expression) else { return nil }
        return condition(
            from: value, at: expression.offset,
            message: { "a rule must be true or false, found \($0)" },
            hint: #"compare the value, as in country == "KR""#
        )
    }

    private mutating func condition(
        from value: Value, at offset: Int, message: (ValueType) -> String, hint: String
    ) -> Condition? {
        switch value {
        case .condition(let condition):
            return condition
        case .constant(.null(.null)):
            return .isTrue(.constant(.null(.bool)))
        default:
            guard value.type == .bool else {
                report(message(value.type), at: offset, hint: hint)
                return nil
            }
            return .isTrue(value)
        }
    }

    private mutating func checkCondition(_ expression: Expression, operatorName: String) -> Condition? {
        guard let value = checkValue(expression) else { return nil }
        return condition(
            from: value, at: expression.offset,
            message: { "'\(operatorName)' needs a true/false test, found \($0)" },
            hint: #"compare the value, as in country == "KR""#
        )
    }

    // MARK: Values

    mutating func checkValue(_ expression: Expression) -> Value? {
        let saved = sqlDepth
        defer { sqlDepth = saved }
        let share = SQLLimits.share(of: expression.kind)
        guard deepen(stack: share.stack, height: share.height, at: expression.offset) else { return nil }
        switch expression.kind {
        case .literal(let literal):
            return .constant(constant(literal))
        case .list(let elements):
            return checkList(elements, at: expression.offset)
        case .path(let names):
            return resolve(names)
        case .call(let name, let arguments):
            return checkCall(name, arguments)
        case .not(let operand):
            return checkCondition(operand, operatorName: "not").map { .condition(.not($0)) }
        case .and(let operands):
            return checkChain(operands, operatorName: "and", at: expression.offset).map { .condition(.and($0)) }
        case .or(let operands):
            return checkChain(operands, operatorName: "or", at: expression.offset).map { .condition(.or($0)) }
        case .comparison(let op, let left, let right, let offset):
            return checkComparison(op, left, right, at: offset).map { .condition($0) }
        case .membership(let negated, let left, let right, let offset):
            return checkMembership(negated: negated, left, right, at: offset).map { .condition($0) }
        case .textTest(let op, let left, let right, let offset):
            return checkTextTest(op, left, right, at: offset).map { .condition($0) }
        case .nullTest(let negated, let operand, _):
            guard let value = checkValue(operand) else { return nil }
            return .condition(.isNull(value, negated: negated))
        case .arithmetic(let first, let steps):
            guard steps.count <= SQLLimits.maximumSteps else {
                report(
                    "expression is too long", at: expression.offset,
                    hint: "at most \(SQLLimits.maximumSteps) '+' and '-' in one sum"
                )
                return nil
            }
            return checkArithmetic(first, steps)
        }
    }

    /// The operands of an `and`/`or` chain. SQLite nests a chain's terms one level each (it is
    /// left-associative), so a chain's length is bounded like its depth.
    private mutating func checkChain(_ operands: [Expression], operatorName: String, at offset: Int) -> [Condition]? {
        guard operands.count <= SQLLimits.maximumTerms else {
            report("expression is too long", at: offset, hint: "at most \(SQLLimits.maximumTerms) terms joined by '\(operatorName)'")
            return nil
        }
        var conditions: [Condition] = []
        conditions.reserveCapacity(operands.count)
        var failed = false
        for (index, operand) in operands.enumerated() {
            let saved = sqlDepth
            let placed = deepen(
                stack: SQLLimits.chainTermStack, height: operands.count - max(index, 1), at: operand.offset
            )
            let condition = placed ? checkCondition(operand, operatorName: operatorName) : nil
            sqlDepth = saved
            if let condition { conditions.append(condition) } else { failed = true }
        }
        return failed ? nil : conditions
    }

    private func constant(_ literal: Literal) -> Constant {
        switch literal {
        case .string(let value): .string(value)
        case .number(let value): .number(value)
        case .bool(let value): .bool(value)
        case .null: .null(.null)
        case .duration(let seconds): .duration(Double(seconds))
        case .time(let seconds): .time(seconds)
        }
    }

    private mutating func checkList(_ elements: [Expression], at offset: Int) -> Value? {
        var constants: [Constant] = []
        var element: ScalarType?
        for expression in elements {
            guard case .literal(let literal) = expression.kind else { continue }
            let value = constant(literal)
            guard let scalar = value.type.scalar else {
                let found = value.type == .null ? "null" : "a \(value.type)"
                report(
                    "a list cannot hold \(found)", at: expression.offset,
                    hint: "a list holds strings, numbers, times or true/false, all of one type"
                )
                return nil
            }
            if let element, element != scalar {
                report("a list mixes \(element) and \(scalar)", at: expression.offset, hint: "a list holds values of one type")
                return nil
            }
            element = scalar
            constants.append(value)
        }
        return .list(constants, element: element)
    }

    // MARK: Names

    /// `country`, `user.country`, `user.email`, `attributes.country`, `user.attributes.country`.
    private mutating func resolve(_ names: [Name]) -> Value? {
        var index = 0
        var allowFields = true
        if names.count > 1, names[0].text == "user" {
            index = 1
            if names.count > 2, names[1].text == "attributes" {
                index = 2
                allowFields = false
            }
        } else if names.count > 1, names[0].text == "attributes" {
            index = 1
            allowFields = false
        }
        guard let value = resolve(name: names[index], allowFields: allowFields, isBare: names.count == 1) else { return nil }
        if index + 1 < names.count {
            report(
                "'\(names[index].text)' has no field '\(names[index + 1].text)'", at: names[index + 1].offset,
                hint: "paths are a name (country), user.<field> (user.email) or attributes.<name>"
            )
            return nil
        }
        return value
    }

    private mutating func resolve(name: Name, allowFields: Bool, isBare: Bool = false) -> Value? {
        if allowFields, let field = UserField(rawValue: name.text) {
            return .field(field)
        }
        guard let definition = schema[name.text] else {
            let candidates = (allowFields ? UserField.allCases.map(\.rawValue) : []) + schema.names
            var hint = Suggestion.hint(for: name.text, in: candidates)
            if isComparedOperand, isBare, Suggestion.closest(to: name.text, in: candidates) == nil {
                hint = "to compare with the text \(name.text), quote it: \"\(name.text)\""
            }
            report("unknown attribute '\(name.text)'", at: name.offset, hint: hint)
            return nil
        }
        guard let type = ValueType(definition.type) else {
            report(
                "attribute '\(name.text)' has type \(definition.type), which rules cannot use", at: name.offset,
                hint: "rules read string, number, bool, time and lists of those"
            )
            return nil
        }
        if !attributeNames.contains(name.text) { attributeNames.append(name.text) }
        return .attribute(name: name.text, type: type)
    }

    /// The allowed values of the attribute a value reads, if it is such an attribute.
    private func allowedValues(of value: Value) -> (name: String, values: [String])? {
        guard case .attribute(let name, let type) = value, type == .string || type == .list(.string),
              let values = schema[name]?.allowedValues
        else { return nil }
        return (name, values)
    }

    /// Reports a string literal compared with an attribute that cannot take that value.
    private mutating func checkAllowed(_ constant: Constant, at offset: Int, against value: Value) {
        guard case .string(let literal) = constant, let (name, values) = allowedValues(of: value),
              !values.contains(where: { $0.utf8.elementsEqual(literal.utf8) })
        else { return }
        report("'\(literal)' is not a value of '\(name)'", at: offset, hint: Suggestion.hint(for: literal, in: values))
    }

    /// `offset` of each literal of a list literal, for pointing at the bad one.
    private func literalOffsets(_ expression: Expression) -> [Int] {
        switch expression.kind {
        case .list(let elements): elements.map(\.offset)
        case .literal: [expression.offset]
        default: []
        }
    }

    // MARK: Tests

    private mutating func checkComparison(
        _ op: ComparisonOperator, _ leftExpression: Expression, _ rightExpression: Expression, at offset: Int
    ) -> Condition? {
        let wasCompared = isComparedOperand
        isComparedOperand = true
        let left = checkValue(leftExpression)
        let right = checkValue(rightExpression)
        isComparedOperand = wasCompared
        guard var left, var right else { return nil }
        if left.isNullLiteral || right.isNullLiteral {
            report(
                "'\(op.rawValue)' with null is always false", at: offset,
                hint: "test for a missing value with 'is null' or 'is not null'"
            )
            return nil
        }
        guard left.type.matches(right.type) else {
            report(
                "'\(op.rawValue)' cannot compare \(left.type) with \(right.type)", at: offset,
                hint: Self.comparisonHint(left, right)
            )
            return nil
        }
        if op.isOrdering {
            switch left.type {
            case .number, .string, .time, .duration:
                break
            case .list:
                report("'\(op.rawValue)' cannot order lists", at: offset, hint: "lists compare with == and !=")
                return nil
            default:
                report("'\(op.rawValue)' cannot order \(left.type) values", at: offset, hint: "use == or !=")
                return nil
            }
        } else {
            if case .constant(let constant) = right { checkAllowed(constant, at: rightExpression.offset, against: left) }
            if case .constant(let constant) = left { checkAllowed(constant, at: leftExpression.offset, against: right) }
        }
        left = left.fillingEmptyList(like: right)
        right = right.fillingEmptyList(like: left)
        return .compare(op, left, right)
    }

    private static func comparisonHint(_ left: Value, _ right: Value) -> String? {
        func isStringConstant(_ value: Value) -> Bool {
            if case .constant(.string) = value { return true }
            return false
        }
        switch (left.type, right.type) {
        case (.time, .string) where isStringConstant(right), (.string, .time) where isStringConstant(left):
            return "write times without quotes, such as 2026-11-20 or 2026-11-20T10:00:00Z"
        case (.number, .string) where isStringConstant(right), (.string, .number) where isStringConstant(left):
            return "write numbers without quotes"
        case (.time, .duration), (.duration, .time):
            return "compare a time with a time, such as created_at < now() - 30d"
        case (.time, .number), (.number, .time):
            return "use days_since(t) for a number of days"
        case (.list, _), (_, .list):
            return "test membership with 'in' or 'contains'"
        default:
            return nil
        }
    }

    private mutating func checkMembership(
        negated: Bool, _ elementExpression: Expression, _ listExpression: Expression, at offset: Int
    ) -> Condition? {
        let operatorName = negated ? "not in" : "in"
        let wasCompared = isComparedOperand
        isComparedOperand = true
        // `x in tags` is a subquery over the list, with x inside it; `x in [1, 2]` is not.
        var isSubquery = true
        if case .list = listExpression.kind { isSubquery = false }
        if isSubquery { subqueryLevel += 1 }
        let element = checkValue(elementExpression)
        if isSubquery { subqueryLevel -= 1 }
        let list = checkValue(listExpression)
        isComparedOperand = wasCompared
        guard let element, let list else { return nil }
        return membership(
            operatorName: operatorName, negated: negated, element: element, elementExpression: elementExpression,
            list: list, listExpression: listExpression, at: offset
        )
    }

    private mutating func membership(
        operatorName: String, negated: Bool, element: Value, elementExpression: Expression,
        list: Value, listExpression: Expression, at offset: Int
    ) -> Condition? {
        guard case .list(let listElement) = list.type else {
            report(
                "'\(operatorName)' needs a list on its right, found \(list.type)", at: listExpression.offset,
                hint: list.type == .string ? "for a substring, use contains" : "write a list such as [\"KR\", \"JP\"] or a list attribute"
            )
            return nil
        }
        if element.isNullLiteral {
            report(
                "'\(operatorName)' with null is always false", at: offset,
                hint: "test for a missing value with 'is null' or 'is not null'"
            )
            return nil
        }
        guard let scalar = element.type.scalar else {
            report("'\(operatorName)' cannot look for a \(element.type) in a list", at: elementExpression.offset, hint: "lists hold strings, numbers, times or true/false")
            return nil
        }
        if let listElement, listElement != scalar {
            report("'\(operatorName)' cannot look for a \(element.type) in a \(list.type)", at: offset)
            return nil
        }
        switch list {
        case .list(let constants, _):
            let offsets = literalOffsets(listExpression)
            for (index, constant) in constants.enumerated() where index < offsets.count {
                checkAllowed(constant, at: offsets[index], against: element)
            }
            return .inLiterals(element, constants, negated: negated)
        default:
            if case .constant(let constant) = element {
                checkAllowed(constant, at: elementExpression.offset, against: list)
            }
            return .inList(element, list: list, negated: negated)
        }
    }

    private mutating func checkTextTest(
        _ op: TextOperator, _ leftExpression: Expression, _ rightExpression: Expression, at offset: Int
    ) -> Condition? {
        let wasCompared = isComparedOperand
        isComparedOperand = true
        let left = checkValue(leftExpression)
        // `tags contains x` is a subquery over the list, with x inside it.
        let isSubquery = op == .contains && left?.type.isList == true
        if isSubquery { subqueryLevel += 1 }
        let right = checkValue(rightExpression)
        if isSubquery { subqueryLevel -= 1 }
        isComparedOperand = wasCompared
        guard let left, let right else { return nil }
        if op == .contains, left.type.isList {
            return membership(
                operatorName: "contains", negated: false, element: right, elementExpression: rightExpression,
                list: left, listExpression: leftExpression, at: offset
            )
        }
        if left.isNullLiteral || right.isNullLiteral {
            report(
                "'\(op.rawValue)' with null is always false", at: offset,
                hint: "test for a missing value with 'is null' or 'is not null'"
            )
            return nil
        }
        guard left.type == .string, right.type == .string else {
            let what = op == .contains ? "two strings, or a list and a value" : "two strings"
            report("'\(op.rawValue)' needs \(what), found \(left.type) and \(right.type)", at: offset)
            return nil
        }
        guard op == .matches else { return .text(op, left, right) }
        guard case .constant(.string(let pattern)) = right else {
            report(
                "'matches' needs a string literal pattern", at: rightExpression.offset,
                hint: #"patterns are checked when the campaign is validated, as in email matches "@example\.com$""#
            )
            return nil
        }
        do {
            return .matches(left, try RulePattern(pattern))
        } catch {
            report("invalid regular expression: \(error.message)", at: rightExpression.offset, hint: RulePattern.supportedSyntax)
            return nil
        }
    }

    /// The operand of a sum at `position` (0 for the first), placed as the SQL places it: a flat
    /// left-associative chain, where earlier operands sit deeper.
    private mutating func checkOperand(_ expression: Expression, position: Int, of count: Int) -> Value? {
        let saved = sqlDepth
        defer { sqlDepth = saved }
        guard deepen(stack: SQLLimits.operandStack, height: count - max(position, 1) + 1, at: expression.offset) else { return nil }
        return checkValue(expression)
    }

    private mutating func checkArithmetic(_ first: Expression, _ steps: [ArithmeticStep]) -> Value? {
        guard let firstValue = checkOperand(first, position: 0, of: steps.count) else {
            for (index, step) in steps.enumerated() { _ = checkOperand(step.operand, position: index + 1, of: steps.count) }
            return nil
        }
        // The steps so far, appended in place: a parenthesised first operand's steps continue here.
        var base = firstValue
        var done: [(isSubtraction: Bool, operand: Value)] = []
        var type = firstValue.type
        if case .arithmetic(let innerBase, let innerSteps, _) = firstValue {
            base = innerBase
            done = innerSteps
        }
        done.reserveCapacity(done.count + steps.count)
        var failed = false
        for (index, step) in steps.enumerated() {
            guard var operand = checkOperand(step.operand, position: index + 1, of: steps.count) else {
                failed = true
                continue
            }
            if failed { continue }
            let accumulated: (type: ValueType, isNullLiteral: Bool) = (type, done.isEmpty && base.isNullLiteral)
            let op = step.isSubtraction ? "-" : "+"
            var resultType: ValueType
            switch (accumulated.type, operand.type) {
            case (.null, .null):
                resultType = .null
            case (.null, .number), (.number, .null):
                resultType = .number
            case (.null, .duration):
                resultType = .time
            case (.time, .null):
                resultType = .time
                operand = .constant(.null(.duration))
            case (.number, .number):
                resultType = .number
            case (.time, .duration):
                resultType = .time
            default:
                var hint: String?
                if accumulated.type == .time, operand.type == .time, step.isSubtraction {
                    hint = "use days_since(t) for the days between a time and now"
                } else if accumulated.type == .duration, operand.type == .time {
                    hint = "write the time first, as in now() - 30d"
                }
                report(
                    "'\(op)' needs two numbers or a time and a duration, found \(accumulated.type) and \(operand.type)",
                    at: step.operatorOffset, hint: hint
                )
                failed = true
                continue
            }
            if operand.isNullLiteral, resultType != .null {
                operand = .constant(.null(resultType == .time ? .duration : .number))
            }
            if accumulated.isNullLiteral, resultType != .null {
                base = .constant(.null(resultType))
            }
            if resultType == .null { continue }
            done.append((step.isSubtraction, operand))
            type = resultType
        }
        if failed { return nil }
        return done.isEmpty ? base : .arithmetic(base, done, type: type)
    }

    // MARK: Functions

    private mutating func checkCall(_ name: Name, _ arguments: [Argument]) -> Value? {
        guard let function = Function(rawValue: name.text) else {
            report(
                "unknown function '\(name.text)'", at: name.offset,
                hint: Suggestion.hint(for: name.text, in: Function.allCases.map(\.rawValue))
            )
            return nil
        }
        let positional = arguments.filter { $0.label == nil }
        var problem = false
        for (index, argument) in arguments.enumerated() {
            guard let label = argument.label else { continue }
            if !function.labels.contains(label.text) {
                report("\(name.text)() has no argument named '\(label.text)'", at: label.offset, hint: "use \(function.usage)")
                problem = true
            } else if arguments[..<index].contains(where: { $0.label?.text == label.text }) {
                report("\(name.text)() has '\(label.text)' twice", at: label.offset, hint: "use \(function.usage)")
                return nil
            }
        }
        if !function.arity.contains(positional.count) {
            let expected = switch (function.arity.lowerBound, function.arity.upperBound) {
            case (0, 0): "no arguments"
            case (let low, let high) where low == high: "\(low) argument\(low == 1 ? "" : "s")"
            case (_, let high): "at most \(high) argument\(high == 1 ? "" : "s")"
            }
            let offset = positional.count > function.arity.upperBound ? positional[function.arity.upperBound].value.offset : name.offset
            report("\(name.text)() takes \(expected), found \(positional.count)", at: offset, hint: "use \(function.usage)")
            return nil
        }
        let values = positional.map { checkValue($0.value) }
        let labelled = arguments.filter { $0.label != nil }.map { ($0.label?.text ?? "", $0.value, checkValue($0.value)) }
        guard !problem, values.allSatisfy({ $0 != nil }), labelled.allSatisfy({ $0.2 != nil }) else { return nil }
        let operands = values.compactMap { $0 }

        func require(_ accepted: [ValueType], _ what: String) -> Value? {
            let value = operands[0]
            if value.isNullLiteral, let type = accepted.first { return .constant(.null(type)) }
            guard accepted.contains(where: { value.type.matches($0) }) else {
                report("\(name.text)() needs \(what), found \(value.type)", at: positional[0].value.offset, hint: "use \(function.usage)")
                return nil
            }
            return value
        }

        switch function {
        case .now:
            return .now
        case .today:
            return .today
        case .lower:
            return require([.string], "a string").map { .lower($0) }
        case .len:
            guard let value = require([.string, .list(nil)], "a string or a list") else { return nil }
            return .length(value.fillingEmptyList(like: value))
        case .daysSince:
            return require([.time], "a time").map { .daysSince($0) }
        case .bucket:
            let limit = 1 << 53
            guard case .constant(.number(let count)) = operands[0], count >= 1, count <= Double(limit),
                  count.rounded(.towardZero) == count
            else {
                report(
                    "bucket() needs a whole number of buckets from 1 to \(limit)", at: positional[0].value.offset,
                    hint: "use \(function.usage)"
                )
                return nil
            }
            return .bucket(count: Int64(count))
        case .hasDevice:
            guard let argument = operands.first else { return .hasDevice(nil) }
            let platforms = DevicePlatform.allCases.map(\.rawValue)
            guard case .constant(.string(let text)) = argument, let platform = DevicePlatform(rawValue: text) else {
                var hint = "expected one of: " + platforms.map { "\"\($0)\"" }.joined(separator: ", ")
                if case .constant(.string(let text)) = argument, let close = Suggestion.closest(to: text, in: platforms) {
                    hint = "did you mean \"\(close)\"?"
                }
                report("has_device() needs a platform name", at: positional[0].value.offset, hint: hint)
                return nil
            }
            return .hasDevice(platform)
        case .performed, .count:
            guard case .constant(.string) = operands[0] else {
                report("\(name.text)() needs an event name in quotes", at: positional[0].value.offset, hint: "use \(function.usage)")
                return nil
            }
            guard case .constant(.string(let event)) = operands[0] else { return nil }
            var within: Double?
            for (_, expression, value) in labelled {
                guard case .constant(.duration(let seconds))? = value, seconds > 0 else {
                    report("'within' needs a positive duration", at: expression.offset, hint: "expected \(DurationLiteral.expectedForm)")
                    return nil
                }
                within = seconds
            }
            return function == .performed ? .performed(event: event, within: within) : .eventCount(event: event, within: within)
        }
    }
}

extension Value {
    var isNullLiteral: Bool {
        if case .constant(.null) = self { return true }
        return false
    }

    /// The empty list literal, typed from the other operand (or as a list of strings).
    func fillingEmptyList(like other: Value) -> Value {
        guard case .list(let constants, nil) = self else { return self }
        if case .list(let element?) = other.type { return .list(constants, element: element) }
        return .list(constants, element: .string)
    }
}
