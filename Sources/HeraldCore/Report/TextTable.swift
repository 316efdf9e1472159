/// A table for a terminal: aligned columns when they fit the width, otherwise one block per
/// row with a line per column, so that nothing wraps into an unreadable mess.
///
/// ```swift
/// let table = TextTable(columns: [.init("campaign"), .init("sent", alignment: .right)], rows: [["winter-sale", "1,917"]])
/// let text = table.render(width: 80)
/// // campaign     sent
/// // winter-sale  1,917
/// ```
public struct TextTable: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        public enum Alignment: Sendable, Hashable {
            case left, right
        }

        public var title: String
        public var alignment: Alignment

        public init(_ title: String, alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    public var columns: [Column]
    public var rows: [[String]]
    /// How many leading columns name a row in the vertical layout (its heading line).
    public var keyColumns: Int

    public init(columns: [Column], rows: [[String]], keyColumns: Int = 1) {
        self.columns = columns
        self.rows = rows
        self.keyColumns = keyColumns
    }

    /// The table in at most `width` columns of text (`nil`: no limit).
    public func render(width: Int?) -> String {
        let horizontal = renderHorizontal()
        guard let width, horizontal.split(separator: "\n").contains(where: { Self.displayWidth($0) > width }) else { return horizontal }
        return renderVertical()
    }

    func renderHorizontal() -> String {
        let all = [columns.map(\.title)] + rows
        let widths = columns.indices.map { column in all.map { Self.displayWidth($0[column]) }.max() ?? 0 }
        return all.map { fields in
            fields.enumerated().map { column, text in
                let pad = String(repeating: " ", count: widths[column] - Self.displayWidth(text))
                return columns[column].alignment == .right ? pad + text : text + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    func renderVertical() -> String {
        let labels = columns.dropFirst(keyColumns).map(\.title)
        let labelWidth = labels.map(Self.displayWidth).max() ?? 0
        return rows.map { fields in
            let heading = fields.prefix(keyColumns).filter { !$0.isEmpty }.joined(separator: " · ")
            let lines = zip(labels, fields.dropFirst(keyColumns)).compactMap { label, value -> String? in
                value.isEmpty ? nil : "  " + label + String(repeating: " ", count: labelWidth - Self.displayWidth(label)) + "  " + value
            }
            return ([heading] + lines).joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    /// Columns a text takes in a terminal: East Asian wide characters take two.
    static func displayWidth(_ text: some StringProtocol) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            let value = scalar.value
            if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .format { return width }
            let wide = (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value) || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1FAFF).contains(value) || (0x20000...0x3FFFD).contains(value)
            return width + (wide ? 2 : 1)
        }
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
