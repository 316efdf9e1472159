/// Text that goes into a mail header (a subject, a sender's name).
public enum HeaderValue {
    /// "a line feed (LF)" when `text` holds a character that ends a header line (and so could
    /// inject a header), or nil.
    public static func lineBreak(in text: String) -> String? {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r": return "a carriage return (CR)"
            case "\n": return "a line feed (LF)"
            case "\u{0}": return "a NUL character"
            case "\u{85}", "\u{2028}", "\u{2029}": return "a Unicode line separator"
            default: continue
            }
        }
        return nil
    }
}
