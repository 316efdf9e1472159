import Foundation

/// JSON text written by hand, where Foundation's encoders cost too much per row (every planned
/// notification's content, every exported user).
public enum JSONText {
    /// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped.
    ///
    /// Works on UTF-8 bytes (every byte to escape is ASCII, and never part of a multi-byte
    /// character) and builds the result once: content is escaped for every planned notification.
    public static func appendString(_ text: String, to out: inout String) {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        // Most text needs no escape at all: append it whole.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == quote || $0 == backslash }) else {
            out += "\""
            out += text
            out += "\""
            return
        }
        // Copies the runs between escapes whole: an HTML body has a quote or a newline every
        // few dozen bytes.
        func hex(_ digit: UInt8) -> UInt8 { digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10 }
        var bytes: [UInt8] = []
        var text = text
        text.withUTF8 { utf8 in
            bytes.reserveCapacity(utf8.count + utf8.count / 8 + 2)
            bytes.append(quote)
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == quote || byte == backslash else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                bytes.append(backslash)
                switch byte {
                case quote, backslash: bytes.append(byte)
                case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(UInt8(ascii: "u"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(hex(byte >> 4))
                    bytes.append(hex(byte & 0xF))
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            bytes.append(quote)
        }
        out += String(decoding: bytes, as: UTF8.self)
    }
}
