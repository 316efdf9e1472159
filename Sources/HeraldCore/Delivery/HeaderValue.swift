import Foundation

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

    /// `local@domain.tld` with no spaces, controls, angle brackets or commas: what an address
    /// header and an SMTP RCPT can carry without quoting.
    public static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return false }
        guard parts[0].unicodeScalars.allSatisfy({ $0.value > 32 && $0.value != 127 && !"<>()[],;:\\\"".unicodeScalars.contains($0) }),
              !parts[0].hasPrefix("."), !parts[0].hasSuffix("."), !parts[0].contains("..")
        else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && (labels.last?.count ?? 0) >= 2 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { !$0.isASCII || CharacterSet.alphanumerics.contains($0) || $0 == "-" }
        }
    }
}
