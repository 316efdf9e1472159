import HeraldCore
import Yams

/// Turns the errors of Yams and libyaml into sentences at a file position.
enum YAMLSyntaxError {
    static func diagnostic(for error: any Error, file: String, text: String) -> Diagnostic {
        guard let error = error as? YamlError else {
            return Diagnostic("cannot read YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let location = SourceLocation(file: file, line: mark.line, column: mark.column)
            let (message, hint) = explain(problem: problem, context: context, character: character(at: mark, in: text))
            // libyaml limits a plain key to 1024 characters and then reports a missing ':' or a
            // misplaced one; say what is really wrong.
            if problem == "could not find expected ':'" || problem == "mapping values are not allowed in this context" {
                for line in Set([mark.line, context?.mark.line].compactMap { $0 }).sorted() {
                    if let key = longKey(onLine: line, in: text) {
                        return Diagnostic(
                            "invalid YAML: a field name of \(key.length) characters", at: SourceLocation(file: file, line: line, column: key.column),
                            hint: "YAML allows at most 1024 characters before the ':' of a field; shorten it"
                        )
                    }
                }
            }
            return Diagnostic(message, at: location, hint: hint)
        case .reader(let problem, let offset, let value, _):
            let location = offset.map { self.location(ofCharacter: $0, in: text, file: file) }
                ?? SourceLocation(file: file, line: 1, column: 1)
            var hint: String?
            if problem.contains("control characters"), value >= 0, let scalar = Unicode.Scalar(UInt32(value)) {
                hint = "remove the control character U+\(String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4))"
            }
            return Diagnostic("invalid YAML: \(problem)", at: location, hint: hint)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let location = SourceLocation(file: file, line: max(1, context.mark.line), column: max(1, context.mark.column))
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let message = duplicates.count == 1
                ? "field \(names) appears more than once"
                : "fields \(names) appear more than once"
            return Diagnostic(message, at: location, hint: "give each field once")
        case .dataCouldNotBeDecoded:
            return Diagnostic("file is not valid UTF-8", at: SourceLocation(file: file, line: 1, column: 1), hint: "save the file as UTF-8")
        case .memory, .no, .writer, .emitter, .representer:
            return Diagnostic("cannot read YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    private static func explain(problem: String, context: YamlError.Context?, character: Character?) -> (String, String?) {
        let opened = context.map { "line \($0.mark.line), column \($0.mark.column)" }
        switch problem {
        case "mapping values are not allowed in this context":
            return ("invalid YAML: mapping values are not allowed here", "quote a value that contains ': ', or check the indentation")
        case "found character that cannot start any token":
            if character == "\t" {
                return ("invalid YAML: a tab character in the indentation", "indent with spaces; YAML does not allow tabs")
            }
            if let character, character == "@" || character == "`" || character == "%" {
                return ("invalid YAML: a value cannot start with '\(character)'", "put the value in quotes")
            }
            return ("invalid YAML: \(problem)", "put the value in quotes")
        case "did not find expected ',' or ']'":
            return ("invalid YAML: a list is not closed", "the list that starts at \(opened ?? "this line") needs a ']'")
        case "did not find expected ',' or '}'":
            return ("invalid YAML: a mapping is not closed", "the mapping that starts at \(opened ?? "this line") needs a '}'")
        case "found unexpected end of stream":
            if let context, context.text.contains("quoted scalar") {
                return ("invalid YAML: a quoted value is not closed", "the quote that starts at \(opened ?? "this line") needs a closing quote")
            }
            return ("invalid YAML: the file ends too early", context.map { "\($0.text) at \(opened ?? "")" })
        case "could not find expected ':'":
            return ("invalid YAML: expected 'name: value'", "the line at \(opened ?? "this position") needs a ':' after the field name")
        case "did not find expected key":
            return ("invalid YAML: this line does not line up with the fields above it", "check the indentation against the mapping at \(opened ?? "the line above")")
        case "did not find expected '-' indicator":
            return ("invalid YAML: this line does not line up with the list above it", "check the indentation against the list at \(opened ?? "the line above")")
        case "found unknown escape character":
            return ("invalid YAML: unknown escape sequence in double quotes", "write \\\\ for a backslash, or use single quotes")
        case "found undefined alias":
            return ("invalid YAML: aliases are not supported", "write the value out in full; Herald files do not use &anchors and *aliases")
        case "but found another document":
            return ("invalid YAML: a second document in the file", "a file holds one document; remove the '---'")
        default:
            if problem.contains("tab character") {
                return ("invalid YAML: a tab character in the indentation", "indent with spaces; YAML does not allow tabs")
            }
            if problem.hasPrefix("Maximum nesting level reached") {
                return ("invalid YAML: nesting is too deep", "at most 1000 levels of lists and mappings")
            }
            return ("invalid YAML: \(problem)", context.map { "\($0.text) at \(opened ?? "")" })
        }
    }

    /// The column and length of the field name on `line` when its ':' comes after YAML's limit
    /// of 1024 characters for a plain key.
    private static func longKey(onLine number: Int, in text: String) -> (column: Int, length: Int)? {
        var line = 1
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        while line < number, index < scalars.endIndex {
            if scalars[index] == "\n" { line += 1 }
            index = scalars.index(after: index)
        }
        var column = 1
        while index < scalars.endIndex, scalars[index] == " " || scalars[index] == "-" {
            index = scalars.index(after: index)
            column += 1
        }
        var length = 0
        while index < scalars.endIndex, scalars[index] != "\n" {
            if scalars[index] == ":" {
                let next = scalars.index(after: index)
                if next == scalars.endIndex || scalars[next] == " " || scalars[next] == "\n" {
                    return length > 1024 ? (column, length) : nil
                }
            }
            length += 1
            index = scalars.index(after: index)
        }
        return nil
    }

    private static func character(at mark: Mark, in text: String) -> Character? {
        var line = 1
        var index = text.unicodeScalars.startIndex
        let scalars = text.unicodeScalars
        while line < mark.line, index < scalars.endIndex {
            if scalars[index] == "\n" { line += 1 }
            index = scalars.index(after: index)
        }
        guard let target = scalars.index(index, offsetBy: mark.column - 1, limitedBy: scalars.endIndex),
              target < scalars.endIndex
        else { return nil }
        return Character(scalars[target])
    }

    /// Yams reports a reader error as an offset in `Character`s from the start of the text.
    private static func location(ofCharacter offset: Int, in text: String, file: String) -> SourceLocation {
        var line = 1
        var column = 1
        var seen = 0
        for character in text {
            if seen >= offset { break }
            seen += 1
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
