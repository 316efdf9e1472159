/// One problem found in a workspace file, an import row or a request: where, what, and what
/// would be valid.
///
/// Its description is the one line a user sees:
/// `campaigns/x.yml:12:5: unknown field 'chanels' (did you mean 'channels'?)`.
public struct Diagnostic: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    /// Where the problem is; `nil` for a problem with no file position (a missing directory).
    public var location: SourceLocation?
    /// What is wrong, as a sentence fragment without a trailing period.
    public var message: String
    /// What would be valid, or a did-you-mean suggestion; printed in parentheses.
    public var hint: String?
    public var severity: Severity

    public init(_ message: String, at location: SourceLocation?, hint: String? = nil, severity: Severity = .error) {
        self.location = location
        self.message = message
        self.hint = hint
        self.severity = severity
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        if severity == .warning { text += "warning: " }
        text += message
        if let hint { text += " (\(hint))" }
        return text
    }
}

/// Several diagnostics thrown together, so that a caller reports every problem and not just the
/// first.
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
