/// One row of a user import file: the user it describes, or why it was rejected.
///
/// A rejected row is skipped and the rest of the file goes on; each of its problems reads
/// `users.csv:7:3: invalid phone '+0123' (expected E.164, e.g. +821012345678)`.
public struct ImportRow: Sendable {
    /// The 1-based line the row starts on (a CSV record with quoted newlines spans several).
    public var line: Int
    /// The user, or every problem that made the row unusable.
    public var result: Result<User, RejectedRow>

    /// Creates a row.
    public init(line: Int, result: Result<User, RejectedRow>) {
        self.line = line
        self.result = result
    }
}

/// Why a row was rejected: every problem found in it, in the order of its fields, so that a row
/// with four bad fields is fixed in one go.
public struct RejectedRow: Error, Sendable, Hashable {
    /// At least one.
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }

    public init(_ diagnostic: Diagnostic) {
        diagnostics = [diagnostic]
    }
}
