import HeraldCore

/// Turns offsets inside an expression into positions in the file the expression came from.
struct SourceMap: Sendable {
    let source: RuleSource
    /// Offsets (in Unicode scalars) where each line of the expression starts.
    private let lineStarts: [Int]

    init(_ source: RuleSource) {
        self.source = source
        var starts = [0]
        for (offset, scalar) in source.text.unicodeScalars.enumerated() where scalar == "\n" {
            starts.append(offset + 1)
        }
        lineStarts = starts
    }

    /// The file position of the scalar at `offset` in the expression.
    func location(at offset: Int) -> SourceLocation {
        // The last line start that is not after the offset.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return source.location.advanced(lines: low, columns: offset - lineStarts[low])
    }

    func diagnostic(_ message: String, at offset: Int, hint: String? = nil) -> Diagnostic {
        Diagnostic(message, at: location(at: offset), hint: hint)
    }
}
