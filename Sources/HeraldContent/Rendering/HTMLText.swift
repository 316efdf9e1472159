/// The plain-text part of an email derived from its rendered HTML, for templates without a
/// `text` body.
///
/// - Tags are dropped; the contents of `head`, `title`, `style` and `script` and comments too.
/// - Runs of whitespace become one space. Paragraph-like elements (`p`, headings, lists,
///   tables, `blockquote`, `hr`) are separated by a blank line; `br`, `div`, `tr` and list items
///   start a new line. List items read `- item` (`1. item` in an ordered list).
/// - A link reads `text (url)`; just `url` when its text is empty or the url itself; just the
///   text for in-page (`#…`) and `javascript:` links. An image reads as its `alt` text.
/// - Character references are decoded: numeric ones and the common named ones (`&amp;`,
///   `&nbsp;`, `&copy;`, typographic quotes and dashes…); an unknown one is kept as written.
///
/// Works on UTF-8 bytes in one pass: it runs for every recipient of such an email.
public enum HTMLText {
    /// The plain text of an HTML document or fragment (see the type's documentation).
    ///
    /// ```swift
    /// HTMLText.plainText(fromHTML: #"<p>Hi &amp; welcome</p><p><a href="https://x.example">Shop</a></p>"#)
    /// // "Hi & welcome\n\nShop (https://x.example)"
    /// ```
    public static func plainText(fromHTML html: String) -> String {
        var converter = Converter()
        var html = html
        html.withUTF8 { converter.convert($0) }
        return converter.result()
    }

    private struct Link {
        var href: String
        /// Where the link's text starts in the output.
        var textStart: Int
    }

    /// What an element means for the text.
    private enum Role {
        /// Separated from what is around it by a blank line.
        case paragraph
        /// Starts a new line.
        case line
        case lineBreak
        case unorderedList
        case orderedList
        case listItem
        case cell
        case image
        case anchor
        /// Its content is not text a reader sees.
        case skipped
    }

    private static let roles: [UInt64: Role] = {
        var roles: [UInt64: Role] = [:]
        for name in ["p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "hr"] {
            roles[tagKey(Array(name.utf8)[...])] = .paragraph
        }
        for name in ["div", "tr", "section", "article", "header", "footer", "center", "dd", "dt"] {
            roles[tagKey(Array(name.utf8)[...])] = .line
        }
        for name in ["head", "title", "style", "script", "template", "noscript"] {
            roles[tagKey(Array(name.utf8)[...])] = .skipped
        }
        roles[tagKey(Array("br".utf8)[...])] = .lineBreak
        roles[tagKey(Array("ul".utf8)[...])] = .unorderedList
        roles[tagKey(Array("ol".utf8)[...])] = .orderedList
        roles[tagKey(Array("li".utf8)[...])] = .listItem
        roles[tagKey(Array("td".utf8)[...])] = .cell
        roles[tagKey(Array("th".utf8)[...])] = .cell
        roles[tagKey(Array("img".utf8)[...])] = .image
        roles[tagKey(Array("a".utf8)[...])] = .anchor
        return roles
    }()

    /// A tag name of up to 10 ASCII letters and digits, case-folded and packed 6 bits a
    /// character, so that recognizing a tag allocates nothing; 0 for longer names.
    private static func tagKey(_ name: some Collection<UInt8>) -> UInt64 {
        guard name.count <= 10 else { return 0 }
        var key: UInt64 = 0
        for byte in name {
            let code: UInt64 = switch byte {
            case 0x61...0x7A: UInt64(byte - 0x61 + 1)
            case 0x41...0x5A: UInt64(byte - 0x41 + 1)
            case 0x30...0x39: UInt64(byte - 0x30 + 27)
            default: 63
            }
            key = key << 6 | code
        }
        return key
    }

    private struct Converter {
        var output: [UInt8] = []
        /// Newlines owed before the next text: 1 for a line break, 2 for a paragraph break.
        var pendingBreak = 0
        var pendingSpace = false
        var links: [Link] = []
        /// For each open list: nil when unordered, else the number of the next item.
        var lists: [Int?] = []

        mutating func convert(_ bytes: UnsafeBufferPointer<UInt8>) {
            output.reserveCapacity(bytes.count)
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "<"):
                    index = tag(bytes, at: index)
                case UInt8(ascii: "&"):
                    let (scalar, next) = HTMLText.characterReference(bytes, at: index)
                    if let scalar {
                        if scalar == "\u{A0}" {
                            // A no-break space is spacing in email layouts, not content.
                            pendingSpace = true
                        } else {
                            flushPending()
                            output.append(contentsOf: String(scalar).utf8)
                        }
                    } else {
                        flushPending()
                        output.append(byte)
                    }
                    index = next
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"), 0x0C:
                    pendingSpace = true
                    index += 1
                default:
                    // A run of words separated by single spaces is copied at once.
                    var end = index + 1
                    while end < count {
                        let next = bytes[end]
                        if next == UInt8(ascii: " "), end + 1 < count, !HTMLText.endsTextRun(bytes[end + 1]) {
                            end += 2
                        } else if HTMLText.endsTextRun(next) {
                            break
                        } else {
                            end += 1
                        }
                    }
                    flushPending()
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                    index = end
                }
            }
        }

        mutating func result() -> String {
            // A link the HTML never closes still shows its target.
            while !links.isEmpty {
                closeLink()
            }
            trimTrailingSpaces()
            return String(decoding: output, as: UTF8.self)
        }

        // MARK: Output

        @inline(__always)
        private mutating func flushPending() {
            guard pendingBreak > 0 || pendingSpace else { return }
            if pendingBreak > 0 {
                if !output.isEmpty {
                    trimTrailingSpaces()
                    var newlines = 0
                    var position = output.count - 1
                    while position >= 0, output[position] == UInt8(ascii: "\n"), newlines < 2 {
                        newlines += 1
                        position -= 1
                    }
                    for _ in newlines..<max(newlines, pendingBreak) {
                        output.append(UInt8(ascii: "\n"))
                    }
                }
                pendingBreak = 0
                pendingSpace = false
            } else {
                if let last = output.last, last != UInt8(ascii: "\n"), last != UInt8(ascii: " ") {
                    output.append(UInt8(ascii: " "))
                }
                pendingSpace = false
            }
        }

        /// Appends text from an attribute (a link target, an image's alt), collapsing its spaces.
        private mutating func appendText(_ text: String) {
            for byte in text.utf8 {
                if HTMLText.isSpace(byte) {
                    pendingSpace = true
                } else {
                    flushPending()
                    output.append(byte)
                }
            }
        }

        private mutating func trimTrailingSpaces() {
            while let last = output.last, last == UInt8(ascii: " ") {
                output.removeLast()
            }
        }

        private mutating func requestBreak(_ newlines: Int) {
            pendingBreak = max(pendingBreak, newlines)
        }

        // MARK: Tags

        /// Handles the tag at `start` (a `<`) and returns the index after it.
        private mutating func tag(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
            let count = bytes.count
            var index = start + 1
            guard index < count else {
                flushPending()
                output.append(UInt8(ascii: "<"))
                return index
            }
            if bytes[index] == UInt8(ascii: "!") {
                if HTMLText.hasPrefix(bytes, at: index, "!--") {
                    return HTMLText.index(after: "-->", in: bytes, from: index + 3)
                }
                return HTMLText.index(after: ">", in: bytes, from: index)
            }
            if bytes[index] == UInt8(ascii: "?") {
                return HTMLText.index(after: ">", in: bytes, from: index)
            }
            var isClosing = false
            if bytes[index] == UInt8(ascii: "/") {
                isClosing = true
                index += 1
            }
            guard index < count, HTMLText.isLetter(bytes[index]) else {
                // `a < b` in text: not a tag.
                flushPending()
                output.append(UInt8(ascii: "<"))
                return start + 1
            }
            let nameStart = index
            while index < count, HTMLText.isLetter(bytes[index]) || (bytes[index] >= 0x30 && bytes[index] <= 0x39) {
                index += 1
            }
            let nameRange = nameStart..<index
            let role = HTMLText.roles[HTMLText.tagKey(UnsafeBufferPointer(rebasing: bytes[nameRange]))]
            let collected: HTMLText.CollectedAttribute? = switch role {
            case .anchor where !isClosing: .href
            case .image where !isClosing: .alt
            default: nil
            }
            let (end, attribute) = HTMLText.parseAttributes(bytes, from: index, collecting: collected)
            guard let end else {
                // The document ends inside the tag: there is nothing left to show.
                return count
            }
            guard let role else { return end }
            if !isClosing, role == .skipped {
                return HTMLText.indexAfterClosingTag(UnsafeBufferPointer(rebasing: bytes[nameRange]), in: bytes, from: end)
            }
            handle(role, isClosing: isClosing, attribute: attribute)
            return end
        }

        private mutating func handle(_ role: Role, isClosing: Bool, attribute: String?) {
            switch role {
            case .lineBreak:
                pendingBreak = min(2, pendingBreak + 1)
            case .paragraph:
                requestBreak(2)
            case .unorderedList, .orderedList:
                requestBreak(2)
                if isClosing {
                    _ = lists.popLast()
                } else {
                    lists.append(role == .orderedList ? 1 : nil)
                }
            case .listItem:
                requestBreak(1)
                if !isClosing {
                    flushPending()
                    var marker = "- "
                    if let number = lists.last ?? nil {
                        marker = "\(number). "
                        lists[lists.count - 1] = number + 1
                    }
                    output.append(contentsOf: marker.utf8)
                }
            case .line:
                requestBreak(1)
            case .cell:
                pendingSpace = true
            case .image:
                if let alt = attribute, !alt.isEmpty {
                    appendText(alt)
                }
            case .anchor:
                if isClosing {
                    closeLink()
                } else {
                    flushPending()
                    links.append(Link(href: attribute ?? "", textStart: output.count))
                }
            case .skipped:
                break
            }
        }

        private mutating func closeLink() {
            guard let link = links.popLast() else { return }
            let href = link.href.trimmingWhitespace()
            if href.isEmpty || href.hasPrefix("#") || href.lowercased().hasPrefix("javascript:") {
                return
            }
            var start = min(link.textStart, output.count)
            var end = output.count
            while start < end, HTMLText.isSpace(output[start]) { start += 1 }
            while end > start, HTMLText.isSpace(output[end - 1]) { end -= 1 }
            let text = output[start..<end]
            if text.isEmpty {
                pendingSpace = false
                appendText(href)
            } else if !text.elementsEqual(href.utf8), !text.elementsEqual(href.droppingPrefix("mailto:").utf8), !text.elementsEqual(href.droppingPrefix("tel:").utf8) {
                let hadSpace = pendingSpace
                pendingSpace = true
                appendText("(" + href + ")")
                pendingSpace = hadSpace
            }
        }
    }

    /// Which attribute a tag's text needs.
    private enum CollectedAttribute {
        case href
        case alt
    }

    // MARK: Scanning helpers

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    /// Whether a byte ends a run of plain text: markup, a reference or whitespace.
    private static func endsTextRun(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "<") || byte == UInt8(ascii: "&") || isSpace(byte)
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, _ prefix: StaticString) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard index + length <= bytes.count else { return false }
        let pointer = prefix.utf8Start
        for offset in 0..<length where bytes[index + offset] != pointer[offset] {
            return false
        }
        return true
    }

    /// The index after the next `terminator` at or after `start`, or the end.
    private static func index(after terminator: StaticString, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            if hasPrefix(bytes, at: index, terminator) { return index + terminator.utf8CodeUnitCount }
            index += 1
        }
        return bytes.count
    }

    /// The index after `</name…>` (case-insensitive), or the end.
    private static func indexAfterClosingTag(_ name: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index + 2 + name.count <= bytes.count {
            if bytes[index] == UInt8(ascii: "<"), bytes[index + 1] == UInt8(ascii: "/") {
                var matches = true
                for offset in 0..<name.count where lowercased(bytes[index + 2 + offset]) != lowercased(name[offset]) {
                    matches = false
                    break
                }
                if matches {
                    return Self.index(after: ">", in: bytes, from: index)
                }
            }
            index += 1
        }
        return bytes.count
    }

    /// Reads attributes up to the end of the tag. Returns the index after `>` (nil when the text
    /// ends first) and the value of the `collecting` attribute, references decoded.
    private static func parseAttributes(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, collecting: CollectedAttribute?) -> (Int?, String?) {
        let count = bytes.count
        var index = start
        var collected: String?
        let wanted: StaticString? = switch collecting {
        case .href: "href"
        case .alt: "alt"
        case nil: nil
        }
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ">") { return (index + 1, collected) }
            if isSpace(byte) || byte == UInt8(ascii: "/") {
                index += 1
                continue
            }
            let nameStart = index
            while index < count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ">") {
                index += 1
            }
            var isWanted = false
            if let wanted, collected == nil, index - nameStart == wanted.utf8CodeUnitCount {
                isWanted = true
                for offset in 0..<wanted.utf8CodeUnitCount where lowercased(bytes[nameStart + offset]) != wanted.utf8Start[offset] {
                    isWanted = false
                    break
                }
            }
            while index < count, isSpace(bytes[index]) { index += 1 }
            var value = ""
            if index < count, bytes[index] == UInt8(ascii: "=") {
                index += 1
                while index < count, isSpace(bytes[index]) { index += 1 }
                let valueStart: Int
                let valueEnd: Int
                if index < count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                    let quote = bytes[index]
                    valueStart = index + 1
                    index = valueStart
                    while index < count, bytes[index] != quote { index += 1 }
                    valueEnd = index
                    if index < count { index += 1 }
                } else {
                    valueStart = index
                    while index < count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: ">") { index += 1 }
                    valueEnd = index
                }
                if isWanted {
                    value = decodeCharacterReferences(UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]))
                }
            }
            if isWanted {
                collected = value
            }
        }
        return (nil, collected)
    }

    private static func decodeCharacterReferences(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "&") {
                let (scalar, next) = characterReference(bytes, at: index)
                if let scalar {
                    output.append(contentsOf: String(scalar).utf8)
                    index = next
                    continue
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes the character reference at `start` (an `&`): the scalar and the index after the
    /// reference, or nil and `start + 1` when it is not one this converter knows.
    static func characterReference(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (Unicode.Scalar?, Int) {
        let limit = min(bytes.count, start + 12)
        var end = start + 1
        while end < limit, bytes[end] != UInt8(ascii: ";") { end += 1 }
        guard end < limit, end > start + 1 else { return (nil, start + 1) }
        let body = bytes[(start + 1)..<end]
        let next = end + 1
        if body.first == UInt8(ascii: "#") {
            let digits = body.dropFirst()
            var value: UInt32 = 0
            var radix: UInt32 = 10
            var digitBytes = digits[...]
            if let first = digits.first, first == UInt8(ascii: "x") || first == UInt8(ascii: "X") {
                radix = 16
                digitBytes = digits.dropFirst()
            }
            guard !digitBytes.isEmpty, digitBytes.count <= 8 else { return (nil, start + 1) }
            for byte in digitBytes {
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x61...0x66 where radix == 16: digit = UInt32(byte - 0x61 + 10)
                case 0x41...0x46 where radix == 16: digit = UInt32(byte - 0x41 + 10)
                default: return (nil, start + 1)
                }
                value = value * radix + digit
            }
            guard value != 0, let scalar = Unicode.Scalar(value) else { return (nil, start + 1) }
            return (scalar, next)
        }
        let name = String(decoding: body, as: UTF8.self)
        guard let scalar = namedReferences[name] else { return (nil, start + 1) }
        return (scalar, next)
    }

    private static let namedReferences: [String: Unicode.Scalar] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}",
        "copy": "\u{A9}", "reg": "\u{AE}", "trade": "\u{2122}", "hellip": "\u{2026}",
        "mdash": "\u{2014}", "ndash": "\u{2013}", "lsquo": "\u{2018}", "rsquo": "\u{2019}",
        "ldquo": "\u{201C}", "rdquo": "\u{201D}", "laquo": "\u{AB}", "raquo": "\u{BB}",
        "bull": "\u{2022}", "middot": "\u{B7}", "euro": "\u{20AC}", "pound": "\u{A3}",
        "yen": "\u{A5}", "cent": "\u{A2}", "deg": "\u{B0}", "times": "\u{D7}",
        "shy": "\u{AD}", "zwnj": "\u{200C}", "zwj": "\u{200D}",
    ]
}

extension String {
    func droppingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
