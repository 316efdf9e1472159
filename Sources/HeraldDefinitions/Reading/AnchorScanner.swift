/// Finds YAML anchors (`&name`) before the text reaches Yams.
///
/// Herald files do not use anchors and aliases. They are refused because Yams composes an alias
/// by copying the anchored node, and checks mapping keys for duplicates by hashing them whole: a
/// few lines of nested aliases used as a key ("billion laughs") would take longer than the age of
/// the universe to hash. Without anchors every alias is undefined, which Yams reports at once.
///
/// The scan is a small tokenizer: it skips quoted text, comments, block scalars and the inside
/// of plain values, and looks for `&` only where a node can start. Where it cannot tell text from
/// structure it leans towards finding an anchor, since a missed one is the dangerous mistake: a
/// quote opens text only where YAML certainly starts a quoted value (after an indicator), never
/// where it could continue a plain value from the line above.
enum AnchorScanner {
    /// The 1-based line and column (in Unicode scalars) of the first anchor, if any.
    static func firstAnchor(in text: String) -> (line: Int, column: Int)? {
        guard text.contains("&") else { return nil }
        var state = State()
        var lineNumber = 0
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if let column = state.scan(Array(line)) {
                return (lineNumber, column)
            }
        }
        return nil
    }

    private struct State {
        var inDoubleQuotes = false
        var inSingleQuotes = false
        var flowDepth = 0
        /// The indentation of the line that opened a block scalar (`|` or `>`), while in one.
        var blockScalarParentIndent: Int?
        /// Whether the last token was an indicator (`:`, `-`, `?`, `[`, `{`, `,`, a tag, the
        /// document start): then a quote at the start of the next line opens a quoted value.
        /// After anything else it may be part of a plain value continued from the line above.
        var lastTokenWasIndicator = true

        /// The column of an anchor on this line, if any.
        mutating func scan(_ line: [Unicode.Scalar]) -> Int? {
            let indent = line.prefix { $0 == " " }.count
            let isBlank = line.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
            if let parent = blockScalarParentIndent {
                if isBlank || indent > parent { return nil }
                blockScalarParentIndent = nil
            }
            if !inDoubleQuotes, !inSingleQuotes, indent == 0, line.first == "%" { return nil }
            var index = 0
            var atTokenStart = !(inDoubleQuotes || inSingleQuotes)
            var atLineStart = true
            while index < line.count {
                let scalar = line[index]
                if inDoubleQuotes {
                    if scalar == "\\" { index += 2; continue }
                    if scalar == "\"" { inDoubleQuotes = false; atTokenStart = false; lastTokenWasIndicator = false }
                    index += 1
                    continue
                }
                if inSingleQuotes {
                    if scalar == "'" {
                        if index + 1 < line.count, line[index + 1] == "'" { index += 2; continue }
                        inSingleQuotes = false
                        atTokenStart = false
                        lastTokenWasIndicator = false
                    }
                    index += 1
                    continue
                }
                if scalar == " " || scalar == "\t" || scalar == "\r" {
                    index += 1
                    continue
                }
                let firstOnLine = atLineStart
                atLineStart = false
                let next = index + 1 < line.count ? line[index + 1] : " "
                let nextIsBreak = next == " " || next == "\t" || next == "\r"
                let quoteOpens = atTokenStart && (!firstOnLine || lastTokenWasIndicator)
                switch scalar {
                case "#":
                    return nil
                case "\"" where quoteOpens:
                    inDoubleQuotes = true
                    index += 1
                    continue
                case "'" where quoteOpens:
                    inSingleQuotes = true
                    index += 1
                    continue
                case "&" where atTokenStart && !nextIsBreak && !Self.isFlowIndicator(next):
                    return index + 1
                case "!" where atTokenStart:
                    while index < line.count, line[index] != " ", line[index] != "\t" { index += 1 }
                    lastTokenWasIndicator = true
                    continue
                case "[", "{":
                    flowDepth += 1
                    atTokenStart = true
                    lastTokenWasIndicator = true
                    index += 1
                    continue
                case "]", "}":
                    flowDepth = max(0, flowDepth - 1)
                    atTokenStart = false
                    lastTokenWasIndicator = false
                    index += 1
                    continue
                case "," where flowDepth > 0:
                    atTokenStart = true
                    lastTokenWasIndicator = true
                    index += 1
                    continue
                case "-" where firstOnLine && index == 0 && line.count >= 3 && line[1] == "-" && line[2] == "-"
                    && (line.count == 3 || line[3] == " " || line[3] == "\t" || line[3] == "\r"):
                    // `---`, the document start, may be followed by the root node.
                    atTokenStart = true
                    lastTokenWasIndicator = true
                    index += 3
                    continue
                case ":" where !atTokenStart:
                    // After a quoted key or a closed collection, `:` is the value indicator even
                    // without a space (`{"a":&x b}`).
                    atTokenStart = true
                    lastTokenWasIndicator = true
                    index += 1
                    continue
                case "-", "?", ":":
                    if nextIsBreak || (flowDepth > 0 && (scalar == ":" && Self.isFlowIndicator(next))) {
                        atTokenStart = true
                        lastTokenWasIndicator = true
                        index += 1
                        continue
                    }
                case "|", ">":
                    if atTokenStart, flowDepth == 0 {
                        blockScalarParentIndent = indent
                        lastTokenWasIndicator = false
                        return nil
                    }
                default:
                    break
                }
                // A plain value: skip to where it ends, so that an `&` inside it is text.
                atTokenStart = false
                lastTokenWasIndicator = false
                index += 1
                while index < line.count {
                    let current = line[index]
                    let following = index + 1 < line.count ? line[index + 1] : " "
                    if current == ":", following == " " || following == "\t" || following == "\r" || (flowDepth > 0 && Self.isFlowIndicator(following)) { break }
                    if current == "#", line[index - 1] == " " || line[index - 1] == "\t" { break }
                    if flowDepth > 0, Self.isFlowIndicator(current) { break }
                    index += 1
                }
            }
            return nil
        }

        static func isFlowIndicator(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "," || scalar == "[" || scalar == "]" || scalar == "{" || scalar == "}"
        }
    }
}
