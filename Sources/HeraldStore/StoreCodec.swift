import Foundation
import HeraldCore

/// JSON encoding of the columns that hold structured values. Attributes are written with sorted
/// keys so that the same user always encodes to the same text, which makes a repeated import a
/// no-op.
struct StoreCodec: Sendable {
    func encodeAttributes(_ attributes: [String: AttributeValue]) -> String {
        guard !attributes.isEmpty else { return "{}" }
        let object = attributes.mapValues(\.jsonValue)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    func decodeAttributes(_ text: String, schema: AttributeSchema) -> [String: AttributeValue] {
        guard text != "{}", let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return [:]
        }
        var attributes: [String: AttributeValue] = [:]
        for (name, value) in object {
            guard let definition = schema[name], let decoded = AttributeValue(jsonValue: value, type: definition.type) else {
                continue
            }
            attributes[name] = decoded
        }
        return attributes
    }

    func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain value types cannot fail; an empty object is a safe fallback.
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError(.corrupt, "a stored \(T.self) could not be read: \(error)")
        }
    }
}
