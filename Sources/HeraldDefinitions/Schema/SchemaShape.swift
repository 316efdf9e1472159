import Foundation

/// What a value in a workspace file may be, as the loader reads it: the definitions that
/// `herald schema` turns into JSON Schema and that the parsers take their field names from.
///
/// The loader reads every YAML scalar as text and interprets it per field, so a "text" field
/// takes any scalar (`title: 2026` is the text "2026"), while a number field takes a number.
public indirect enum SchemaShape: Sendable {
    /// Any scalar, read as text.
    case text
    /// A string matching an ECMA-262 pattern (anchored by the pattern itself).
    case pattern(String)
    /// A name: a string matching the pattern, or a whole number, which YAML reads as a number
    /// and the loader as its digits (`name: 30`, `event: 2024`).
    case name(String)
    case integer(minimum: Int?, maximum: Int? = nil)
    case boolean
    /// One of these words.
    case choice([String])
    case list(SchemaShape, minItems: Int = 0, maxItems: Int? = nil, unique: Bool = false)
    case object(SchemaObject)
    /// A mapping with free keys (`params`, `attributes`, `providers`).
    case map(keys: SchemaShape?, values: SchemaShape)
    case anyOf([SchemaShape])
    /// A definition shared in the file's `$defs`.
    case reference(String)
    /// Any value but null (a template parameter: text, number, list or mapping).
    case anyValue
    /// Never valid: a field that is known only to be refused with a better message.
    case never
}

/// One field of a mapping.
public struct SchemaProperty: Sendable {
    public var name: String
    public var shape: SchemaShape
    /// Required by the loader, which reports `missing field '…'` without it.
    public var isRequired: Bool
    /// Whether `field:` with no value reads as absent, as it does for the loader's optional
    /// fields; `false` for required fields and provider settings, where it is an error.
    public var isNullable: Bool
    public var summary: String
    public var examples: [String]

    public init(_ name: String, _ shape: SchemaShape, required: Bool = false, nullable: Bool? = nil, _ summary: String, examples: [String] = []) {
        self.name = name
        self.shape = shape
        self.isRequired = required
        self.isNullable = nullable ?? !required
        self.summary = summary
        self.examples = examples
    }
}

/// A mapping with known fields; any other field is an error (`unknown field`, with a
/// did-you-mean) in the loader, and `additionalProperties: false` in the schema.
public struct SchemaObject: Sendable {
    public var summary: String?
    public var properties: [SchemaProperty]
    /// Further conditions, as JSON Schema (`oneOf` of required fields and the like): what the
    /// loader checks between fields.
    public var conditions: [SchemaCondition]

    public init(_ summary: String? = nil, _ properties: [SchemaProperty], conditions: [SchemaCondition] = []) {
        self.summary = summary
        self.properties = properties
        self.conditions = conditions
    }

    /// The field names, in order: the loader's list of known fields.
    public var names: [String] { properties.map(\.name) }

    public subscript(name: String) -> SchemaProperty? {
        properties.first { $0.name == name }
    }
}

/// A condition between the fields of one mapping.
public enum SchemaCondition: Sendable {
    /// Exactly one of these fields.
    case exactlyOne([String])
    /// At least one of these fields.
    case atLeastOne([String])
    /// When `field` is present, none of `forbidden` may be.
    case excludes(field: String, forbidden: [String])
    /// When `field` matches `pattern`, none of `forbidden` may be.
    case excludesWhen(field: String, pattern: String, forbidden: [String])
    /// When `field` is `value`, none of `forbidden` may be.
    case excludesWhenEqual(field: String, value: String, forbidden: [String])
    /// At least one of `fields` unless `field` is `value`.
    case atLeastOneUnless(fields: [String], field: String, value: String)
}

extension SchemaShape {
    /// The JSON Schema (draft 2020-12) of this shape, as JSON-serialisable values.
    func jsonSchema() -> [String: Any] {
        switch self {
        case .text:
            return ["type": ["string", "number", "boolean"]]
        case .pattern(let pattern):
            return ["type": "string", "pattern": pattern]
        case .name(let pattern):
            // A pattern constrains strings only, so a number passes it.
            return ["type": ["string", "integer"], "pattern": pattern]
        case .integer(let minimum, let maximum):
            var schema: [String: Any] = ["type": "integer"]
            if let minimum { schema["minimum"] = minimum }
            if let maximum { schema["maximum"] = maximum }
            return schema
        case .boolean:
            return ["type": "boolean"]
        case .choice(let words):
            return ["enum": words]
        case .list(let item, let minItems, let maxItems, let unique):
            var schema: [String: Any] = ["type": "array", "items": item.jsonSchema()]
            if minItems > 0 { schema["minItems"] = minItems }
            if let maxItems { schema["maxItems"] = maxItems }
            if unique { schema["uniqueItems"] = true }
            return schema
        case .object(let object):
            return object.jsonSchema()
        case .map(let keys, let values):
            var schema: [String: Any] = ["type": "object", "additionalProperties": values.jsonSchema()]
            if let keys { schema["propertyNames"] = keys.jsonSchema() }
            return schema
        case .anyOf(let shapes):
            return ["anyOf": shapes.map { $0.jsonSchema() }]
        case .reference(let name):
            return ["$ref": "#/$defs/\(name)"]
        case .anyValue:
            return ["type": ["string", "number", "boolean", "array", "object"]]
        case .never:
            return ["not": [String: Any]()]
        }
    }
}

extension SchemaProperty {
    func jsonSchema() -> [String: Any] {
        var schema = shape.jsonSchema()
        if isNullable {
            schema = Self.allowingNull(schema)
        }
        schema["description"] = summary
        if !examples.isEmpty { schema["examples"] = examples }
        return schema
    }

    /// The schema that also takes null, written so that a validator still reports the precise
    /// problem with a wrong value (a null branch of `anyOf` would turn every error into "not
    /// valid under any of the given schemas").
    static func allowingNull(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if let type = schema["type"] as? String {
            schema["type"] = [type, "null"]
        } else if let types = schema["type"] as? [String] {
            schema["type"] = types + ["null"]
        } else if let words = schema["enum"] as? [Any] {
            schema["enum"] = words + [NSNull()]
        } else if let shapes = schema["anyOf"] as? [Any] {
            schema["anyOf"] = shapes + [["type": "null"]]
        } else {
            return ["anyOf": [schema, ["type": "null"]]]
        }
        return schema
    }
}

extension SchemaObject {
    func jsonSchema() -> [String: Any] {
        var schema: [String: Any] = [
            "type": "object",
            "properties": Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.jsonSchema()) }),
            "additionalProperties": false,
        ]
        if let summary { schema["description"] = summary }
        let required = properties.filter(\.isRequired).map(\.name)
        if !required.isEmpty { schema["required"] = required }
        let rules = conditions.map { $0.jsonSchema() }
        if !rules.isEmpty { schema["allOf"] = rules }
        return schema
    }
}

extension SchemaCondition {
    /// A field counts as present when it has a value: the loader reads `field:` as absent.
    private static func present(_ field: String) -> [String: Any] {
        ["required": [field], "properties": [field: ["not": ["type": "null"]]]]
    }

    private static func none(_ fields: [String]) -> [String: Any] {
        ["not": ["anyOf": fields.map(present)]]
    }

    func jsonSchema() -> [String: Any] {
        switch self {
        case .exactlyOne(let fields):
            return ["oneOf": fields.map(Self.present)]
        case .atLeastOne(let fields):
            return ["anyOf": fields.map(Self.present)]
        case .excludes(let field, let forbidden):
            return ["if": Self.present(field), "then": Self.none(forbidden)]
        case .excludesWhen(let field, let pattern, let forbidden):
            return [
                "if": ["required": [field], "properties": [field: ["type": "string", "pattern": pattern]]],
                "then": Self.none(forbidden),
            ]
        case .excludesWhenEqual(let field, let value, let forbidden):
            return [
                "if": ["required": [field], "properties": [field: ["const": Self.yamlValue(value)]]],
                "then": Self.none(forbidden),
            ]
        case .atLeastOneUnless(let fields, let field, let value):
            return [
                "if": ["not": ["required": [field], "properties": [field: ["const": Self.yamlValue(value)]]]],
                "then": ["anyOf": fields.map(Self.present)],
            ]
        }
    }

    /// `true` and `false` are booleans in YAML; other words are text.
    private static func yamlValue(_ word: String) -> Any {
        switch word {
        case "true": true
        case "false": false
        default: word
        }
    }
}
