import HeraldCore

/// What `herald validate` knows statically about a variable's value: enough to tell which names
/// a section makes visible, and which transforms apply to it.
indirect enum VariableShape: Sendable, Hashable {
    /// Text, number, bool, date, instant or money: a section over it sees the same names as
    /// outside. The kind is nil for a list item that is sometimes one kind, sometimes another.
    case scalar(ValueKind?)
    /// A section over it repeats for each item, which has this shape.
    case list(VariableShape)
    /// A section over it sees these fields, then the outer names.
    case map([String: VariableShape])
    /// Could hold anything (request data, an empty list): names under it are not checked.
    case unknown

    init(_ type: AttributeType) {
        switch type {
        case .string: self = .scalar(.text)
        case .number: self = .scalar(.number)
        case .bool: self = .scalar(.bool)
        case .time: self = .scalar(.time)
        case .list(let element): self = .list(VariableShape(element))
        }
    }

    init(_ value: TemplateValue) {
        switch value {
        case .string: self = .scalar(.text)
        case .number: self = .scalar(.number)
        case .bool: self = .scalar(.bool)
        case .date: self = .scalar(.date)
        case .time: self = .scalar(.time)
        case .money: self = .scalar(.money)
        case .map(let fields):
            self = .map(fields.mapValues(VariableShape.init))
        case .list(let items):
            self = .list(VariableShape.merging(items.map(VariableShape.init)))
        }
    }

    /// The kind of value, when it is known.
    var kind: ValueKind? {
        switch self {
        case .scalar(let kind): kind
        case .list: .list
        case .map: .map
        case .unknown: nil
        }
    }

    /// The shape that covers all items of a list.
    private static func merging(_ shapes: [VariableShape]) -> VariableShape {
        guard let first = shapes.first else { return .unknown }
        if shapes.allSatisfy({ $0 == first }) { return first }
        if shapes.allSatisfy({ if case .scalar = $0 { true } else { false } }) { return .scalar(nil) }
        var fields: [String: VariableShape] = [:]
        for shape in shapes {
            guard case .map(let itemFields) = shape else { return .unknown }
            // A field that only some items have is still a field the section may use; one whose
            // items disagree is only known to be there.
            fields.merge(itemFields) { existing, new in existing == new ? existing : .unknown }
        }
        return .map(fields)
    }

    /// The shape at a dotted path below this one (`order.total` below `order`'s shape).
    func descendant(_ path: some Sequence<Substring>) -> VariableShape {
        var shape = self
        for component in path {
            switch shape {
            case .map(let fields):
                guard let field = fields[String(component)] else { return .unknown }
                shape = field
            case .scalar(.money) where component == "amount":
                shape = .scalar(.number)
            case .scalar(.money) where component == "currency":
                shape = .scalar(.text)
            default:
                return .unknown
            }
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
