/// A value that a template can show: campaign params, user fields and attributes, API data.
public indirect enum TemplateValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case list([TemplateValue])
    case map([String: TemplateValue])

    /// Numbers without a fractional part print without `.0`.
    public var description: String {
        switch self {
        case .string(let value): value
        case .number(let value):
            value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): String(value)
        case .list(let values): values.map(\.description).joined(separator: ", ")
        case .map(let values): values.keys.sorted().map { "\($0): \(values[$0]!)" }.joined(separator: ", ")
        }
    }
}
