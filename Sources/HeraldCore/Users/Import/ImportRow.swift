/// One row of a user import file: the user it describes, or why it was rejected.
///
/// A rejected row is skipped and the rest of the file goes on; its `Diagnostic` reads
/// `users.csv:7:3: invalid phone '+0123' (expected E.164, e.g. +821012345678)`.
public struct ImportRow: Sendable {
    /// The 1-based line the row starts on (a CSV record with quoted newlines spans several).
    public var line: Int
    /// The user, or the problem that made the row unusable.
    public var result: Result<User, Diagnostic>

    /// Creates a row.
    public init(line: Int, result: Result<User, Diagnostic>) {
        self.line = line
        self.result = result
    }
}
