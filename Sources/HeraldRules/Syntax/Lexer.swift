import HeraldCore

/// Splits an expression into tokens. It stops at the first problem: after a broken string or
/// literal, the tokens that follow cannot be trusted.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private let map: SourceMap
    private var position = 0

    init(_ source: RuleSource, map: SourceMap) {
        scalars = Array(source.text.unicodeScalars)
        self.map = map
    }

    /// Every token of the expression, ending with `.end`.
    static func tokenize(_ source: RuleSource, map: SourceMap) throws(Diagnostic) -> [Token] {
        var lexer = Lexer(source, map: map)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let index = position + ahead
        return index < scalars.count ? scalars[index] : nil
    }

    private func text(from start: Int) -> String {
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start..<position])
        return String(text)
    }

    private func error(_ message: String, at offset: Int, hint: String? = nil) -> Diagnostic {
        map.diagnostic(message, at: offset, hint: hint)
    }

    mutating func next() throws(Diagnostic) -> Token {
        while let scalar = peek(), scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
            position += 1
        }
        let start = position
        guard let scalar = peek() else { return Token(kind: .end, offset: start, text: "") }

        func single(_ kind: Token.Kind, length: Int = 1) -> Token {
            position += length
            return Token(kind: kind, offset: start, text: text(from: start))
        }

        switch scalar {
        case "(": return single(.leftParenthesis)
        case ")": return single(.rightParenthesis)
        case "[": return single(.leftBracket)
        case "]": return single(.rightBracket)
        case ",": return single(.comma)
        case ":": return single(.colon)
        case ".": return single(.dot)
        case "+": return single(.plus)
        case "-": return single(.minus)
        case "=":
            if peek(1) == "=" { return single(.equal, length: 2) }
            throw error("unexpected '='", at: start, hint: "use '==' to compare")
        case "!":
            if peek(1) == "=" { return single(.notEqual, length: 2) }
            throw error("unexpected '!'", at: start, hint: "use 'not' to negate, or '!=' to compare")
        case "<":
            if peek(1) == "=" { return single(.lessOrEqual, length: 2) }
            if peek(1) == ">" { throw error("unexpected '<>'", at: start, hint: "use '!=' to compare") }
            return single(.less)
        case ">":
            if peek(1) == "=" { return single(.greaterOrEqual, length: 2) }
            return single(.greater)
        case "&":
            throw error("unexpected '\(peek(1) == "&" ? "&&" : "&")'", at: start, hint: "use 'and'")
        case "|":
            throw error("unexpected '\(peek(1) == "|" ? "||" : "|")'", at: start, hint: "use 'or'")
        case "\"", "'":
            return try string(quote: scalar)
        case "0"..."9":
            return try numberDurationOrTime()
        default:
            if Lexer.isIdentifierStart(scalar) { return identifierOrKeyword() }
            throw error(
                "unexpected character '\(Lexer.printable(scalar))'", at: start,
                hint: "names use the letters a-z, digits and '_'; strings are quoted"
            )
        }
    }

    static func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
    }

    static func isIdentifierContinue(_ scalar: Unicode.Scalar) -> Bool {
        isIdentifierStart(scalar) || ("0"..."9").contains(scalar)
    }

    private static func isDigit(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar else { return false }
        return ("0"..."9").contains(scalar)
    }

    /// A character as an error message can show it (control characters escaped).
    static func printable(_ scalar: Unicode.Scalar) -> String {
        scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
            ? scalar.escaped(asASCII: true) : String(scalar)
    }

    private mutating func identifierOrKeyword() -> Token {
        let start = position
        while let scalar = peek(), Lexer.isIdentifierContinue(scalar) { position += 1 }
        let word = text(from: start)
        if let keyword = Keyword(rawValue: word) {
            return Token(kind: .keyword(keyword), offset: start, text: word)
        }
        return Token(kind: .identifier(word), offset: start, text: word)
    }

    private mutating func string(quote: Unicode.Scalar) throws(Diagnostic) -> Token {
        let start = position
        position += 1
        var value = String.UnicodeScalarView()
        while true {
            guard let scalar = peek() else {
                throw error("unterminated string", at: start, hint: "add the closing \(quote)")
            }
            position += 1
            if scalar == quote { break }
            guard scalar == "\\" else {
                value.append(scalar)
                continue
            }
            let escapeStart = position - 1
            guard let escaped = peek() else {
                throw error("unterminated string", at: start, hint: "add the closing \(quote)")
            }
            position += 1
            switch escaped {
            case "\\", "\"", "'": value.append(escaped)
            case "n": value.append("\n")
            case "r": value.append("\r")
            case "t": value.append("\t")
            case "u":
                value.append(try unicodeEscape(start: escapeStart))
            default:
                // Any other backslash stays as written, so that regular expressions keep
                // their escapes: "\.", "\d".
                value.append("\\")
                value.append(escaped)
            }
        }
        if value.contains("\u{0}") {
            // SQLite's C strings end at U+0000, so SQL could not compare such a string exactly.
            throw error("a string cannot contain U+0000", at: start, hint: "remove the NUL character")
        }
        return Token(kind: .string(String(value)), offset: start, text: text(from: start))
    }

    /// `\u{1F600}`: one to six hex digits naming a Unicode scalar.
    private mutating func unicodeEscape(start: Int) throws(Diagnostic) -> Unicode.Scalar {
        let hint = #"write a Unicode escape as \u{E9}"#
        guard peek() == "{" else { throw error("invalid Unicode escape in string", at: start, hint: hint) }
        position += 1
        var value: UInt32 = 0
        var digits = 0
        while let scalar = peek(), scalar != "}" {
            guard digits < 6, scalar.properties.isASCIIHexDigit, let digit = Int(String(scalar), radix: 16) else {
                throw error("invalid Unicode escape in string", at: start, hint: hint)
            }
            value = value * 16 + UInt32(digit)
            digits += 1
            position += 1
        }
        guard peek() == "}", digits > 0, let result = Unicode.Scalar(value) else {
            throw error("invalid Unicode escape in string", at: start, hint: hint)
        }
        position += 1
        return result
    }

    private mutating func numberDurationOrTime() throws(Diagnostic) -> Token {
        let start = position
        if Lexer.isDigit(peek(1)), Lexer.isDigit(peek(2)), Lexer.isDigit(peek(3)), peek(4) == "-",
           Lexer.isDigit(peek(5)), Lexer.isDigit(peek(6)), peek(7) == "-", Lexer.isDigit(peek(8)), Lexer.isDigit(peek(9)) {
            return try time()
        }
        while Lexer.isDigit(peek()) { position += 1 }
        var isWhole = true
        if peek() == ".", Lexer.isDigit(peek(1)) {
            isWhole = false
            position += 1
            while Lexer.isDigit(peek()) { position += 1 }
        }
        if peek() == "e" || peek() == "E" {
            if Lexer.isDigit(peek(1)) || ((peek(1) == "+" || peek(1) == "-") && Lexer.isDigit(peek(2))) {
                isWhole = false
                position += 2
                while Lexer.isDigit(peek()) { position += 1 }
            }
        }
        if let next = peek(), Lexer.isIdentifierContinue(next) || next == "." {
            while let scalar = peek(), Lexer.isIdentifierContinue(scalar) || scalar == "." { position += 1 }
            let written = text(from: start)
            if isWhole, let duration = DurationLiteral(written) {
                return Token(kind: .duration(duration.seconds), offset: start, text: written)
            }
            throw error("invalid duration '\(written)'", at: start, hint: "expected \(DurationLiteral.expectedForm)")
        }
        let written = text(from: start)
        guard let value = Double(written), value.isFinite else {
            throw error("number '\(written)' is out of range", at: start, hint: "numbers are 64-bit floating point")
        }
        return Token(kind: .number(value), offset: start, text: written)
    }

    /// `2026-11-20` (midnight UTC) or an instant with a zone, `2026-11-20T10:00:00Z`,
    /// `2026-11-20T10:00+09:00`.
    private mutating func time() throws(Diagnostic) -> Token {
        let start = position
        position += 10
        if peek() == "T" || peek() == "t" {
            position += 1
            while let scalar = peek(), Lexer.isDigit(scalar) || scalar == ":" || scalar == "." { position += 1 }
            if peek() == "Z" || peek() == "z" {
                position += 1
            } else if peek() == "+" || peek() == "-", Lexer.isDigit(peek(1)) {
                position += 1
                while let scalar = peek(), Lexer.isDigit(scalar) || scalar == ":" { position += 1 }
            }
        }
        while let scalar = peek(), Lexer.isIdentifierContinue(scalar) || scalar == ":" || scalar == "." { position += 1 }
        let written = text(from: start)
        switch TimeLiteral.parse(written) {
        case .success(let seconds):
            return Token(kind: .time(seconds), offset: start, text: written)
        case .failure(let problem):
            throw error("invalid time '\(written)'", at: start, hint: problem.hint)
        }
    }
}
