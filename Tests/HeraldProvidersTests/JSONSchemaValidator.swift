import Foundation

/// A small validator for the JSON Schema subset the providers' OpenAPI files use: `$ref` within
/// the document, `type`, `properties`, `required`, `additionalProperties`, `items`,
/// `minItems`/`maxItems`, `minLength`/`maxLength`, `pattern`, `enum`, `allOf`/`anyOf`/`oneOf`,
/// and the formats `email`, `uri` and `phone-number`. It returns every violation with its path.
struct JSONSchemaValidator {
    let document: [String: Any]

    init(file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        document = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// The object at a JSON pointer such as `#/components/schemas/MailTo`.
    func resolve(_ pointer: String) -> [String: Any]? {
        var node: Any = document
        for part in pointer.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let object = node as? [String: Any], let next = object[key] else { return nil }
            node = next
        }
        return node as? [String: Any]
    }

    func schema(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        var depth = 0
        while let reference = schema["$ref"] as? String, depth < 20, let target = resolve(reference) {
            schema = target
            depth += 1
        }
        return schema
    }

    func validate(_ value: Any, against raw: [String: Any], at path: String = "$") -> [String] {
        let schema = self.schema(raw)
        var errors: [String] = []
        if let all = schema["allOf"] as? [[String: Any]] {
            for part in all { errors += validate(value, against: part, at: path) }
        }
        if let any = schema["anyOf"] as? [[String: Any]], !any.contains(where: { validate(value, against: $0, at: path).isEmpty }) {
            errors.append("\(path): matches none of anyOf")
        }
        if let one = schema["oneOf"] as? [[String: Any]], one.filter({ validate(value, against: $0, at: path).isEmpty }).count != 1 {
            errors.append("\(path): does not match exactly one of oneOf")
        }
        if let types = (schema["type"] as? String).map({ [$0] }) ?? (schema["type"] as? [String]), !types.contains(where: { Self.isType(value, $0) }) {
            return errors + ["\(path): expected \(types.joined(separator: " or ")), found \(type(of: value))"]
        }
        if let choices = schema["enum"] as? [Any], !choices.contains(where: { "\($0)" == "\(value)" }) {
            errors.append("\(path): \(value) is not one of \(choices)")
        }
        if let text = value as? String {
            if let maximum = schema["maxLength"] as? Int, text.count > maximum { errors.append("\(path): longer than \(maximum)") }
            if let minimum = schema["minLength"] as? Int, text.count < minimum { errors.append("\(path): shorter than \(minimum)") }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                errors.append("\(path): does not match \(pattern)")
            }
            switch schema["format"] as? String {
            case "email":
                if text.split(separator: "@").count != 2 || text.contains(" ") { errors.append("\(path): not an email address") }
            case "uri":
                if URL(string: text)?.scheme == nil { errors.append("\(path): not a URI") }
            case "phone-number":
                let number = text.hasPrefix("whatsapp:") ? String(text.dropFirst(9)) : text
                if !(number.hasPrefix("+") && number.dropFirst().allSatisfy(\.isNumber)) { errors.append("\(path): not an E.164 number") }
            default: break
            }
        }
        if let array = value as? [Any] {
            if let maximum = schema["maxItems"] as? Int, array.count > maximum { errors.append("\(path): more than \(maximum) items") }
            if let minimum = schema["minItems"] as? Int, array.count < minimum { errors.append("\(path): fewer than \(minimum) items") }
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in array.enumerated() { errors += validate(element, against: items, at: "\(path)[\(index)]") }
            }
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                errors.append("\(path): missing required '\(name)'")
            }
            for (name, element) in object {
                if let property = properties[name] as? [String: Any] {
                    errors += validate(element, against: property, at: "\(path).\(name)")
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    errors += validate(element, against: additional, at: "\(path).\(name)")
                } else if schema["additionalProperties"] as? Bool == false || !properties.isEmpty && schema["additionalProperties"] == nil {
                    // The specification lists every field the API takes; a field it does not name is a bug here.
                    errors.append("\(path): '\(name)' is not a property of the specification")
                }
            }
        }
        return errors
    }

    static func isType(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "string": return value is String
        case "integer": return (value as? NSNumber).map { !($0 is Bool) && $0.doubleValue == $0.doubleValue.rounded() } ?? false
        case "number": return value is NSNumber
        case "boolean": return value is Bool
        case "array": return value is [Any]
        case "object": return value is [String: Any]
        case "null": return value is NSNull
        default: return true
        }
    }
}
