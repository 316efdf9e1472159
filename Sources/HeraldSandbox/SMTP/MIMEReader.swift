import Foundation

/// Reads what the sandbox needs of an RFC 5322 message: unfolded headers with RFC 2047 words
/// decoded, and the text and HTML parts of a (multipart/alternative) body, decoded from
/// quoted-printable or base64.
struct MIMEReader {
    var headers: [(name: String, value: String)] = []
    var text: String?
    var html: String?

    init(_ message: String) {
        let (headers, body) = Self.split(message)
        self.headers = headers
        read(headers: headers, body: body)
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    private mutating func read(headers: [(name: String, value: String)], body: String, depth: Int = 0) {
        let contentType = headers.first { $0.name.lowercased() == "content-type" }?.value ?? "text/plain"
        let encoding = headers.first { $0.name.lowercased() == "content-transfer-encoding" }?.value.lowercased() ?? "7bit"
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if type.hasPrefix("multipart/"), depth < 5, let boundary = Self.parameter("boundary", in: contentType) {
            let delimiter = "--" + boundary
            let sections = body.components(separatedBy: "\r\n" + delimiter)
            for section in sections.dropFirst() {
                if section.hasPrefix("--") { break }
                // "\r\n" is one Character.
                let part = section.hasPrefix("\r\n") ? String(section.dropFirst()) : section
                let (partHeaders, partBody) = Self.split(part)
                read(headers: partHeaders, body: partBody, depth: depth + 1)
            }
            // The preamble before the first delimiter is not content.
            return
        }
        let decoded = Self.decode(body, encoding: encoding)
        if type == "text/html", html == nil { html = decoded } else if type == "text/plain", text == nil { text = decoded }
    }

    static func split(_ message: String) -> ([(name: String, value: String)], String) {
        let parts = message.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let body = parts.dropFirst().joined(separator: "\r\n\r\n")
        var headers: [(name: String, value: String)] = []
        for line in head.components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), var last = headers.popLast() {
                last.value += " " + line.trimmingCharacters(in: .whitespaces)
                headers.append(last)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers.map { ($0.name, decodeWords($0.value)) }, body)
    }

    static func parameter(_ name: String, in value: String) -> String? {
        for part in value.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            return pair[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }

    static func decode(_ body: String, encoding: String) -> String {
        switch encoding {
        case "base64":
            let compact = body.filter { !$0.isWhitespace }
            return Data(base64Encoded: compact).map { String(decoding: $0, as: UTF8.self) } ?? body
        case "quoted-printable":
            return String(decoding: quotedPrintable(body), as: UTF8.self)
        default:
            return body
        }
    }

    static func quotedPrintable(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        let input = Array(text.utf8)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "="), index + 2 < input.count, input[index + 1] == 13, input[index + 2] == 10 {
                index += 3  // soft line break
            } else if byte == UInt8(ascii: "="), index + 2 < input.count,
                      let value = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return bytes
    }

    /// RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`); whitespace between two words is dropped.
    static func decodeWords(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        var result = ""
        var rest = Substring(value)
        var lastWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            let afterStart = rest[start.upperBound...]
            let pieces = afterStart.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard pieces.count == 4, pieces[3].hasPrefix("="), let decoded = decodeWord(encoding: String(pieces[1]), text: String(pieces[2])) else {
                result += rest[..<start.upperBound]
                rest = afterStart
                lastWasWord = false
                continue
            }
            if !(lastWasWord && before.allSatisfy(\.isWhitespace)) { result += before }
            result += decoded
            rest = pieces[3].dropFirst()
            lastWasWord = true
        }
        return result + rest
    }

    static func decodeWord(encoding: String, text: String) -> String? {
        switch encoding.uppercased() {
        case "B": return Data(base64Encoded: text).map { String(decoding: $0, as: UTF8.self) }
        case "Q": return String(decoding: quotedPrintable(text.replacingOccurrences(of: "_", with: " ")), as: UTF8.self)
        default: return nil
        }
    }
}
