/// A variable that Herald itself supplies to every template, whatever the recipient and the
/// campaign: the one list that rendering and `herald validate` both read.
///
/// A built-in always has a value (possibly empty), so it is never reported as missing or
/// unknown, and a user attribute, campaign param or request field of the same name does not
/// replace it.
public struct BuiltInVariable: Sendable, Hashable, CustomStringConvertible {
    /// The name templates use: `{{link}}`.
    public var name: String
    /// What the variable holds, for documentation and `herald validate` output.
    public var summary: String

    /// A built-in variable; Herald's own are listed in `all`.
    public init(name: String, summary: String) {
        self.name = name
        self.summary = summary
    }

    /// `{{link}}`: the template's push `url`, rendered for the recipient; empty when the template
    /// has no push url. Used by SMS and email to carry the same destination as the push.
    public static let link = BuiltInVariable(
        name: "link",
        summary: "the template's push url, rendered for the recipient (empty when the template has none)"
    )

    /// `{{unsubscribe_url}}`: the recipient's signed one-click unsubscribe link,
    /// `tracking.base_url` + `/u/{token}` (``UnsubscribeLinks``); empty without `tracking:`.
    public static let unsubscribeURL = BuiltInVariable(
        name: "unsubscribe_url",
        summary: "the recipient's signed one-click unsubscribe link, tracking.base_url/u/{token} (empty without tracking:)"
    )

    /// Every built-in variable.
    public static let all: [BuiltInVariable] = [link, unsubscribeURL]

    /// The names of every built-in variable.
    public static let names: Set<String> = Set(all.map(\.name))

    /// `link: the template's push url, …`
    public var description: String { "\(name): \(summary)" }
}
