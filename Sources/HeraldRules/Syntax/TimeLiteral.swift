import HeraldCore

/// The time literals of the language: ISO 8601 dates and instants, read by the one parser Herald
/// has for them (`ISO8601.seconds(from:)`), so that a literal in a rule and a time in an import
/// file mean the same instant.
enum TimeLiteral {
    static let expectedForm = ISO8601.expectedForm

    /// Seconds since 1970-01-01T00:00:00Z, or the hint that says what is wrong.
    static func parse(_ text: String) -> Result<Double, ISO8601.Problem> {
        ISO8601.seconds(from: text)
    }
}
