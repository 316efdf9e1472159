/// A position in a workspace file, 1-based, as editors and compilers print it.
///
/// `file` is the path relative to the workspace root (`campaigns/restock.yml`), so that an error
/// reads the same on every machine and in CI logs.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `campaigns/restock.yml:12:5`
    public var description: String { "\(file):\(line):\(column)" }

    /// The location `lines` lines down and `columns` characters to the right of this one.
    ///
    /// Used to place an error found inside an embedded text (an audience expression, a Mustache
    /// template) at its position in the file. Every line of such a text starts at the text's
    /// own column: a body file starts at column 1, and each line of a YAML literal block (`|`)
    /// starts at the block's indentation, which YAML removes from the text.
    public func advanced(lines: Int = 0, columns: Int) -> SourceLocation {
        SourceLocation(file: file, line: line + lines, column: column + columns)
    }
}
