import HeraldCore

/// A recursive-descent parser for the grammar of spec/rules-language.md:
///
/// ```
/// expr := or;  or := and ("or" and)*;  and := not ("and" not)*;  not := "not" not | test
/// test := sum (cmpop sum)? | sum "not"? "in" sum | sum ("contains"|"starts_with"|"ends_with"|"matches") sum
///       | sum "is" "not"? "null"
/// sum  := atom (("+" | "-") atom)*
/// atom := literal | path | call | "(" expr ")" | list
/// ```
///
/// It reports the first syntax error only: after one, what follows cannot be read reliably.
struct Parser {
    /// Parentheses, lists, calls and `not` may nest this deep; deeper input is refused rather than
    /// risking the stack.
    static let maximumDepth = 64

    private let tokens: [Token]
    private let map: SourceMap
    private var index = 0
    private var depth = 0

    private init(tokens: [Token], map: SourceMap) {
        self.tokens = tokens
        self.map = map
    }

    static func parse(_ source: RuleSource, map: SourceMap) throws(Diagnostic) -> Expression {
        let tokens = try Lexer.tokenize(source, map: map)
        var parser = Parser(tokens: tokens, map: map)
        if parser.current.kind == .end {
            throw map.diagnostic("empty expression", at: 0, hint: "write a test such as country == \"KR\"")
        }
        let expression = try parser.parseOr()
        guard parser.current.kind == .end else { throw parser.unexpectedAfterTest() }
        return expression
    }

    private var current: Token { tokens[index] }

    private func peek(_ ahead: Int) -> Token {
        tokens[min(index + ahead, tokens.count - 1)]
    }

    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func error(_ message: String, at token: Token, hint: String? = nil) -> Diagnostic {
        map.diagnostic(message, at: token.offset, hint: hint)
    }

    private mutating func enter(_ token: Token) throws(Diagnostic) {
        depth += 1
        if depth > Parser.maximumDepth {
            throw error(
                "expression nests too deeply", at: token,
                hint: "at most \(Parser.maximumDepth) levels of parentheses, lists, calls and 'not'"
            )
        }
    }

    private mutating func leave() { depth -= 1 }

    private mutating func parseOr() throws(Diagnostic) -> Expression {
        let first = try parseAnd()
        var operands = [first]
        while current.kind == .keyword(.or) {
            _ = advance()
            operands.append(try parseAnd())
        }
        return operands.count == 1 ? first : Expression(kind: .or(operands), offset: first.offset)
    }

    private mutating func parseAnd() throws(Diagnostic) -> Expression {
        let first = try parseNot()
        var operands = [first]
        while current.kind == .keyword(.and) {
            _ = advance()
            operands.append(try parseNot())
        }
        return operands.count == 1 ? first : Expression(kind: .and(operands), offset: first.offset)
    }

    private mutating func parseNot() throws(Diagnostic) -> Expression {
        guard current.kind == .keyword(.not) else { return try parseTest() }
        let token = advance()
        try enter(token)
        defer { leave() }
        let operand = try parseNot()
        return Expression(kind: .not(operand), offset: token.offset)
    }

    private mutating func parseTest() throws(Diagnostic) -> Expression {
        let left = try parseSum()
        let token = current
        switch token.kind {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual:
            _ = advance()
            let op: ComparisonOperator = switch token.kind {
            case .equal: .equal
            case .notEqual: .notEqual
            case .less: .less
            case .lessOrEqual: .lessOrEqual
            case .greater: .greater
            default: .greaterOrEqual
            }
            let right = try parseSum()
            return Expression(kind: .comparison(op, left, right, operatorOffset: token.offset), offset: left.offset)
        case .keyword(.in):
            _ = advance()
            let right = try parseSum()
            return Expression(kind: .membership(negated: false, left, right, operatorOffset: token.offset), offset: left.offset)
        case .keyword(.not):
            _ = advance()
            guard current.kind == .keyword(.in) else {
                throw error(
                    "expected 'in' after 'not'", at: current,
                    hint: "'not' before a value only forms 'not in'; negate other tests as not (…)"
                )
            }
            _ = advance()
            let right = try parseSum()
            return Expression(kind: .membership(negated: true, left, right, operatorOffset: token.offset), offset: left.offset)
        case .keyword(.contains), .keyword(.startsWith), .keyword(.endsWith), .keyword(.matches):
            _ = advance()
            let op: TextOperator = switch token.kind {
            case .keyword(.contains): .contains
            case .keyword(.startsWith): .startsWith
            case .keyword(.endsWith): .endsWith
            default: .matches
            }
            let right = try parseSum()
            return Expression(kind: .textTest(op, left, right, operatorOffset: token.offset), offset: left.offset)
        case .keyword(.is):
            _ = advance()
            var negated = false
            if current.kind == .keyword(.not) {
                _ = advance()
                negated = true
            }
            guard current.kind == .keyword(.null) else {
                throw error(
                    "expected 'null' after '\(negated ? "is not" : "is")'", at: current,
                    hint: "'is' only tests for null; compare values with =="
                )
            }
            _ = advance()
            return Expression(kind: .nullTest(negated: negated, left, operatorOffset: token.offset), offset: left.offset)
        default:
            return left
        }
    }

    private mutating func parseSum() throws(Diagnostic) -> Expression {
        let first = try parseAtom()
        var steps: [ArithmeticStep] = []
        while current.kind == .plus || current.kind == .minus {
            let token = advance()
            let operand = try parseAtom()
            steps.append(ArithmeticStep(isSubtraction: token.kind == .minus, operatorOffset: token.offset, operand: operand))
        }
        return steps.isEmpty ? first : Expression(kind: .arithmetic(first, steps), offset: first.offset)
    }

    private mutating func parseAtom() throws(Diagnostic) -> Expression {
        let token = current
        switch token.kind {
        case .string, .number, .duration, .time, .keyword(.true), .keyword(.false), .keyword(.null), .minus:
            return try parseLiteral()
        case .leftParenthesis:
            _ = advance()
            try enter(token)
            defer { leave() }
            let inner = try parseOr()
            try expectClosing(.rightParenthesis, "')'", opener: token)
            return inner
        case .leftBracket:
            _ = advance()
            try enter(token)
            defer { leave() }
            var elements: [Expression] = []
            if current.kind != .rightBracket {
                repeat {
                    if current.kind == .rightBracket, !elements.isEmpty { break }
                    elements.append(try parseListElement())
                } while try consumeComma()
            }
            try expectClosing(.rightBracket, "']'", opener: token)
            return Expression(kind: .list(elements), offset: token.offset)
        case .identifier(let word):
            _ = advance()
            if current.kind == .leftParenthesis {
                return try parseCall(Name(text: word, offset: token.offset))
            }
            var names = [Name(text: word, offset: token.offset)]
            while current.kind == .dot {
                _ = advance()
                // After a dot a keyword is a name too: `attributes.count`, `attributes.in`.
                let part: String
                switch current.kind {
                case .identifier(let word): part = word
                case .keyword(let keyword): part = keyword.rawValue
                default: throw error("expected a name after '.'", at: current, hint: "write a path such as user.email")
                }
                names.append(Name(text: part, offset: current.offset))
                _ = advance()
            }
            return Expression(kind: .path(names), offset: token.offset)
        default:
            throw expectedValue(at: token)
        }
    }

    private func expectedValue(at token: Token) -> Diagnostic {
        var hint = "a name, a string, a number, a time, a duration, true, false, null, a function call, '(' or '['"
        if case .keyword(let keyword) = token.kind, keyword != .null, keyword != .true, keyword != .false {
            hint = "'\(keyword.rawValue)' is a keyword; expected \(hint)"
        }
        return error("expected a value, found \(token.displayName)", at: token, hint: hint)
    }

    /// A literal, optionally negated: `-5`, `-30d`.
    private mutating func parseLiteral() throws(Diagnostic) -> Expression {
        let token = advance()
        switch token.kind {
        case .string(let value): return Expression(kind: .literal(.string(value)), offset: token.offset)
        case .number(let value): return Expression(kind: .literal(.number(value)), offset: token.offset)
        case .duration(let value): return Expression(kind: .literal(.duration(value)), offset: token.offset)
        case .time(let value): return Expression(kind: .literal(.time(value)), offset: token.offset)
        case .keyword(.true): return Expression(kind: .literal(.bool(true)), offset: token.offset)
        case .keyword(.false): return Expression(kind: .literal(.bool(false)), offset: token.offset)
        case .keyword(.null): return Expression(kind: .literal(.null), offset: token.offset)
        case .minus:
            let operand = advance()
            switch operand.kind {
            case .number(let value): return Expression(kind: .literal(.number(-value)), offset: token.offset)
            case .duration(let value): return Expression(kind: .literal(.duration(-value)), offset: token.offset)
            default:
                throw error(
                    "expected a number or duration after '-'", at: operand,
                    hint: "only literals can be negated; write 0 - x to negate a value"
                )
            }
        default:
            throw expectedValue(at: token)
        }
    }

    private mutating func parseListElement() throws(Diagnostic) -> Expression {
        switch current.kind {
        case .string, .number, .duration, .time, .keyword(.true), .keyword(.false), .keyword(.null), .minus:
            return try parseLiteral()
        default:
            throw error(
                "expected a literal in the list, found \(current.displayName)", at: current,
                hint: "a list holds literals only, such as [\"KR\", \"JP\"] or [1, 2]"
            )
        }
    }

    private mutating func consumeComma() throws(Diagnostic) -> Bool {
        guard current.kind == .comma else { return false }
        _ = advance()
        return true
    }

    private mutating func parseCall(_ name: Name) throws(Diagnostic) -> Expression {
        let opener = advance()
        try enter(opener)
        defer { leave() }
        var arguments: [Argument] = []
        if current.kind != .rightParenthesis {
            repeat {
                var label: Name?
                if case .identifier(let word) = current.kind, peek(1).kind == .colon {
                    label = Name(text: word, offset: current.offset)
                    _ = advance()
                    _ = advance()
                }
                arguments.append(Argument(label: label, value: try parseOr()))
            } while try consumeComma()
        }
        try expectClosing(.rightParenthesis, "')'", opener: opener)
        return Expression(kind: .call(name, arguments), offset: name.offset)
    }

    private mutating func expectClosing(_ kind: Token.Kind, _ written: String, opener: Token) throws(Diagnostic) {
        guard current.kind == kind else {
            let at = map.location(at: opener.offset)
            throw error("expected \(written)", at: current, hint: "to close the '\(opener.text)' at \(at.line):\(at.column)")
        }
        _ = advance()
    }

    /// A token left over where a test could have ended.
    private func unexpectedAfterTest() -> Diagnostic {
        let token = current
        switch token.kind {
        case .identifier(let word) where Keyword(rawValue: word.lowercased()) != nil:
            return error("unexpected \(token.displayName)", at: token, hint: "keywords are lowercase: '\(word.lowercased())'")
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .keyword(.in), .keyword(.contains),
             .keyword(.startsWith), .keyword(.endsWith), .keyword(.matches), .keyword(.is):
            return error(
                "unexpected \(token.displayName)", at: token,
                hint: "tests do not chain: join them with 'and', as in 1 < x and x < 3"
            )
        case .rightParenthesis:
            return error("unexpected ')'", at: token, hint: "it closes no '('")
        default:
            return error(
                "unexpected \(token.displayName)", at: token,
                hint: "expected an operator such as == or in, 'and', 'or', or the end of the expression"
            )
        }
    }
}
