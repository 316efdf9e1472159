/// The syntax tree of a pattern.
indirect enum PatternNode {
    case empty
    case scalar(UInt32)
    case any
    case set(ScalarSet)
    case start
    case end
    case sequence([PatternNode])
    case alternatives([PatternNode])
    case repeated(PatternNode, minimum: Int, maximum: Int?)
}

/// Reads the syntax of `RulePattern` (see its documentation) into a `PatternNode`.
struct PatternParser {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var depth = 0

    init(_ scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    private func peek() -> Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    mutating func parse() throws(RulePattern.SyntaxError) -> PatternNode {
        let node = try alternatives()
        if index < scalars.count {
            throw RulePattern.SyntaxError(message: "unmatched ')'")
        }
        return node
    }

    private mutating func alternatives() throws(RulePattern.SyntaxError) -> PatternNode {
        var branches = [try sequence()]
        while peek() == "|" {
            index += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternatives(branches)
    }

    private mutating func sequence() throws(RulePattern.SyntaxError) -> PatternNode {
        var items: [PatternNode] = []
        while let scalar = peek(), scalar != "|", scalar != ")" {
            var item = try atom()
            if let quantified = try quantifier(for: item) { item = quantified }
            items.append(item)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func quantifier(for item: PatternNode) throws(RulePattern.SyntaxError) -> PatternNode? {
        guard let scalar = peek(), scalar == "*" || scalar == "+" || scalar == "?" || scalar == "{" else { return nil }
        let bounds: (Int, Int?)
        switch scalar {
        case "*": bounds = (0, nil)
        case "+": bounds = (1, nil)
        case "?": bounds = (0, 1)
        default:
            bounds = try repeatBounds()
        }
        if scalar != "{" { index += 1 }
        switch item {
        case .start, .end:
            throw RulePattern.SyntaxError(message: "nothing to repeat before '\(scalar)'")
        default:
            break
        }
        if peek() == "?" { index += 1 }
        if let next = peek(), next == "*" || next == "+" || next == "?" || next == "{" {
            throw RulePattern.SyntaxError(message: "nothing to repeat before '\(next)'")
        }
        return .repeated(item, minimum: bounds.0, maximum: bounds.1)
    }

    /// `{n}`, `{n,}`, `{n,m}`; the index is on the `{`.
    private mutating func repeatBounds() throws(RulePattern.SyntaxError) -> (Int, Int?) {
        let invalid = RulePattern.SyntaxError(message: "invalid repeat: write {n}, {n,} or {n,m}, or \\{ for a literal '{'")
        index += 1
        func number() -> Int? {
            var value = 0
            var digits = 0
            while let scalar = peek(), ("0"..."9").contains(scalar) {
                value = min(value * 10 + Int(scalar.value - 48), 100_000)
                digits += 1
                index += 1
            }
            return digits == 0 ? nil : value
        }
        guard let minimum = number() else { throw invalid }
        var maximum: Int? = minimum
        if peek() == "," {
            index += 1
            maximum = number()
        }
        guard peek() == "}" else { throw invalid }
        index += 1
        if minimum > 1000 || (maximum ?? 0) > 1000 {
            throw RulePattern.SyntaxError(message: "repeat count above 1000")
        }
        if let maximum, maximum < minimum {
            throw RulePattern.SyntaxError(message: "repeat {\(minimum),\(maximum)} is out of order")
        }
        return (minimum, maximum)
    }

    private mutating func atom() throws(RulePattern.SyntaxError) -> PatternNode {
        guard let scalar = peek() else { return .empty }
        index += 1
        switch scalar {
        case "(":
            if peek() == "?" {
                guard index + 1 < scalars.count, scalars[index + 1] == ":" else {
                    throw RulePattern.SyntaxError(message: "groups starting with '(?' other than '(?:' are not supported")
                }
                index += 2
            }
            depth += 1
            guard depth <= 100 else { throw RulePattern.SyntaxError(message: "groups nest too deeply") }
            let inner = try alternatives()
            depth -= 1
            guard peek() == ")" else { throw RulePattern.SyntaxError(message: "missing ')'") }
            index += 1
            return inner
        case ".": return .any
        case "^": return .start
        case "$": return .end
        case "[": return .set(try scalarSet())
        case "\\": return try escape(inClass: false)
        case "*", "+", "?", "{":
            throw RulePattern.SyntaxError(message: "nothing to repeat before '\(scalar)'")
        default: return .scalar(scalar.value)
        }
    }

    /// After a backslash.
    private mutating func escape(inClass: Bool) throws(RulePattern.SyntaxError) -> PatternNode {
        guard let scalar = peek() else { throw RulePattern.SyntaxError(message: "pattern ends with '\\'") }
        index += 1
        switch scalar {
        case "d": return .set(.digits)
        case "D": return .set(ScalarSet.digits.inverted)
        case "w": return .set(.word)
        case "W": return .set(ScalarSet.word.inverted)
        case "s": return .set(.space)
        case "S": return .set(ScalarSet.space.inverted)
        case "n": return .scalar(10)
        case "r": return .scalar(13)
        case "t": return .scalar(9)
        case "1"..."9": throw RulePattern.SyntaxError(message: "backreferences are not supported")
        default:
            if scalar.isASCII, !(("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)) {
                return .scalar(scalar.value)
            }
            if !scalar.isASCII { return .scalar(scalar.value) }
            throw RulePattern.SyntaxError(message: "unsupported escape '\\\(scalar)'")
        }
    }

    /// After `[`.
    private mutating func scalarSet() throws(RulePattern.SyntaxError) -> ScalarSet {
        var negated = false
        if peek() == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let scalar = peek() else { throw RulePattern.SyntaxError(message: "missing ']'") }
            if scalar == "]", !first {
                index += 1
                break
            }
            first = false
            index += 1
            var low: UInt32
            if scalar == "\\" {
                switch try escape(inClass: true) {
                case .scalar(let value): low = value
                case .set(let set):
                    ranges.append(contentsOf: set.ranges)
                    continue
                default: continue
                }
            } else {
                low = scalar.value
            }
            if peek() == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                index += 1
                guard let upperScalar = peek() else { throw RulePattern.SyntaxError(message: "missing ']'") }
                index += 1
                var high = upperScalar.value
                if upperScalar == "\\" {
                    guard case .scalar(let value) = try escape(inClass: true) else {
                        throw RulePattern.SyntaxError(message: "a class range must end with a character")
                    }
                    high = value
                }
                guard low <= high else {
                    throw RulePattern.SyntaxError(
                        message: "range \(Unicode.Scalar(low).map(String.init) ?? "?")-\(Unicode.Scalar(high).map(String.init) ?? "?") is out of order"
                    )
                }
                ranges.append(low...high)
                continue
            }
            ranges.append(low...low)
        }
        let set = ScalarSet(ranges: ranges)
        return negated ? set.inverted : set
    }
}
