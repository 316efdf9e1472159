import HeraldCore

/// Splits a byte stream into LF-terminated lines (a CR before the LF is dropped), in bounded
/// memory: a line longer than the limit is skipped to its end and returned without its bytes.
struct ImportLineScanner {
    struct Line {
        /// The 1-based line number.
        var number: Int
        /// The content without the line break; empty when `isTooLong`.
        var bytes: [UInt8]
        var isTooLong: Bool
    }

    let limit: Int
    private var nextLineNumber = 1

    init(limit: Int) {
        self.limit = limit
    }

    /// The next line, or `nil` at the end of the file.
    mutating func next(from reader: ImportByteReader) throws(Diagnostic) -> Line? {
        var line = Line(number: nextLineNumber, bytes: [], isTooLong: false)
        var sawAnything = false
        while try reader.fill() {
            sawAnything = true
            let start = reader.position
            let (end, foundLineFeed) = reader.buffer.withUnsafeBufferPointer { buffer -> (Int, Bool) in
                var index = start
                while index < buffer.count {
                    if buffer[index] == UInt8(ascii: "\n") { return (index, true) }
                    index += 1
                }
                return (index, false)
            }
            if !line.isTooLong {
                if line.bytes.count + (end - start) > limit + 1 {
                    // One byte of slack for the CR of a CRLF line, removed below.
                    line.isTooLong = true
                    line.bytes = []
                } else {
                    line.bytes.append(contentsOf: reader.buffer[start..<end])
                }
            }
            reader.position = foundLineFeed ? end + 1 : end
            if foundLineFeed { break }
        }
        guard sawAnything else { return nil }
        nextLineNumber += 1
        if line.bytes.last == UInt8(ascii: "\r") { line.bytes.removeLast() }
        if line.bytes.count > limit {
            line.isTooLong = true
            line.bytes = []
        }
        return line
    }
}
