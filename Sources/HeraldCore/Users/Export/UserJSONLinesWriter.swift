import Foundation

/// Writes users as JSON Lines in the import format of campaign-format.md, so that
/// `herald users generate --output users.jsonl` and `herald users import users.jsonl` round-trip.
///
/// The JSON is written by hand rather than through `JSONSerialization`, which is two orders of
/// magnitude slower on Linux; keys come in a fixed order, so the output is byte-for-byte stable.
public enum UserJSONLinesWriter {
    /// One line (without the newline) for a user: built-in fields at the top level, attributes
    /// under `attributes` (sorted by name), then `devices` and `preferences` when present.
    public static func line(for user: User) -> String {
        var out = "{"
        var first = true
        func key(_ name: String) {
            if !first { out += "," }
            first = false
            appendString(name, to: &out)
            out += ":"
        }
        func field(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            appendString(value, to: &out)
        }
        field("id", user.id)
        field("email", user.email)
        field("phone", user.phone)
        field("locale", user.locale)
        field("timezone", user.timezone)
        field("first_name", user.firstName)
        field("last_name", user.lastName)
        field("created_at", user.createdAt.map(ISO8601.string(from:)))
        if !user.attributes.isEmpty {
            key("attributes")
            out += "{"
            for (index, name) in user.attributes.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(name, to: &out)
                out += ":"
                appendValue(user.attributes[name]!, to: &out)
            }
            out += "}"
        }
        if !user.devices.isEmpty {
            key("devices")
            out += "["
            for (index, device) in user.devices.enumerated() {
                if index > 0 { out += "," }
                out += "{\"platform\":\"\(device.platform.rawValue)\""
                if device.service != device.platform.defaultService { out += ",\"service\":\"\(device.service.rawValue)\"" }
                if let token = device.token {
                    out += ",\"token\":"
                    appendString(token, to: &out)
                }
                if let subscription = device.subscription {
                    out += ",\"subscription\":{\"endpoint\":"
                    appendString(subscription.endpoint, to: &out)
                    out += ",\"keys\":{\"p256dh\":"
                    appendString(subscription.p256dh, to: &out)
                    out += ",\"auth\":"
                    appendString(subscription.auth, to: &out)
                    out += "}}"
                }
                if !device.isActive { out += ",\"active\":false" }
                out += "}"
            }
            out += "]"
        }
        if !user.preferences.values.isEmpty {
            key("preferences")
            out += "{"
            for (index, name) in user.preferences.values.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(name, to: &out)
                out += user.preferences.values[name]! ? ":true" : ":false"
            }
            out += "}"
        }
        out += "}"
        return out
    }

    /// Times as ISO 8601 text, as a person would write them in an import file.
    static func appendValue(_ value: AttributeValue, to out: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .number(let number): out += number.isFinite ? TemplateValue.number(number).description : "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .time(let date): appendString(ISO8601.string(from: date), to: &out)
        case .list(let values):
            out += "["
            for (index, item) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(item, to: &out)
            }
            out += "]"
        }
    }

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
