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

    /// The location `columns` characters to the right on the same line, and `lines` lines down
    /// (in which case `columns` is counted from the first column).
    ///
    /// Used to place an error found inside an embedded text (an audience expression, a Mustache
    /// template) at its position in the file.
    public func advanced(lines: Int = 0, columns: Int) -> SourceLocation {
        if lines == 0 {
            return SourceLocation(file: file, line: line, column: column + columns)
        }
        return SourceLocation(file: file, line: line + lines, column: 1 + columns)
    }
}
