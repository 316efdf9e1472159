import Foundation
import HeraldCore

/// JSON encoding of the columns that hold structured values. Attributes use `AttributeJSON`,
/// whose text is the same for the same values, which makes a repeated import a no-op.
struct StoreCodec: Sendable {
    func encodeAttributes(_ attributes: [String: AttributeValue]) -> String {
        AttributeJSON.encode(attributes)
    }

    func decodeAttributes(_ text: String, schema: AttributeSchema) -> [String: AttributeValue] {
        AttributeJSON.decode(text, schema: schema)
    }

    /// A JSON array of strings (ids, addresses) for `json_each(?)`, written directly (through
    /// `JSONEncoder`, 2–3% of an API send's CPU went into these arrays).
    func encode(_ strings: [String]) -> String {
        var text = "["
        for (position, string) in strings.enumerated() {
            if position > 0 { text += "," }
            JSONText.appendString(string, to: &text)
        }
        return text + "]"
    }

    /// A JSON array of row ids for `json_each(?)`, written directly (a claim's through
    /// `JSONEncoder` cost a tenth of the claim).
    func encode(_ ids: [Int64]) -> String {
        var text = "["
        for (position, id) in ids.enumerated() {
            if position > 0 { text += "," }
            text += String(id)
        }
        return text + "]"
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
