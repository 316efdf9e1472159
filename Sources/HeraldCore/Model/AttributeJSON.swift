import Foundation

/// The stored form of a user's attributes: one JSON object, keys sorted, where a time is a
/// number of seconds since 1970-01-01T00:00:00Z, a bool is `true`/`false` and a list is an array
/// (the form audience SQL reads with `json_extract`).
///
/// Written and read by hand: Foundation's `JSONSerialization` costs tens of microseconds per user
/// on Linux, which dominated imports and planning. The same attributes always give the same
/// text, so a repeated import is recognised as unchanged.
public enum AttributeJSON {
    public static func encode(_ attributes: [String: AttributeValue]) -> String {
        guard !attributes.isEmpty else { return "{}" }
        var out = "{"
        for (index, name) in attributes.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            JSONText.appendString(name, to: &out)
            out += ":"
            append(attributes[name]!, to: &out)
        }
        out += "}"
        return out
    }

    /// The attributes of a stored object, read with their declared types; a key that is not
    /// declared, or whose value does not fit its type, is left out.
    public static func decode(_ text: String, schema: AttributeSchema) -> [String: AttributeValue] {
        guard text != "{}", case .object(let members)? = try? ImportJSON.parse(Array(text.utf8)).value else { return [:] }
        var attributes: [String: AttributeValue] = [:]
        for member in members {
            guard let definition = schema[member.key], let value = value(member.node.value, type: definition.type) else { continue }
            attributes[member.key] = value
        }
        return attributes
    }

    static func append(_ value: AttributeValue, to out: inout String) {
        switch value {
        case .string(let text): JSONText.appendString(text, to: &out)
        case .number(let number): out += number.isFinite ? "\(number)" : "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .time(let date): out += "\(date.timeIntervalSince1970)"
        case .list(let values):
            out += "["
            for (index, item) in values.enumerated() {
                if index > 0 { out += "," }
                append(item, to: &out)
            }
            out += "]"
        }
    }

    static func value(_ json: ImportJSON.Value, type: AttributeType) -> AttributeValue? {
        switch (type, json) {
        case (.string, .string(let text)): .string(text)
        case (.number, .number(let number)): .number(number)
        case (.bool, .bool(let flag)): .bool(flag)
        case (.time, .number(let seconds)): .time(Date(timeIntervalSince1970: seconds))
        case (.list(let element), .array(let nodes)):
            nodes.reduce(into: [AttributeValue]?([])) { items, node in
                guard items != nil, let item = value(node.value, type: element) else { items = nil; return }
                items?.append(item)
            }.map(AttributeValue.list)
        default: nil
        }
    }
}

extension WebPushSubscription {
    /// The stored form, `{"auth":…,"endpoint":…,"p256dh":…}`, written by hand for the same reason
    /// as `AttributeJSON`.
    public var jsonText: String {
        var out = "{\"auth\":"
        JSONText.appendString(auth, to: &out)
        out += ",\"endpoint\":"
        JSONText.appendString(endpoint, to: &out)
        out += ",\"p256dh\":"
        JSONText.appendString(p256dh, to: &out)
        return out + "}"
    }

    /// Reads the stored form; `nil` when a field is missing or not a string.
    public init?(jsonText: String) {
        guard case .object(let members)? = try? ImportJSON.parse(Array(jsonText.utf8)).value else { return nil }
        var fields: [String: String] = [:]
        for member in members {
            if case .string(let text) = member.node.value { fields[member.key] = text }
        }
        guard let endpoint = fields["endpoint"], let p256dh = fields["p256dh"], let auth = fields["auth"] else { return nil }
        self.init(endpoint: endpoint, p256dh: p256dh, auth: auth)
    }
}
