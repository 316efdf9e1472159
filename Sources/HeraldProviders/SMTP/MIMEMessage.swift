import Foundation
import HeraldCore

/// Builds the RFC 5322 message the SMTP transport sends: UTF-8 headers as RFC 2047 encoded
/// words, `Message-ID` and `Date`, and a multipart/alternative body (text, then HTML) in
/// quoted-printable, so that no line is longer than 76 bytes (RFC 5322 allows 998), whatever
/// the template produced. CRLF line ends throughout.
///
/// ```
/// From: =?UTF-8?B?7IO1?= <news@example.com>
/// To: ann@example.com
/// Subject: =?UTF-8?B?6rKo7Jq4IOyEuOydvA==?=
/// Date: Tue, 01 Dec 2026 16:08:17 +0000
/// Message-ID: <8c0e…@example.com>
/// MIME-Version: 1.0
/// Content-Type: multipart/alternative; boundary="herald-…"
/// ```
public enum MIMEMessage {
    /// The whole message. The caller has checked the subject for line breaks
    /// (``MessageChecks/email(_:)``); they are removed here too, so that no input can add a header.
    public static func build(
        _ message: OutboundMessage, content: EmailContent, from: EmailAddress, messageID: String, date: Date,
        unsubscribeMailto: String? = nil, boundary: String? = nil
    ) -> String {
        var lines: [String] = [
            "From: " + address(from),
            "To: " + message.address,
            "Subject: " + encodeHeader(content.subject, prefixLength: "Subject: ".count),
            "Date: " + rfc5322Date(date),
            "Message-ID: " + messageID,
            "MIME-Version: 1.0",
        ]
        for header in ListUnsubscribe.headers(for: message, mailto: unsubscribeMailto) {
            lines.append("\(header.name): \(header.value)")
        }
        lines.append("X-Herald-Notification: \(message.notificationID)")
        let text = content.text.isEmpty ? " " : content.text
        if let html = content.html, !html.isEmpty {
            let boundary = boundary ?? "herald-\(message.idempotencyID.uuidString.lowercased())"
            lines.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("This is a multi-part message in MIME format.")
            for (type, body) in [("text/plain", text), ("text/html", html)] {
                lines.append("--\(boundary)")
                lines.append("Content-Type: \(type); charset=utf-8")
                lines.append("Content-Transfer-Encoding: quoted-printable")
                lines.append("")
                lines.append(quotedPrintable(body))
            }
            lines.append("--\(boundary)--")
        } else {
            lines.append("Content-Type: text/plain; charset=utf-8")
            lines.append("Content-Transfer-Encoding: quoted-printable")
            lines.append("")
            lines.append(quotedPrintable(text))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// `Name <email>`, the name quoted or encoded as needed.
    static func address(_ address: EmailAddress) -> String {
        guard let name = address.name?.filter({ $0 != "\r" && $0 != "\n" }), !name.isEmpty else { return address.email }
        if name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value < 127 }) {
            let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(quoted)\" <\(address.email)>"
        }
        return encodeHeader(name, prefixLength: "From: ".count) + " <\(address.email)>"
    }

    /// Plain ASCII stays as it is (folded at spaces); anything else becomes `=?UTF-8?B?…?=`
    /// words of at most 75 characters, split between characters and folded onto new lines.
    public static func encodeHeader(_ value: String, prefixLength: Int = 0) -> String {
        let clean = value.filter { $0 != "\r" && $0 != "\n" }
        let isPlain = clean.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 32 && $0.value < 127 } && !clean.contains("=?")
        if isPlain, clean.utf8.count + prefixLength <= 78 { return clean }
        if isPlain, !clean.split(separator: " ").contains(where: { $0.utf8.count > 70 }) {
            return fold(clean.split(separator: " ").map(String.init), prefixLength: prefixLength, separator: " ")
        }
        var words: [String] = []
        var chunk: [UInt8] = []
        // The bytes a word can carry: at most 75 characters (RFC 2047) on a line of at most 78
        // (RFC 5322), the first line shared with the header's name; 12 characters are
        // `=?UTF-8?B?` and `?=`, and base64 makes 4 characters of 3 bytes.
        func capacity(prefix: Int) -> Int { (min(75, 78 - prefix) - 12) / 4 * 3 }
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > capacity(prefix: words.isEmpty ? prefixLength : 1) {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    private static func fold(_ words: [String], prefixLength: Int, separator: String) -> String {
        var lines: [String] = []
        var line = ""
        var limit = 78 - prefixLength
        for word in words {
            if !line.isEmpty, line.utf8.count + 1 + word.utf8.count > limit {
                lines.append(line)
                line = word
                limit = 77
            } else {
                line = line.isEmpty ? word : line + separator + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\r\n ")
    }

    /// RFC 2045 quoted-printable: line breaks become CRLF; lines at most 76 characters with
    /// soft breaks (`=`) that never split an escape; a space or tab before a break is escaped.
    public static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        return normalized.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var encoded: [String] = []
            let bytes = Array(line.utf8)
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                if (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast) {
                    encoded.append(String(UnicodeScalar(byte)))
                } else {
                    encoded.append(String(format: "=%02X", byte))
                }
            }
            var output: [String] = []
            var current = ""
            for token in encoded {
                if current.utf8.count + token.utf8.count > 75 {
                    output.append(current + "=")
                    current = ""
                }
                current += token
            }
            output.append(current)
            return output.joined(separator: "\r\n")
        }.joined(separator: "\r\n")
    }

    /// `Tue, 01 Dec 2026 16:08:17 +0000`, in UTC. Computed directly (`ISO8601.civilFromDays`):
    /// a DateFormatter per message costs more than the rest
    /// of the message, and one shared formatter is not safe across threads.
    public static func rfc5322Date(_ date: Date) -> String {
        let (days, secondOfDay) = ISO8601.day(ofSeconds: Int(date.timeIntervalSince1970.rounded(.down)))
        let (year, month, day) = ISO8601.civilFromDays(days)
        let weekday = ISO8601.weekday(ofDay: days)
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(names[weekday]), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }
}
