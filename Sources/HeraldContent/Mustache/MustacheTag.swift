/// One `{{…}}` tag of a template text and where it starts, for the static checks that
/// swift-mustache's parsed tokens cannot do (they carry no positions).
struct MustacheTag: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// `{{name}}`, HTML-escaped in an HTML body.
        case variable
        /// `{{{name}}}` or `{{&name}}`.
        case unescapedVariable
        /// `{{#name}}`.
        case section
        /// `{{^name}}`.
        case invertedSection
        /// `{{/name}}`.
        case sectionEnd
        /// `{{>name}}`: another template, which Herald does not provide.
        case partial
        /// `{{<name}}…{{/name}}`: a template extending another, which Herald does not provide.
        case parent
        /// `{{$name}}…{{/name}}`: an inheritance block; renders its default content in place.
        case block
        /// Comments, set-delimiter tags and pragmas: no name to check.
        case other
    }

    var kind: Kind
    /// The variable or section name without transforms: `first_name` for `{{uppercased(first_name)}}`.
    var name: String
    /// The tag as written, for messages: `{{> header}}`.
    var source: String
    /// The transforms applied to the name, outermost first, as written: `["uppercased", "date"]`
    /// for `{{uppercased(date(ends_on))}}`. swift-mustache applies them innermost first.
    var transforms: [String]

    /// Whether a transform (`uppercased(…)`) is applied to the name.
    var hasTransforms: Bool { !transforms.isEmpty }
    /// Lines before the tag's opening delimiter in the text.
    var line: Int
    /// Characters before the opening delimiter on its line.
    var column: Int
    /// The characters of the whole tag, delimiters included, as offsets in the text.
    var range: Range<Int>

    /// The first component of a dotted name, which is the one looked up in the context stack;
    /// empty for `.` and for the names of sequence-context transforms (`{{#first()}}`).
    var rootName: Substring {
        let trimmed = name.hasPrefix(".") ? name.dropFirst() : Substring(name)
        return trimmed.split(separator: ".", maxSplits: 1).first ?? ""
    }

    /// Whether the name is looked up in the current context only (`{{.field}}`).
    var isAnchoredToCurrentContext: Bool { name.hasPrefix(".") && name != "." }

    /// Whether the tag opens something that a `{{/name}}` closes.
    var opensScope: Bool { kind == .section || kind == .invertedSection || kind == .block || kind == .parent }
}

/// Finds the tags of a template text with their positions, following swift-mustache's tag
/// syntax (delimiter changes included).
///
/// It is used on texts that compiled, and to describe a compile error; on malformed input it
/// returns the tags found before the malformed one rather than failing.
enum MustacheTagScanner {
    static func tags(in text: String) -> [MustacheTag] {
        let characters = Array(text)
        var tags: [MustacheTag] = []
        var open: [Character] = ["{", "{"]
        var close: [Character] = ["}", "}"]
        var index = 0
        var line = 0
        var column = 0

        func matches(_ delimiter: [Character], at position: Int) -> Bool {
            guard position >= 0, position + delimiter.count <= characters.count else { return false }
            for offset in 0..<delimiter.count where characters[position + offset] != delimiter[offset] {
                return false
            }
            return true
        }
        func find(_ delimiter: [Character], from position: Int) -> Int? {
            var position = position
            while position + delimiter.count <= characters.count {
                if matches(delimiter, at: position) { return position }
                position += 1
            }
            return nil
        }
        func advance(to target: Int) {
            while index < target, index < characters.count {
                if characters[index].isNewline {
                    line += 1
                    column = 0
                } else {
                    column += 1
                }
                index += 1
            }
        }

        while index < characters.count {
            guard matches(open, at: index) else {
                advance(to: index + 1)
                continue
            }
            let start = index
            let startLine = line
            let startColumn = column
            let sigilIndex = start + open.count
            guard sigilIndex < characters.count, let end = find(close, from: sigilIndex) else { break }
            var tagEnd = end + close.count
            let sigil = characters[sigilIndex]
            var kind: MustacheTag.Kind
            var nameStart = sigilIndex + 1
            switch sigil {
            case "#": kind = .section
            case "^": kind = .invertedSection
            case "/": kind = .sectionEnd
            case "{":
                kind = .unescapedVariable
                if tagEnd < characters.count, characters[tagEnd] == "}" { tagEnd += 1 }
            case "&": kind = .unescapedVariable
            case ">": kind = .partial
            case "<": kind = .parent
            case "$": kind = .block
            case "=":
                kind = .other
                // `{{=<% %>=}}`: the new delimiters apply from the next tag on.
                let body = String(characters[min(nameStart, end)..<end]).trimmingSuffix("=")
                let parts = body.split(whereSeparator: \.isWhitespace)
                if parts.count == 2 {
                    open = Array(parts[0])
                    close = Array(parts[1])
                }
            case "!", "%": kind = .other
            default:
                kind = .variable
                nameStart = sigilIndex
            }
            let rawName = String(characters[min(nameStart, end)..<end]).trimmingWhitespace()
            let (name, transforms) = Self.splitTransforms(rawName)
            tags.append(
                MustacheTag(
                    kind: kind,
                    name: name,
                    source: String(characters[start..<min(tagEnd, characters.count)]),
                    transforms: transforms,
                    line: startLine,
                    column: startColumn,
                    range: start..<min(tagEnd, characters.count)
                )
            )
            advance(to: tagEnd)
        }
        return tags
    }

    /// `uppercased(date(ends_on))` → (`ends_on`, [`uppercased`, `date`]); the innermost argument
    /// is the variable.
    private static func splitTransforms(_ name: String) -> (String, [String]) {
        guard name.contains("(") else { return (name, []) }
        let parts = name.split(separator: "(", omittingEmptySubsequences: false)
        let argument = parts.last?.prefix { $0 != ")" } ?? ""
        return (String(argument), parts.dropLast().map(String.init))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? start
        return start < end ? String(self[start..<end]) : ""
    }

    func trimmingSuffix(_ suffix: String) -> String {
        let trimmed = trimmingWhitespace()
        return trimmed.hasSuffix(suffix) ? String(trimmed.dropLast(suffix.count)) : trimmed
    }
}
