import Foundation
import HeraldCore
import Mustache

/// The root context of one render: the recipient's variables under the built-ins, and the
/// formatter of the recipient's locale and zone for the formatting helpers.
///
/// Values are handed to swift-mustache as the types it knows how to render (strings, booleans,
/// sequences, parents, custom renderables) on lookup, so that nothing is converted that the
/// template does not use. An empty string is falsey, as in mustache.js: `{{#coupon}}…{{/coupon}}`
/// is skipped when the coupon is empty.
struct RenderScope: MustacheParent {
    var variables: [String: TemplateValue]
    /// The rendered push url; empty when the template has none.
    var link: String
    var unsubscribeURL: String
    var formatter: LocaleFormatter

    func child(named name: String) -> Any? {
        // Built-ins are Herald's to set: a variable of the same name does not replace them.
        switch name {
        case BuiltInVariable.link.name:
            return link.isEmpty ? nil : link
        case BuiltInVariable.unsubscribeURL.name:
            return unsubscribeURL.isEmpty ? nil : unsubscribeURL
        default:
            return variables[name].map { MustacheBridge.object(for: $0, formatter: formatter) }
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
        case .value(let value): MustacheBridge.text(for: value, formatter: formatter)
        case .none: nil
        }
    }

    /// What `{{helper(name)}}` prints for a name looked up from the root (before escaping), or
    /// nil when it prints nothing: the name has no value, or the helper does not apply to it.
    func text(at path: VariablePath, formattedWith helper: FormattingHelper) -> String? {
        guard case .value(let value) = lookUp(path) else { return nil }
        return formatter.format(helper, value)
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
            // Only maps and money have named fields in Mustache's lookup (see MustacheBridge).
            for component in rest {
                switch value {
                case .map(let fields):
                    guard let field = fields[component] else { return nil }
                    value = field
                case .money(let money) where component == "amount":
                    value = .number(NSDecimalNumber(decimal: money.amount).doubleValue)
                case .money(let money) where component == "currency":
                    value = .string(money.currency)
                default:
                    return nil
                }
            }
            return .value(value)
        }
    }
}

/// Turns template values into the types swift-mustache renders.
enum MustacheBridge {
    static func object(for value: TemplateValue, formatter: LocaleFormatter) -> Any {
        switch value {
        case .string(let text):
            text.isEmpty ? EmptyText() : text
        case .number, .date, .time, .money:
            MustacheScalar(value: value, formatter: formatter)
        case .bool(let flag):
            flag
        case .list(let items):
            MustacheList(items: items, formatter: formatter)
        case .map(let fields):
            MustacheMap(fields: fields, formatter: formatter)
        }
    }

    /// What swift-mustache prints for `object(for: value)`: the same text, without its dynamic
    /// lookups.
    static func text(for value: TemplateValue, formatter: LocaleFormatter) -> String {
        switch value {
        case .string(let text): text
        case .number(let number): numberText(number)
        case .bool(let flag): flag ? "true" : "false"
        case .money(let money): formatter.currency(money)
        case .date, .time, .list, .map: value.description
        }
    }

    /// Whole numbers print without `.0`, as `TemplateValue.description` does.
    static func numberText(_ number: Double) -> String {
        wholeNumber(number).map(String.init) ?? String(describing: number)
    }

    static func wholeNumber(_ number: Double) -> Int? {
        number.rounded() == number && abs(number) < 1e15 ? Int(number) : nil
    }
}

/// An empty string: renders as nothing and counts as false in a section.
struct EmptyText: MustacheCustomRenderable {
    var renderText: String { "" }
    var isNull: Bool { true }
}

/// A number, date, instant or money: prints as `MustacheBridge.text(for:)` says, takes the
/// formatting helpers (`{{date(ends_on)}}`) and, for whole numbers, swift-mustache's integer
/// transforms (`{{plusone(count)}}`). Money has the fields `amount` and `currency`.
struct MustacheScalar: MustacheCustomRenderable, MustacheTransformable, MustacheParent {
    var value: TemplateValue
    var formatter: LocaleFormatter

    var renderText: String { MustacheBridge.text(for: value, formatter: formatter) }
    var isNull: Bool { false }

    func transform(_ name: String) -> Any? {
        if let helper = FormattingHelper.byName[name] {
            return formatter.format(helper, value)
        }
        if case .number(let number) = value, let whole = MustacheBridge.wholeNumber(number) {
            return whole.transform(name)
        }
        return nil
    }

    func child(named name: String) -> Any? {
        guard case .money(let money) = value else { return nil }
        switch name {
        case "amount": return MustacheScalar(value: .number(NSDecimalNumber(decimal: money.amount).doubleValue), formatter: formatter)
        case "currency": return money.currency
        default: return nil
        }
    }
}

/// A list: iterated by a section, printed as `a, b, c` by a variable, with the array
/// transforms (`{{count(tags)}}`, `{{#first(items)}}`). It has no named fields: without
/// `MustacheParent`, swift-mustache would find the stored property `items` by reflection.
struct MustacheList: MustacheSequence, MustacheCustomRenderable, MustacheParent, MustacheTransformable {
    var items: [TemplateValue]
    var formatter: LocaleFormatter

    func makeIterator() -> LazyMapSequence<[TemplateValue], Any>.Iterator {
        let formatter = formatter
        return items.lazy.map { MustacheBridge.object(for: $0, formatter: formatter) }.makeIterator()
    }

    func child(named name: String) -> Any? { nil }

    func transform(_ name: String) -> Any? {
        items.map { MustacheBridge.object(for: $0, formatter: formatter) }.transform(name)
    }

    var renderText: String { TemplateValue.list(items).description }
    var isNull: Bool { false }
}

/// A map: its fields are looked up by name, and a variable prints `key: value, …`.
struct MustacheMap: MustacheParent, MustacheCustomRenderable {
    var fields: [String: TemplateValue]
    var formatter: LocaleFormatter

    func child(named name: String) -> Any? {
        fields[name].map { MustacheBridge.object(for: $0, formatter: formatter) }
    }

    var renderText: String { TemplateValue.map(fields).description }
    var isNull: Bool { false }
}
