import HeraldCore

/// Reads a user import file (CSV or JSON Lines) a batch of rows at a time, in bounded memory.
///
/// ```swift
/// var reader = try UserImportReader(path: "users.csv", schema: configuration.attributes)
/// while case let rows = try reader.next(maxCount: 1000), !rows.isEmpty {
///     for row in rows {
///         switch row.result {
///         case .success(let user): batch.append(user)
///         case .failure(let rejected): report(rejected.diagnostics)   // users.csv:7:3: invalid phone '+0123' (…)
///         }
///     }
/// }
/// ```
///
/// Problems with the file as a whole (it cannot be read, a CSV header names an unknown column or
/// no `id` column) are thrown by `init`, before any row is read, so nothing is half-imported.
/// Problems with one row are that row's `ImportRow.result`; the rows after it are read as usual.
///
/// - CSV follows RFC 4180: quoted fields, `""` inside quotes, commas and line breaks inside
///   quotes (the row is reported at the line it starts on), LF or CRLF, an optional UTF-8 BOM.
///   An empty cell is an absent value; a list attribute separates items with `;`. The column of
///   a CSV diagnostic is the 1-based number of the field.
/// - JSON Lines has one object per line; blank lines are skipped. The column of a JSON Lines
///   diagnostic is the character column of the offending key or value.
/// - A row longer than `maximumRowLength` bytes is reported as one bad row and skipped to the end
///   of its line; at most one chunk and one row are in memory at any time.
/// - An id that an earlier accepted row of the file already used is reported as an error with
///   both lines, and the first row is kept: an import means one thing, and importing the same
///   file again changes nothing. The ids seen are kept in memory (about 50 bytes each).
/// - Free text is at most 1,000 characters (`UserFieldRules.maximumTextLength`) and a list at
///   most 1,000 items, so that no audience rule can be made slow by one huge value.
///
/// The reader owns the open file and closes it when it is destroyed; it cannot be copied, so
/// two copies can never interleave reads of one file.
public struct UserImportReader: ~Copyable {
    /// The two import formats.
    public enum Format: Sendable, Hashable {
        /// Comma-separated values with a header row.
        case csv
        /// One JSON object per line (also called NDJSON).
        case jsonLines
    }

    /// The longest row accepted, in bytes: 1 MiB. Longer rows are reported and skipped.
    public static let maximumRowLength = UserFieldRules.maximumRowLength

    /// The path as given, which is also the file name in diagnostics.
    public let path: String
    /// The format, as given, from the extension, or sniffed from the first byte.
    public let format: Format

    private let reader: ImportByteReader
    private var csvScanner: CSVRecordScanner
    private var csvDecoder: CSVUserDecoder?
    private var lineScanner: ImportLineScanner
    private var jsonDecoder: JSONLinesUserDecoder
    /// The line of the row that first used each id.
    private var firstLines: [String: Int] = [:]

    /// Opens `path` and, for CSV, reads and checks the header.
    ///
    /// - Parameters:
    ///   - path: The file; diagnostics name it exactly as given.
    ///   - schema: The declared attributes (herald.yml `attributes:`) that columns and
    ///     `attributes` keys are checked against.
    ///   - preferenceKeys: The preference keys the workspace knows; `nil` checks their shape only.
    ///   - format: The format; when `nil`, `.csv` files are CSV, `.jsonl`, `.ndjson` and `.json`
    ///     files are JSON Lines, and any other file is JSON Lines when its first character is
    ///     `{` and CSV otherwise.
    /// - Throws: A `Diagnostic` when the file cannot be read, is a JSON array rather than JSON
    ///   Lines, or has a CSV header that is empty, names an unknown or duplicate column, or lacks
    ///   `id`.
    public init(path: String, schema: AttributeSchema, preferenceKeys: PreferenceVocabulary? = nil, format: Format? = nil) throws(Diagnostic) {
        // Everything fallible runs on locals first: a non-copyable value cannot be left
        // partially initialized by a throw.
        let reader = try ImportByteReader(path: path)
        try reader.skipByteOrderMark()
        let head = try reader.peek(4096)
        let firstSignificant = head.firstIndex { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        let resolved = format ?? Self.format(forPath: path) ?? {
            if let firstSignificant, head[firstSignificant] == UInt8(ascii: "{") { return .jsonLines }
            return .csv
        }()

        var csvScanner = CSVRecordScanner(limit: Self.maximumRowLength)
        var csvDecoder: CSVUserDecoder?
        switch resolved {
        case .jsonLines:
            if let firstSignificant, head[firstSignificant] == UInt8(ascii: "[") {
                let line = 1 + head[..<firstSignificant].filter { $0 == UInt8(ascii: "\n") }.count
                throw Diagnostic(
                    "a JSON array is not JSON Lines", at: SourceLocation(file: path, line: line, column: 1),
                    hint: "write one user object per line"
                )
            }
        case .csv:
            guard let header = try csvScanner.next(from: reader) else {
                throw Diagnostic(
                    "empty file", at: SourceLocation(file: path, line: 1, column: 1),
                    hint: "expected a header row, e.g. id,email,phone"
                )
            }
            csvDecoder = try CSVUserDecoder(header: header, file: path, schema: schema)
        }

        self.path = path
        self.format = resolved
        self.reader = reader
        self.csvScanner = csvScanner
        self.csvDecoder = csvDecoder
        self.lineScanner = ImportLineScanner(limit: Self.maximumRowLength)
        self.jsonDecoder = JSONLinesUserDecoder(file: path, schema: schema, preferenceKeys: preferenceKeys)
    }

    /// The format an extension implies, if any.
    static func format(forPath path: String) -> Format? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "csv": return .csv
        case "jsonl", "ndjson", "json": return .jsonLines
        default: return nil
        }
    }

    /// The next rows of the file, at most `maxCount` of them; an empty array at the end.
    ///
    /// Blank lines are not rows. Each call reads only as far into the file as the rows it
    /// returns, so a caller that writes each batch before asking for the next keeps memory flat.
    ///
    /// - Throws: A `Diagnostic` when reading the file fails midway (an I/O error, not bad content).
    public mutating func next(maxCount: Int) throws(Diagnostic) -> [ImportRow] {
        var rows: [ImportRow] = []
        guard maxCount > 0 else { return rows }
        rows.reserveCapacity(min(maxCount, 4096))
        while rows.count < maxCount {
            if csvDecoder != nil {
                guard let record = try csvScanner.next(from: reader) else { break }
                if let row = csvDecoder?.decode(record) { rows.append(checkedForDuplicate(row)) }
            } else {
                guard let line = try lineScanner.next(from: reader) else { break }
                if line.isTooLong {
                    rows.append(jsonDecoder.tooLong(line: line.number))
                    continue
                }
                if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                rows.append(checkedForDuplicate(jsonDecoder.decode(line: line.number, bytes: line.bytes)))
            }
        }
        return rows
    }

    /// The row, or a rejection when an earlier accepted row of the file has its id.
    private mutating func checkedForDuplicate(_ row: ImportRow) -> ImportRow {
        guard case .success(let user) = row.result else { return row }
        if let first = firstLines[user.id] {
            return ImportRow(line: row.line, result: .failure(RejectedRow(Diagnostic(
                "duplicate id \(UserFieldRules.quoted(user.id)), first on line \(first)",
                at: SourceLocation(file: path, line: row.line, column: 1),
                hint: "the row of line \(first) is kept; give each user one row"
            ))))
        }
        firstLines[user.id] = row.line
        return row
    }
}
