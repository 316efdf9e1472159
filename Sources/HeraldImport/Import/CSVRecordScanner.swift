import HeraldCore

/// One CSV record as raw bytes: the content of every field (quotes removed, `""` unescaped),
/// laid end to end, and where each field ends.
struct CSVRecord {
    enum Problem: Equatable {
        /// The record is longer than `UserImportReader.maximumRowLength`; its bytes were dropped.
        case tooLong
        /// A `"` inside a field that does not start with one (1-based field number).
        case bareQuote(field: Int)
        /// Text between a closing `"` and the next separator.
        case textAfterQuote(field: Int)
        /// The file ended inside a quoted field.
        case unterminatedQuote(field: Int)
    }

    /// The physical line the record starts on.
    var line: Int
    var bytes: [UInt8] = []
    var fieldEnds: [Int] = []
    var problem: Problem?

    var fieldCount: Int { fieldEnds.count }

    /// The bytes of the field at `index` (0-based).
    func field(_ index: Int) -> ArraySlice<UInt8> {
        let start = index == 0 ? 0 : fieldEnds[index - 1]
        return bytes[start..<fieldEnds[index]]
    }
}

/// Splits a byte stream into RFC 4180 records, one at a time, in bounded memory.
///
/// Records end at LF, CRLF or a lone CR outside quotes; inside quotes those bytes are field
/// content. Blank lines are skipped. A record longer than the row limit is returned as `.tooLong`
/// without its bytes, and scanning resumes after the physical line where the limit was crossed,
/// so one runaway row (a 10 MB line, a quote that never closes) costs one error, not the file.
struct CSVRecordScanner {
    private enum State {
        case fieldStart
        case unquoted
        case quoted
        /// A `"` inside a quoted field: either the first half of `""` or the closing quote.
        case quoteInQuoted
        /// Past the row limit: dropping bytes up to the next line break.
        case skipping
    }

    private static let comma = UInt8(ascii: ",")
    private static let quote = UInt8(ascii: "\"")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    let limit: Int
    /// The physical line of the next unread byte.
    private(set) var line = 1
    /// Whether the last byte read was a CR, so that the LF of a CRLF pair neither counts as a
    /// second line break nor starts an empty record.
    private var previousWasCarriageReturn = false

    init(limit: Int) {
        self.limit = limit
    }

    /// The next non-blank record, or `nil` at the end of the file.
    mutating func next(from reader: ImportByteReader) throws(Diagnostic) -> CSVRecord? {
        var record = CSVRecord(line: line)
        var state = State.fieldStart
        var rawCount = 0
        var hasContent = false

        while true {
            guard try reader.fill() else {
                guard hasContent else { return nil }
                switch state {
                case .skipping:
                    break
                case .quoted:
                    record.problem = record.problem ?? .unterminatedQuote(field: record.fieldEnds.count + 1)
                    record.fieldEnds.append(record.bytes.count)
                default:
                    record.fieldEnds.append(record.bytes.count)
                }
                return record
            }

            if state == .skipping {
                if skipToLineBreak(in: reader) { continue }
            }

            let byte = reader.buffer[reader.position]
            reader.position += 1
            let isLineBreak = byte == Self.lineFeed || byte == Self.carriageReturn
            if byte == Self.lineFeed {
                let isSecondHalfOfCRLF = previousWasCarriageReturn
                previousWasCarriageReturn = false
                if isSecondHalfOfCRLF {
                    // The CR ended the previous record, or it is content of a quoted field and so is this LF.
                    if state != .quoted { continue }
                } else {
                    line += 1
                }
            } else if byte == Self.carriageReturn {
                line += 1
                previousWasCarriageReturn = true
            } else {
                previousWasCarriageReturn = false
            }

            if !hasContent {
                if isLineBreak { continue }
                hasContent = true
                record.line = line
            }

            if !isLineBreak || state == .quoted {
                rawCount += 1
                if rawCount > limit, state != .skipping {
                    record.problem = .tooLong
                    record.bytes = []
                    record.fieldEnds = []
                    state = .skipping
                }
            }

            switch state {
            case .fieldStart:
                if byte == Self.quote {
                    state = .quoted
                } else if byte == Self.comma {
                    record.fieldEnds.append(record.bytes.count)
                } else if isLineBreak {
                    record.fieldEnds.append(record.bytes.count)
                    return record
                } else {
                    record.bytes.append(byte)
                    state = .unquoted
                }
            case .unquoted:
                if byte == Self.comma {
                    record.fieldEnds.append(record.bytes.count)
                    state = .fieldStart
                } else if isLineBreak {
                    record.fieldEnds.append(record.bytes.count)
                    return record
                } else {
                    if byte == Self.quote, record.problem == nil {
                        record.problem = .bareQuote(field: record.fieldEnds.count + 1)
                    }
                    record.bytes.append(byte)
                }
            case .quoted:
                if byte == Self.quote {
                    state = .quoteInQuoted
                } else {
                    record.bytes.append(byte)
                }
            case .quoteInQuoted:
                if byte == Self.quote {
                    record.bytes.append(byte)
                    state = .quoted
                } else if byte == Self.comma {
                    record.fieldEnds.append(record.bytes.count)
                    state = .fieldStart
                } else if isLineBreak {
                    record.fieldEnds.append(record.bytes.count)
                    return record
                } else {
                    if record.problem == nil {
                        record.problem = .textAfterQuote(field: record.fieldEnds.count + 1)
                    }
                    record.bytes.append(byte)
                    state = .unquoted
                }
            case .skipping:
                if isLineBreak { return record }
            }
        }
    }

    /// Drops bytes of the current chunk up to (not including) the next line break. Returns true
    /// when the chunk ran out first, so the caller reads the next one; this keeps a 10 MB line
    /// from being looked at one loop iteration per byte.
    private mutating func skipToLineBreak(in reader: ImportByteReader) -> Bool {
        let end = reader.buffer.withUnsafeBufferPointer { buffer -> Int in
            var index = reader.position
            while index < buffer.count, buffer[index] != Self.lineFeed, buffer[index] != Self.carriageReturn {
                index += 1
            }
            return index
        }
        if end > reader.position { previousWasCarriageReturn = false }
        reader.position = end
        return end == reader.buffer.count
    }
}
