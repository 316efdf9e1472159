import HeraldCore
import Yams

/// Reads one `segments/<name>.yml`: `{segment: name, where: expression, description: …}`.
///
/// The expression is kept as text with its file position; the rules module type-checks it.
public struct SegmentParser: Sendable {
    /// The fields a segment file may have.
    public static let fields = WorkspaceSchema.segment.names

    /// A parser; it holds no state, so one can parse any number of files.
    public init() {}

    /// Parses the text of a segment file.
    ///
    /// - Parameter file: the path relative to the workspace root (`segments/wishlisters.yml`);
    ///   `segment:` must equal its name.
    /// - Returns: the segment, `nil` when any error was found, and every problem found.
    public func parse(text: String, file: String) -> (segment: Segment?, diagnostics: [Diagnostic]) {
        let reader = YAMLReader(file: file, text: text)
        let segment = reader.root(expected: "a segment such as {segment: wishlisters, where: …}", known: Self.fields)
            .flatMap { decode($0, reader: reader) }
        return (reader.hasErrors ? nil : segment, reader.sortedDiagnostics)
    }

    private func decode(_ fields: Fields, reader: YAMLReader) -> Segment? {
        let stem = YAMLReader.stem(of: reader.file)
        let name = reader.required(fields, "segment", expected: "the segment's name, equal to the file name: segment: \(stem)")
            .flatMap { node -> String? in
                guard let name = reader.text(node, name: "'segment'", expected: "the segment's name") else { return nil }
                guard YAMLReader.isSlug(name) else {
                    reader.slugError(name, node: node, what: "segment name", example: "wishlisters")
                    return nil
                }
                guard name == stem else {
                    reader.error(
                        "segment name '\(name)' does not match the file name '\(stem).yml'", at: node,
                        hint: "rename the file to segments/\(name).yml, or write segment: \(stem)"
                    )
                    return nil
                }
                return name
            }
        if let node = fields["description"] {
            _ = reader.text(node, name: "'description'", expected: "a sentence describing who is in the segment")
        }
        let rule = reader.required(fields, "where", expected: "an audience rule such as country == \"KR\"")
            .flatMap { reader.ruleSource($0, name: "'where'") }
        guard let name, let rule else { return nil }
        return Segment(name: name, rule: rule, file: reader.file)
    }
}
