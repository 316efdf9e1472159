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

    /// `restock` for `campaigns/restock.yml`.
    static func stem(of file: String) -> String {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        return name.hasSuffix(".yml") ? String(name.dropLast(4)) : name
    }
}
