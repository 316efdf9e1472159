/// Values quoted for messages so that the reader sees what is really there.
public enum Quoted {
    /// `'value'`: control, invisible and look-alike characters (a zero-width space, a
    /// non-breaking space, a Unicode hyphen, a combining mark) shown as `<U+200B>`, line breaks
    /// as `\n`, and values longer than `limit` characters cut with `…`.
    ///
    /// `Quoted.visible("winter\u{2010}sale")` is `'winter<U+2010>sale'`, where the plain text
    /// would look like a valid id.
    public static func visible(_ text: String, limit: Int = 57) -> String {
        var shown = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                shown += "…"
                break
            }
            count += 1
            if scalar == "\n" {
                shown += "\\n"
            } else if isConfusable(scalar) {
                shown += "<\(code(scalar))>"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return "'\(shown)'"
    }

    /// `U+2010`.
    public static func code(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Characters that cannot be seen, or look like ASCII punctuation or spaces but are not.
    public static func isConfusable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value < 0x20 || scalar.value == 0x7F }
        switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .dashPunctuation, .nonspacingMark, .enclosingMark:
            return true
        default:
            return scalar.value == 0x2212 // MINUS SIGN
        }
    }
}
