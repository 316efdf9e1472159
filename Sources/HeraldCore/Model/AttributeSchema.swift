/// The type of a declared user attribute (`attributes:` in herald.yml).
public indirect enum AttributeType: Sendable, Hashable, Codable, CustomStringConvertible {
    case string
    case number
    case bool
    case time
    case list(AttributeType)

    /// `string`, `number`, `bool`, `time`, `[string]`
    public var description: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .bool: "bool"
        case .time: "time"
        case .list(let element): "[\(element)]"
        }
    }
}

/// One declared attribute: its type and, for strings, an optional closed set of values.
public struct AttributeDefinition: Sendable, Hashable, Codable {
    public var name: String
    public var type: AttributeType
    /// For `{type: string, values: [...]}`: the only values the attribute may take.
    public var allowedValues: [String]?
    public var location: SourceLocation?

    public init(name: String, type: AttributeType, allowedValues: [String]? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.type = type
        self.allowedValues = allowedValues
        self.location = location
    }
}

/// The attribute schema that audience rules are type-checked against and imports are validated
/// against. Order is the order of herald.yml.
public struct AttributeSchema: Sendable, Hashable, Codable {
    public private(set) var definitions: [AttributeDefinition]

    public init(_ definitions: [AttributeDefinition] = []) {
        self.definitions = definitions
    }

    public subscript(name: String) -> AttributeDefinition? {
        definitions.first { $0.name == name }
    }

    public var names: [String] { definitions.map(\.name) }

    public mutating func append(_ definition: AttributeDefinition) {
        definitions.append(definition)
    }
}
