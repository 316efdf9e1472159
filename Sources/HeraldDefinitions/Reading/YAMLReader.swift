import Foundation
import HeraldCore
import Yams

/// Composes one YAML file into nodes and turns every problem found while reading them into a
/// `Diagnostic` at the node's position.
///
/// A class because every helper appends to the same list; one reader lives for one file, on one
/// thread, and is not shared.
final class YAMLReader {
    /// The file, relative to the workspace root.
    let file: String
    let text: String
    /// Set for herald.yml: `${NAME}` in values is replaced from it.
    let environment: [String: String]?
    /// In the order found; `sortedDiagnostics` is the order to show them in.
    private(set) var diagnostics: [Diagnostic] = []
    /// Split on line feeds by scalar, so that CRLF files split too (`"\r\n"` is one `Character`).
    private var lines: [Substring.UnicodeScalarView]?
    /// The text Yams parses: with `${…}` masked when there is an environment.
    private let parsedText: String
    private let references: [EnvironmentSubstitution.Reference]

    init(file: String, text: String, environment: [String: String]? = nil) {
        self.file = file
        self.text = text
        self.environment = environment
        if environment != nil {
            (parsedText, references) = EnvironmentSubstitution.mask(text)
        } else {
            (parsedText, references) = (text, [])
        }
    }

    var sortedDiagnostics: [Diagnostic] { DiagnosticOrder.sorted(diagnostics) }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    var startOfFile: SourceLocation { SourceLocation(file: file, line: 1, column: 1) }

    func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
        diagnostics.append(Diagnostic(message, at: location, hint: hint))
    }

    func error(_ message: String, at node: Node, hint: String? = nil) {
        error(message, at: location(of: node), hint: hint)
    }

    func warning(_ message: String, at node: Node, hint: String? = nil) {
        diagnostics.append(Diagnostic(message, at: location(of: node), hint: hint, severity: .warning))
    }

    // MARK: Composing

    /// The document's root mapping, or `nil` after a diagnostic (too large, not YAML, empty, not a
    /// mapping).
    ///
    /// - Parameters:
    ///   - expected: what the file should hold, for the error on an empty file.
    ///   - allowEmpty: whether an empty file (or one with only comments) reads as no fields.
    func root(expected: String, known: [String], allowEmpty: Bool = false) -> Fields? {
        guard text.utf8.count <= DefinitionLimits.maximumFileSize else {
            diagnostics.append(SourceFileReader.tooLarge(size: text.utf8.count, file: file))
            return nil
        }
        if let anchor = AnchorScanner.firstAnchor(in: parsedText) {
            error(
                "YAML anchors are not supported",
                at: SourceLocation(file: file, line: anchor.line, column: anchor.column),
                hint: "write the value out in full; Herald files do not use &anchors and *aliases"
            )
            return nil
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: parsedText)
        } catch {
            diagnostics.append(YAMLSyntaxError.diagnostic(for: error, file: file, text: text))
            return nil
        }
        guard let node, !isNull(node) else {
            if allowEmpty { return Fields(node: Node(""), location: startOfFile, entries: []) }
            self.error("file is empty", at: startOfFile, hint: "expected \(expected)")
            return nil
        }
        guard case .mapping = node else {
            self.error("expected a mapping of fields, found \(describe(node))", at: node, hint: "expected \(expected)")
            return nil
        }
        return fields(node, name: "file", expected: expected, known: known)
    }

    // MARK: Positions

    func location(of node: Node) -> SourceLocation {
        guard let mark = node.mark else { return startOfFile }
        return SourceLocation(file: file, line: max(1, mark.line), column: max(1, mark.column))
    }

    /// Where a scalar's text starts: after the quote of a quoted scalar, and on the first line of
    /// content of a block scalar (`|` or `>`), whose node position is the indicator.
    func contentLocation(of node: Node) -> SourceLocation {
        guard case .scalar(let scalar) = node, let mark = scalar.mark else { return location(of: node) }
        let location = location(of: node)
        switch scalar.style {
        case .singleQuoted, .doubleQuoted:
            return location.advanced(columns: 1)
        case .literal, .folded:
            let lines = self.lines ?? text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            self.lines = lines
            var index = mark.line
            while index < lines.count {
                let line = lines[index]
                if let first = line.firstIndex(where: { $0 != " " && $0 != "\r" }) {
                    let indent = line.distance(from: line.startIndex, to: first)
                    return SourceLocation(file: file, line: index + 1, column: indent + 1)
                }
                index += 1
            }
            return location
        case .plain, .any:
            return location
        }
    }

    // MARK: Describing

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// `'text'`, `a list`, `a mapping`, `nothing`: what was found where something else was expected.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): isNull(node) ? "nothing" : quoted(original(scalar.string))
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }

    /// A value as it is quoted in a message: short, on one line.
    func quoted(_ text: String) -> String {
        Self.quoted(text)
    }

    /// `'value'` for a message, with invisible and look-alike characters shown (`Quoted`).
    static func quoted(_ text: String) -> String {
        Quoted.visible(text)
    }

    /// The "did you mean" hint, or the list of valid names; long words get no suggestion, so that
    /// a hostile megabyte-long key costs nothing.
    func hint(for word: String, in candidates: [String]) -> String {
        guard word.count <= 64 else { return "expected one of: " + candidates.joined(separator: ", ") }
        return Suggestion.hint(for: word, in: candidates)
    }

    func wrongType(_ node: Node, name: String, expected: String) {
        if isNull(node) {
            error("no value for \(name)", at: node, hint: "expected \(expected)")
        } else {
            error("wrong type for \(name): found \(describe(node))", at: node, hint: "expected \(expected)")
        }
    }

    // MARK: Structure

    /// A mapping whose keys must be `known`; every other key is an error with a suggestion.
    func fields(_ node: Node, name: String, expected: String, known: [String]) -> Fields? {
        guard let entries = mapping(node, name: name, expected: expected) else { return nil }
        var accepted: [Fields.Entry] = []
        var misspelled: Set<String> = []
        for entry in entries {
            if known.contains(entry.key) {
                accepted.append(entry)
            } else {
                error("unknown field \(quoted(entry.key))", at: entry.keyNode, hint: hint(for: entry.key, in: known))
                if entry.key.count <= 64, let match = Suggestion.closest(to: entry.key, in: known) {
                    misspelled.insert(match)
                }
            }
        }
        return Fields(node: node, location: location(of: node), entries: accepted, misspelled: misspelled)
    }

    /// A mapping with any text keys, in file order.
    func mapping(_ node: Node, name: String, expected: String) -> [Fields.Entry]? {
        guard case .mapping(let mapping) = node else {
            wrongType(node, name: name, expected: expected)
            return nil
        }
        var entries: [Fields.Entry] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, !isNull(key) else {
                error("a field name must be text, found \(describe(key))", at: key, hint: "expected \(expected)")
                continue
            }
            entries.append(Fields.Entry(key: original(scalar.string), keyNode: key, value: value))
        }
        return entries
    }

    func list(_ node: Node, name: String, expected: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            wrongType(node, name: name, expected: expected)
            return nil
        }
        return Array(sequence)
    }

    /// A field that must be present and have a value. A field already reported as misspelled
    /// (`chanels`) is not reported again as missing.
    func required(_ fields: Fields, _ key: String, expected: String) -> Node? {
        if let value = fields[key] { return value }
        if fields.misspelled.contains(key) { return nil }
        if let entry = fields.entry(key) {
            wrongType(entry.value, name: "'\(key)'", expected: expected)
        } else {
            error("missing field '\(key)'", at: fields.location, hint: "expected \(expected)")
        }
        return nil
    }

    // MARK: Scalars

    /// The text of a scalar, after `${NAME}` substitution when the reader has an environment.
    func text(_ node: Node, name: String, expected: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            wrongType(node, name: name, expected: expected)
            return nil
        }
        guard let environment else { return scalar.string }
        let (text, problems) = EnvironmentSubstitution.substitute(scalar.string, references: references, environment: environment)
        for problem in problems {
            error(problem.message, at: position(ofScalarOffset: problem.offset, in: node), hint: problem.hint)
        }
        return problems.isEmpty ? text : nil
    }

    /// A scalar's text as written, with any masked `${…}` restored.
    func original(_ text: String) -> String {
        EnvironmentSubstitution.unmask(text, references: references)
    }

    /// A position inside a one-line scalar; the scalar's start for text spread over lines, whose
    /// columns no longer follow the value's offsets.
    private func position(ofScalarOffset offset: Int, in node: Node) -> SourceLocation {
        guard case .scalar(let scalar) = node else { return location(of: node) }
        switch scalar.style {
        case .plain, .any, .singleQuoted, .doubleQuoted:
            let prefix = scalar.string.unicodeScalars.prefix(offset)
            guard !prefix.contains("\n"), !prefix.contains("\\"), !prefix.contains("'") else { return contentLocation(of: node) }
            return contentLocation(of: node).advanced(columns: offset)
        case .literal, .folded:
            return contentLocation(of: node)
        }
    }
}

/// The fields of one YAML mapping, by name, with their positions.
struct Fields {
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    let node: Node
    /// The mapping's position (its first key for a block mapping, the `{` for a flow one).
    let location: SourceLocation
    let entries: [Entry]
    /// Known fields that an unknown one was reported as a likely misspelling of.
    let misspelled: Set<String>

    init(node: Node, location: SourceLocation, entries: [Entry], misspelled: Set<String> = []) {
        self.node = node
        self.location = location
        self.entries = entries
        self.misspelled = misspelled
    }

    func entry(_ key: String) -> Entry? {
        entries.first { $0.key == key }
    }

    /// The value of `key`; `nil` when the field is absent or written without a value (`field:`,
    /// `field: ~`), so that a section whose items are all commented out reads as absent.
    subscript(key: String) -> Node? {
        guard let value = entry(key)?.value else { return nil }
        if case .scalar(let scalar) = value, scalar.style == .plain || scalar.style == .any,
           ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            return nil
        }
        return value
    }
}
