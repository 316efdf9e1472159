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
            JSONText.appendString(name, to: &out)
            out += ":"
        }
        func field(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendString(value, to: &out)
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
                JSONText.appendString(name, to: &out)
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
                    JSONText.appendString(token, to: &out)
                }
                if let subscription = device.subscription {
                    out += ",\"subscription\":{\"endpoint\":"
                    JSONText.appendString(subscription.endpoint, to: &out)
                    out += ",\"keys\":{\"p256dh\":"
                    JSONText.appendString(subscription.p256dh, to: &out)
                    out += ",\"auth\":"
                    JSONText.appendString(subscription.auth, to: &out)
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
                JSONText.appendString(name, to: &out)
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
        case .string(let text): JSONText.appendString(text, to: &out)
        case .number(let number): out += number.isFinite ? TemplateValue.number(number).description : "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .time(let date): JSONText.appendString(ISO8601.string(from: date), to: &out)
        case .list(let values):
            out += "["
            for (index, item) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(item, to: &out)
            }
            out += "]"
        }
    }
}
