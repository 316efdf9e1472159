import HeraldCore
import Mustache

/// The root context of one render: the recipient's variables under the built-ins.
///
/// Values are handed to swift-mustache as the types it knows how to render (strings, numbers,
/// booleans, sequences, parents) on lookup, so that nothing is converted that the template does
/// not use. An empty string is falsey, as in mustache.js: `{{#coupon}}…{{/coupon}}` is skipped
/// when the coupon is empty.
struct RenderScope: MustacheParent {
    var variables: [String: TemplateValue]
    /// The rendered push url; empty when the template has none.
    var link: String
    var unsubscribeURL: String

    func child(named name: String) -> Any? {
        // Built-ins are Herald's to set: a variable of the same name does not replace them.
        switch name {
        case BuiltInVariable.link.name:
            return link.isEmpty ? nil : link
        case BuiltInVariable.unsubscribeURL.name:
            return unsubscribeURL.isEmpty ? nil : unsubscribeURL
        default:
            return variables[name].map(MustacheBridge.object(for:))
        }
    }

    /// Whether a (dotted) name resolves to a value, as Mustache looks it up from the root.
    func hasValue(at path: VariablePath) -> Bool {
        switch lookUp(path) {
        case .builtIn, .value: true
        case .none: false
        }
    }

    /// The text swift-mustache prints for a name looked up from the root (before escaping), or
    /// nil when it prints nothing.
    func text(at path: VariablePath) -> String? {
        switch lookUp(path) {
        case .builtIn(let text): text.isEmpty ? nil : text
        case .value(let value): MustacheBridge.text(for: value)
        case .none: nil
        }
    }

    private enum Found {
        case builtIn(String)
        case value(TemplateValue)
    }

    private func lookUp(_ path: VariablePath) -> Found? {
        guard let first = path.components.first else { return nil }
        let rest = path.components.dropFirst()
        switch first {
        case BuiltInVariable.link.name:
            return rest.isEmpty ? .builtIn(link) : nil
        case BuiltInVariable.unsubscribeURL.name:
            return rest.isEmpty ? .builtIn(unsubscribeURL) : nil
        default:
            guard var value = variables[first] else { return nil }
            // Only maps have named fields in Mustache's lookup (see MustacheBridge).
            for component in rest {
                guard case .map(let fields) = value, let field = fields[component] else { return nil }
                value = field
            }
            return .value(value)
        }
    }
}

/// Turns template values into the types swift-mustache renders.
enum MustacheBridge {
    static func object(for value: TemplateValue) -> Any {
        switch value {
        case .string(let text):
            text.isEmpty ? EmptyText() : text
        case .number(let number):
            // Whole numbers print without `.0`, as TemplateValue.description does.
            number.rounded() == number && abs(number) < 1e15 ? Int(number) : number
        case .bool(let flag):
            flag
        case .list(let items):
            MustacheList(items: items)
        case .map(let fields):
            MustacheMap(fields: fields)
        }
    }

    /// What swift-mustache prints for `object(for: value)`: the same text, without its dynamic
    /// lookups.
    static func text(for value: TemplateValue) -> String {
        switch value {
        case .string(let text): text
        case .number(let number):
            number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(describing: number)
        case .bool(let flag): flag ? "true" : "false"
        case .list, .map: value.description
        }
    }
}

/// An empty string: renders as nothing and counts as false in a section.
struct EmptyText: MustacheCustomRenderable {
    var renderText: String { "" }
    var isNull: Bool { true }
}

/// A list: iterated by a section, printed as `a, b, c` by a variable, with the array
/// transforms (`{{count(tags)}}`, `{{#first(items)}}`). It has no named fields: without
/// `MustacheParent`, swift-mustache would find the stored property `items` by reflection.
struct MustacheList: MustacheSequence, MustacheCustomRenderable, MustacheParent, MustacheTransformable {
    var items: [TemplateValue]

    func makeIterator() -> LazyMapSequence<[TemplateValue], Any>.Iterator {
        items.lazy.map(MustacheBridge.object(for:)).makeIterator()
    }

    func child(named name: String) -> Any? { nil }

    func transform(_ name: String) -> Any? {
        items.map(MustacheBridge.object(for:)).transform(name)
    }

    var renderText: String { TemplateValue.list(items).description }
    var isNull: Bool { false }
}

/// A map: its fields are looked up by name, and a variable prints `key: value, …`.
struct MustacheMap: MustacheParent, MustacheCustomRenderable {
    var fields: [String: TemplateValue]

    func child(named name: String) -> Any? {
        fields[name].map(MustacheBridge.object(for:))
    }

    var renderText: String { TemplateValue.map(fields).description }
    var isNull: Bool { false }
}
