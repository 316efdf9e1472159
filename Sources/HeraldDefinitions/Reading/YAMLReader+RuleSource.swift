import HeraldCore
import Yams

extension YAMLReader {
    /// An audience expression as text, located at its first character in the file so that an
    /// error inside it is reported where it is written.
    ///
    /// A block scalar (`|` or `>`) loses its leading blank lines, so that the text's first
    /// character is the one at the location.
    func ruleSource(_ node: Node, name: String) -> RuleSource? {
        let expected = "an audience rule such as country == \"KR\" and last_seen_at > now() - 30d"
        guard case .scalar(let scalar) = node, !isNull(node) else {
            wrongType(node, name: name, expected: expected)
            return nil
        }
        var text = scalar.string
        if scalar.style == .literal || scalar.style == .folded {
            text = String(text.drop(while: { $0 == "\n" || $0 == "\r\n" }))
        }
        guard text.contains(where: { !$0.isWhitespace }) else {
            error("empty audience rule for \(name)", at: node, hint: "expected \(expected)")
            return nil
        }
        return RuleSource(text: text, location: contentLocation(of: node))
    }

    /// A name written as `[a-z0-9-]+`, at most 64 characters, as campaign ids and segment names
    /// are.
    static func isSlug(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// Reports a name that is not a slug, pointing at its first bad character and naming it,
    /// since a zero-width space or a Unicode hyphen (`winter‐sale`) looks valid on screen.
    func slugError(_ text: String, node: Node, what: String, example: String) {
        let hint = "use at most 64 lowercase letters, digits and '-', e.g. \(example)"
        guard !text.isEmpty else {
            error("empty \(what)", at: node, hint: hint)
            return
        }
        let allowed: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        guard let offset = text.unicodeScalars.firstIndex(where: { !allowed($0) }).map({ text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: $0) }) else {
            error("\(what) \(quoted(text)) is too long (\(text.count) characters)", at: node, hint: hint)
            return
        }
        let scalar = text.unicodeScalars[text.unicodeScalars.index(text.unicodeScalars.startIndex, offsetBy: offset)]
        var location = contentLocation(of: node)
        if !text.prefix(offset + 1).contains("\n") { location.column += offset }
        let character = scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F
            ? "'\(scalar)'"
            : Self.unicodeName(scalar)
        error("invalid \(what) \(quoted(text)): \(character) is not allowed", at: location, hint: hint)
    }

    /// `U+2010 HYPHEN`.
    static func unicodeName(_ scalar: Unicode.Scalar) -> String {
        let code = Quoted.code(scalar)
        return scalar.properties.name.map { "\(code) \($0)" } ?? code
    }

    /// `restock` for `campaigns/restock.yml`.
    static func stem(of file: String) -> String {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        return name.hasSuffix(".yml") ? String(name.dropLast(4)) : name
    }
}
