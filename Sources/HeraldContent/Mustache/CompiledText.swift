import HeraldCore
import Mustache

/// How a compiled text treats variable values.
enum Escaping: Sendable, Hashable {
    /// `{{x}}` is HTML-escaped and `{{{x}}}` is not: email HTML bodies.
    case html
    /// Nothing is escaped: push, SMS, email subjects and text bodies.
    case none
}

/// One template field compiled once, with what rendering needs to report missing variables.
struct CompiledText: Sendable {
    /// `push.body`, `email.html`, `push.data.sku`.
    var field: String
    var template: MustacheTemplate
    /// The variables used outside every section, checked against each recipient's values so
    /// that a missing one is reported; names inside sections may be fields of the section's items.
    var topLevelPaths: [VariablePath]
    /// Whether the text uses the built-in `link`, which needs the push url rendered first.
    var usesLink: Bool
    /// For a text of only literal text and plain variables (each with at most one formatting
    /// helper), which is most of them: the pieces whose concatenation is what swift-mustache
    /// outputs, rendered without its per-variable dynamic lookups. nil when the text uses anything
    /// else (sections, other transforms, comments, delimiter changes…), which swift-mustache
    /// renders.
    private var segments: [Segment]?

    enum Segment: Sendable {
        case text(String)
        case variable(VariablePath, isEscaped: Bool, helper: FormattingHelper?)
    }

    /// Compiles a field of a template file.
    ///
    /// Line endings are normalized to `\n` before compiling, so that positions and output are the
    /// same for files saved with CRLF.
    ///
    /// - Throws: a diagnostic at the file position of the problem, with Mustache's reason.
    init(_ text: TemplateText, field: String, escaping: Escaping) throws(Diagnostic) {
        let source = text.text.normalizingLineEndings()
        // swift-mustache parses nested sections recursively: a deep enough nest would overflow
        // the stack, so it is refused before the text reaches the parser.
        var depth = 0
        for tag in MustacheTagScanner.tags(in: source) {
            if tag.opensScope {
                depth += 1
                if depth > Self.maximumNesting {
                    throw Diagnostic(
                        "sections nest too deeply in \(field)",
                        at: text.location.advanced(lines: tag.line, columns: tag.column),
                        hint: "at most \(Self.maximumNesting) sections inside one another"
                    )
                }
            } else if tag.kind == .sectionEnd {
                depth = max(0, depth - 1)
            }
        }
        let template: MustacheTemplate
        do {
            switch escaping {
            case .html:
                template = try MustacheTemplate(string: source)
            case .none:
                // swift-mustache escapes HTML unless a pragma says otherwise. The pragma stands
                // alone on its own line, so the parser drops that line and reads the text exactly
                // as if it were alone (standalone tags on the first line stay standalone).
                template = try MustacheTemplate(string: Self.textPragma + source)
            }
        } catch {
            throw Self.diagnostic(for: error, in: text, source: source, field: field, linesAdded: escaping == .none ? 1 : 0)
        }
        let tags = MustacheTagScanner.tags(in: source)
        self.field = field
        self.template = template
        self.topLevelPaths = Self.topLevelNames(in: tags).map(VariablePath.init)
        self.usesLink = tags.contains { $0.kind != .other && $0.rootName == BuiltInVariable.link.name }
        self.segments = Self.segments(of: source, tags: tags, escaping: escaping)
    }

    static let textPragma = "{{%CONTENT_TYPE:TEXT}}\n"

    /// The deepest nest of sections, inverted sections and blocks a text may have.
    static let maximumNesting = 32

    /// Renders the text for one recipient.
    func render(_ scope: RenderScope) -> String {
        guard let segments else { return template.render(scope) }
        var output = ""
        for segment in segments {
            switch segment {
            case .text(let text):
                output += text
            case .variable(let path, let isEscaped, let helper):
                let text = if let helper { scope.text(at: path, formattedWith: helper) } else { scope.text(at: path) }
                guard let value = text else { continue }
                if isEscaped {
                    HTMLEscaping.append(value, to: &output)
                } else {
                    output += value
                }
            }
        }
        return output
    }

    /// The top-level names this text uses that `scope` has no value for, in order of use.
    func missingNames(in scope: RenderScope) -> [String] {
        var missing: [String] = []
        for path in topLevelPaths where !scope.hasValue(at: path) {
            missing.append(path.name)
        }
        return missing
    }

    private static func segments(of source: String, tags: [MustacheTag], escaping: Escaping) -> [Segment]? {
        let isPlain = tags.allSatisfy { tag in
            (tag.kind == .variable || tag.kind == .unescapedVariable) && !tag.rootName.isEmpty
                && (tag.transforms.isEmpty || (tag.transforms.count == 1 && FormattingHelper.byName[tag.transforms[0]] != nil))
        }
        guard isPlain else { return nil }
        let characters = Array(source)
        var segments: [Segment] = []
        var position = 0
        for tag in tags {
            guard tag.range.lowerBound >= position, tag.range.upperBound <= characters.count else { return nil }
            if tag.range.lowerBound > position {
                segments.append(.text(String(characters[position..<tag.range.lowerBound])))
            }
            let name = tag.name.hasPrefix(".") ? String(tag.name.dropFirst()) : tag.name
            let helper = tag.transforms.first.flatMap { FormattingHelper.byName[$0] }
            segments.append(.variable(VariablePath(name), isEscaped: escaping == .html && tag.kind == .variable, helper: helper))
            position = tag.range.upperBound
        }
        if position < characters.count {
            segments.append(.text(String(characters[position...])))
        }
        return segments
    }

    private static func topLevelNames(in tags: [MustacheTag]) -> [String] {
        // For each open scope, whether it changes the context (a section); a block renders its
        // content in place.
        var scopes: [Bool] = []
        var names: [String] = []
        for tag in tags {
            if tag.opensScope {
                scopes.append(tag.kind == .section || tag.kind == .invertedSection)
                continue
            }
            switch tag.kind {
            case .sectionEnd:
                _ = scopes.popLast()
            case .variable, .unescapedVariable:
                let name = tag.name.hasPrefix(".") ? String(tag.name.dropFirst()) : tag.name
                if !scopes.contains(true), !name.isEmpty, !names.contains(name) {
                    names.append(name)
                }
            default:
                break
            }
        }
        return names
    }

    /// Places a swift-mustache parse error at its position in the file and words its reason.
    private static func diagnostic(for error: any Error, in text: TemplateText, source: String, field: String, linesAdded: Int) -> Diagnostic {
        var line = 0
        var column = 0
        var reason = "\(error)"
        var hint: String?
        if let parserError = error as? MustacheTemplate.ParserError {
            line = max(0, parserError.context.lineNumber - 1 - linesAdded)
            column = max(0, parserError.context.columnNumber - 1)
            (reason, hint) = Self.reason(for: parserError.error)
            if let mustacheError = parserError.error as? MustacheTemplate.Error {
                let (openSection, lastTag) = Self.openSection(in: source, before: (line, column))
                switch mustacheError {
                case .expectedSectionEnd:
                    // Mustache stops at the end of the text; the unclosed tag is what to fix.
                    if let openSection {
                        (line, column) = (openSection.line, openSection.column)
                        reason = "section '\(openSection.name)' is never closed"
                        hint = "expected '{{/\(openSection.name)}}'"
                    }
                case .sectionCloseNameIncorrect:
                    // Mustache points at the name; the tag is what the user looks for.
                    if let lastTag, lastTag.kind == .sectionEnd {
                        (line, column) = (lastTag.line, lastTag.column)
                        if let openSection {
                            reason = "'\(lastTag.source)' does not close the open section '\(openSection.name)'"
                            hint = "expected '{{/\(openSection.name)}}'"
                        } else {
                            reason = "'\(lastTag.source)' closes a section that is not open"
                        }
                    }
                default:
                    // Mustache stops inside or after the bad tag; point at the tag's start.
                    if let tagStart = Self.tagStart(in: source, before: (line, column)) {
                        (line, column) = tagStart
                    }
                }
            } else if let tagStart = Self.tagStart(in: source, before: (line, column)) {
                (line, column) = tagStart
            }
        }
        return Diagnostic(
            "invalid Mustache in \(field): \(reason)",
            at: text.location(ofLine: line, column: column),
            hint: hint
        )
    }

    private static func reason(for error: any Error) -> (String, String?) {
        guard let error = error as? MustacheTemplate.Error else {
            // swift-mustache's reader reports running off the end of the text as `overflow`.
            return ("a tag is not closed", "expected '}}'")
        }
        switch error {
        case .sectionCloseNameIncorrect:
            return ("the closing tag does not match the open section", nil)
        case .unfinishedName:
            return ("badly formed tag", "a name is letters, digits, '_', '-' or '.', closed by '}}'")
        case .expectedSectionEnd:
            return ("a section is never closed", nil)
        case .invalidSetDelimiter:
            return ("badly formed set-delimiter tag", "e.g. '{{=<% %>=}}'")
        case .transformAppliedToInheritanceSection:
            return ("a transform cannot be applied to an inheritance block", nil)
        case .illegalTokenInsideInheritSection:
            return ("only '{{$block}}' tags may appear inside a '{{<parent}}' section", nil)
        case .textInsideInheritSection:
            return ("text is not allowed inside a '{{<parent}}' section", nil)
        case .invalidConfigVariableSyntax:
            return ("badly formed pragma", "e.g. '{{% CONTENT_TYPE: TEXT}}'")
        case .unrecognisedConfigVariable:
            return ("unknown pragma", "expected 'CONTENT_TYPE: TEXT' or 'CONTENT_TYPE: HTML'")
        }
    }

    /// Where the tag around a position starts: the last `{{` on its line before it.
    private static func tagStart(in source: String, before position: (line: Int, column: Int)) -> (Int, Int)? {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard position.line < lines.count else { return nil }
        let prefix = Array(lines[position.line].prefix(position.column + 1))
        var index = prefix.count - 2
        while index >= 0 {
            if prefix[index] == "{", prefix[index + 1] == "{" {
                // `{{{` opens a triple mustache at its first brace.
                while index > 0, prefix[index - 1] == "{" { index -= 1 }
                return (position.line, index)
            }
            index -= 1
        }
        return nil
    }

    /// The innermost section opened before a position and not closed before it, and the last tag
    /// that starts before the position.
    private static func openSection(in source: String, before position: (Int, Int)) -> (open: MustacheTag?, last: MustacheTag?) {
        var open: [MustacheTag] = []
        var last: MustacheTag?
        for tag in MustacheTagScanner.tags(in: source) {
            if (tag.line, tag.column) >= position { break }
            last = tag
            switch tag.kind {
            case .section, .invertedSection, .block, .parent:
                open.append(tag)
            case .sectionEnd:
                if open.last?.name == tag.name { open.removeLast() }
            default:
                break
            }
        }
        return (open.last, last)
    }
}

/// A variable name split at its dots once, at compile time.
struct VariablePath: Sendable, Hashable {
    /// As written: `order.id`.
    var name: String
    var components: [String]

    init(_ name: String) {
        self.name = name
        self.components = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }
}

/// The HTML escaping swift-mustache applies to `{{x}}` in an HTML body: `<`, `>`, `&`, `"`, `'`.
enum HTMLEscaping {
    static func append(_ text: String, to output: inout String) {
        let needsEscaping = text.utf8.contains { byte in
            byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        }
        guard needsEscaping else {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "&": output += "&amp;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.unicodeScalars.append(scalar)
            }
        }
    }
}

extension TemplateText {
    /// The file position of a place inside the text, given as lines and characters from the
    /// text's start.
    ///
    /// Later lines keep the first line's column as their indentation: a body file starts at
    /// column 1, and the lines of a YAML block scalar are indented like its first line.
    func location(ofLine line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: location.file, line: location.line + line, column: location.column + column)
    }
}

extension String {
    func normalizingLineEndings() -> String {
        guard contains("\r\n") else { return self }
        return String(map { $0 == "\r\n" ? "\n" : $0 })
    }
}
