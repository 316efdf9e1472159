/// A small JSON parser for one import line that keeps the byte offset of every value and key.
///
/// Foundation's `JSONSerialization` would do, but it cannot say where in the line a bad value is,
/// turns `true` and `1` into the same `NSNumber` on Linux, and has no documented nesting limit;
/// an import row needs all three.
enum ImportJSON {
    indirect enum Value {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([Node])
        case object([Member])

        /// `a string`, `an object`…: how messages name the kind of a value that has the wrong one.
        var kindDescription: String {
            switch self {
            case .null: "null"
            case .bool: "a bool"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// A value and the byte offset in the line where it starts.
    struct Node {
        var value: Value
        var offset: Int
    }

    /// One `"key": value` pair of an object, in source order.
    struct Member {
        var key: String
        var keyOffset: Int
        var node: Node
    }

    struct SyntaxError: Error {
        var message: String
        var offset: Int
    }

    /// Deep enough for any import row (the deepest is `devices[].subscription.keys`), shallow
    /// enough that the recursive parser cannot exhaust the stack.
    static let maximumDepth = 32

    /// Parses exactly one JSON value, with only whitespace around it. The bytes must be valid UTF-8.
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> Node {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let node = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index < bytes.count {
            throw SyntaxError(message: "unexpected text after the JSON value", offset: parser.index)
        }
        return node
    }

    /// The byte offset of the first byte that is not part of valid UTF-8, or `nil` when all are.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        if String(validating: bytes, as: UTF8.self) != nil { return nil }
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// The 1-based column of a byte offset, counting Unicode scalars as editors do.
    static func column(ofOffset offset: Int, in bytes: [UInt8]) -> Int {
        var column = 1
        for byte in bytes.prefix(offset) where byte & 0xC0 != 0x80 {
            column += 1
        }
        return column
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(SyntaxError) -> Node {
            guard index < bytes.count else {
                throw SyntaxError(message: "unexpected end of line, expected a value", offset: index)
            }
            let start = index
            switch bytes[index] {
            case UInt8(ascii: "{"):
                return Node(value: .object(try parseObject(depth: depth + 1)), offset: start)
            case UInt8(ascii: "["):
                return Node(value: .array(try parseArray(depth: depth + 1)), offset: start)
            case UInt8(ascii: "\""):
                return Node(value: .string(try parseString()), offset: start)
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                return Node(value: .bool(true), offset: start)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                return Node(value: .bool(false), offset: start)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                return Node(value: .null, offset: start)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return Node(value: .number(try parseNumber()), offset: start)
            default:
                throw SyntaxError(message: "expected a value", offset: start)
            }
        }

        private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
            let start = index
            let count = literal.utf8CodeUnitCount
            let matches = literal.withUTF8Buffer { expected in
                bytes.count - start >= count && zip(bytes[start..<start + count], expected).allSatisfy { $0 == $1 }
            }
            guard matches else { throw SyntaxError(message: "expected a value", offset: start) }
            index += count
        }

        private mutating func parseObject(depth: Int) throws(SyntaxError) -> [Member] {
            if depth > ImportJSON.maximumDepth {
                throw SyntaxError(message: "nested deeper than \(ImportJSON.maximumDepth) levels", offset: index)
            }
            index += 1
            var members: [Member] = []
            // Objects in an import row have a handful of keys, where a linear scan beats hashing;
            // the set takes over for hostile rows with thousands.
            var keys: Set<String> = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return members
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw SyntaxError(message: "expected a string key", offset: index)
                }
                let keyOffset = index
                let key = try parseString()
                let isDuplicate: Bool
                if members.count < 16 {
                    isDuplicate = members.contains { $0.key == key }
                } else {
                    if keys.isEmpty { keys = Set(members.map(\.key)) }
                    isDuplicate = !keys.insert(key).inserted
                }
                guard !isDuplicate else {
                    throw SyntaxError(message: "duplicate key \(UserFieldRules.quoted(key))", offset: keyOffset)
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw SyntaxError(message: "expected ':' after the key", offset: index)
                }
                index += 1
                skipWhitespace()
                members.append(Member(key: key, keyOffset: keyOffset, node: try parseValue(depth: depth)))
                skipWhitespace()
                guard index < bytes.count else {
                    throw SyntaxError(message: "unexpected end of line, expected ',' or '}'", offset: index)
                }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return members
                }
                throw SyntaxError(message: "expected ',' or '}'", offset: index)
            }
        }

        private mutating func parseArray(depth: Int) throws(SyntaxError) -> [Node] {
            if depth > ImportJSON.maximumDepth {
                throw SyntaxError(message: "nested deeper than \(ImportJSON.maximumDepth) levels", offset: index)
            }
            index += 1
            var elements: [Node] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return elements
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard index < bytes.count else {
                    throw SyntaxError(message: "unexpected end of line, expected ',' or ']'", offset: index)
                }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return elements
                }
                throw SyntaxError(message: "expected ',' or ']'", offset: index)
            }
        }

        private mutating func parseString() throws(SyntaxError) -> String {
            let start = index
            index += 1
            // Most strings have no escapes: find the closing quote and decode the bytes in one go.
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[index..<end], as: UTF8.self)
                index = end + 1
                return text
            }
            var scratch = Array(bytes[index..<end])
            index = end
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(decoding: scratch, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    try parseEscape(into: &scratch)
                case 0..<0x20:
                    throw SyntaxError(message: "control character in a string (write it as an escape such as \\n)", offset: index)
                default:
                    scratch.append(byte)
                    index += 1
                }
            }
            throw SyntaxError(message: "unterminated string", offset: start)
        }

        private mutating func parseEscape(into scratch: inout [UInt8]) throws(SyntaxError) {
            let start = index
            index += 1
            guard index < bytes.count else { throw SyntaxError(message: "unterminated string", offset: start) }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var value = try parseHex4(escapeStart: start)
                if (0xD800...0xDBFF).contains(value) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw SyntaxError(message: "unpaired UTF-16 surrogate in a \\u escape", offset: start)
                    }
                    index += 2
                    let low = try parseHex4(escapeStart: start)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw SyntaxError(message: "unpaired UTF-16 surrogate in a \\u escape", offset: start)
                    }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(value) {
                    throw SyntaxError(message: "unpaired UTF-16 surrogate in a \\u escape", offset: start)
                }
                guard let scalar = Unicode.Scalar(value) else {
                    throw SyntaxError(message: "invalid \\u escape", offset: start)
                }
                if let encoded = UTF8.encode(scalar) { scratch.append(contentsOf: encoded) }
            default:
                throw SyntaxError(message: "invalid escape in a string", offset: start)
            }
        }

        private mutating func parseHex4(escapeStart: Int) throws(SyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw SyntaxError(message: "invalid \\u escape", offset: escapeStart) }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw SyntaxError(message: "invalid \\u escape", offset: escapeStart)
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        private mutating func parseNumber() throws(SyntaxError) -> Double {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.count, UserFieldRules.isASCIIDigit(bytes[index]) { index += 1 }
                return index - first
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, UserFieldRules.isASCIIDigit(bytes[index]) else {
                throw SyntaxError(message: "invalid number", offset: start)
            }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                _ = digits()
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw SyntaxError(message: "invalid number", offset: start) }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw SyntaxError(message: "invalid number", offset: start) }
            }
            guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                throw SyntaxError(message: "invalid number", offset: start)
            }
            return value
        }
    }
}
