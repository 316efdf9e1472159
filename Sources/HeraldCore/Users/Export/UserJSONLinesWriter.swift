import Foundation

/// Writes users as JSON Lines in the import format of campaign-format.md, so that
/// `herald users generate --output users.jsonl` and `herald users import users.jsonl` round-trip.
public enum UserJSONLinesWriter {
    /// One line (without the newline) for a user: built-in fields at the top level, attributes
    /// under `attributes`, then `devices` and `preferences` when present. Keys are sorted so the
    /// output is byte-for-byte stable.
    public static func line(for user: User) -> String {
        var object: [String: Any] = ["id": user.id]
        object["email"] = user.email
        object["phone"] = user.phone
        object["locale"] = user.locale
        object["timezone"] = user.timezone
        object["first_name"] = user.firstName
        object["last_name"] = user.lastName
        object["created_at"] = user.createdAt.map(ISO8601.string(from:))
        if !user.attributes.isEmpty {
            object["attributes"] = user.attributes.mapValues(exportValue)
        }
        if !user.devices.isEmpty {
            object["devices"] = user.devices.map { device -> [String: Any] in
                var entry: [String: Any] = ["platform": device.platform.rawValue]
                if let token = device.token { entry["token"] = token }
                if let subscription = device.subscription {
                    entry["subscription"] = [
                        "endpoint": subscription.endpoint,
                        "keys": ["p256dh": subscription.p256dh, "auth": subscription.auth],
                    ]
                }
                if !device.isActive { entry["active"] = false }
                return entry
            }
        }
        if !user.preferences.values.isEmpty {
            object["preferences"] = user.preferences.values
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{\"id\":\"\(user.id)\"}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Times as ISO 8601 text, as a person would write them in an import file.
    static func exportValue(_ value: AttributeValue) -> Any {
        switch value {
        case .time(let date): ISO8601.string(from: date)
        case .list(let values): values.map(exportValue)
        default: value.jsonValue
        }
    }
}
