import HeraldCore

/// What `herald validate` knows statically about a variable's value: enough to tell which names
/// a section makes visible.
indirect enum VariableShape: Sendable, Hashable {
    /// Text, number, bool or time: a section over it sees the same names as outside.
    case scalar
    /// A section over it repeats for each item, which has this shape.
    case list(VariableShape)
    /// A section over it sees these fields, then the outer names.
    case map([String: VariableShape])
    /// Could hold anything (request data, an empty list): names under it are not checked.
    case unknown

    init(_ type: AttributeType) {
        switch type {
        case .string, .number, .bool, .time: self = .scalar
        case .list(let element): self = .list(VariableShape(element))
        }
    }

    init(_ value: TemplateValue) {
        switch value {
        case .string, .number, .bool:
            self = .scalar
        case .map(let fields):
            self = .map(fields.mapValues(VariableShape.init))
        case .list(let items):
            self = .list(VariableShape.merging(items.map(VariableShape.init)))
        }
    }

    /// The shape that covers all items of a list.
    private static func merging(_ shapes: [VariableShape]) -> VariableShape {
        guard let first = shapes.first else { return .unknown }
        if shapes.allSatisfy({ $0 == first }) { return first }
        var fields: [String: VariableShape] = [:]
        for shape in shapes {
            guard case .map(let itemFields) = shape else { return .unknown }
            // A field that only some items have is still a field the section may use.
            fields.merge(itemFields) { existing, _ in existing }
        }
        return .map(fields)
    }

    /// The shape at a dotted path below this one (`order.total` below `order`'s shape).
    func descendant(_ path: some Sequence<Substring>) -> VariableShape {
        var shape = self
        for component in path {
            guard case .map(let fields) = shape, let field = fields[String(component)] else { return .unknown }
            shape = field
        }
        return shape
    }

    /// The scope a section over a value of this shape pushes.
    var sectionScope: VariableShape {
        switch self {
        case .list(let item): item.sectionScope
        case .map, .unknown, .scalar: self
        }
    }
}
