import HeraldCore

/// The template checks of `herald validate`.
///
/// - Every text field of every template file compiles as Mustache; an error names the file
///   position and Mustache's reason.
/// - Partials (`{{> name}}`, `{{< name}}`) are errors: Herald has no other templates to include.
/// - Every variable a campaign's template uses on the campaign's channels can be supplied: a
///   built-in user field (`User.templateFieldNames`), a declared attribute, a top-level key of the
///   campaign's `params`, or a built-in (`BuiltInVariable.all`). Dotted names check their first
///   component. Inside a section the section's own fields are visible too; a section over
///   something whose fields are not known statically is not looked into. For a triggered or
///   transactional campaign the send request may carry more data, so an unknown variable is a
///   warning there; otherwise it is an error.
/// - `{{link}}` in a file whose effective content has no push url is a warning (it renders empty).
/// - Every transform is one Herald or swift-mustache knows (`FormattingHelper.all`, `uppercased`,
///   `count`…), and applies to the value it is given wherever that value is known: a campaign
///   param (for every locale of `locale_params`, with the template file that locale reads), a
///   user field or a declared attribute. `{{date(discount)}}` with `discount: 30%` is an error,
///   since it would render empty.
///
/// A campaign whose template does not exist is skipped: that is the campaign file's error,
/// reported where templates are resolved.
public enum TemplateChecker {
    /// Every template diagnostic of a workspace, sorted by file position.
    ///
    /// `templates/restock.yml:4:9: unknown variable 'frist_name' in push.body (did you mean 'first_name'?)`
    public static func check(_ workspace: Workspace) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var tagsByText: [TextKey: [MustacheTag]] = [:]

        for name in workspace.templates.keys.sorted() {
            guard let template = workspace.templates[name] else { continue }
            for file in files(of: template) {
                for channel in Channel.allCases {
                    for field in file.content.fields(for: channel) {
                        do {
                            _ = try CompiledText(field.text, field: field.name, escaping: field.escaping)
                        } catch {
                            diagnostics.append(error)
                            continue
                        }
                        let tags = MustacheTagScanner.tags(in: field.text.text.normalizingLineEndings())
                        tagsByText[TextKey(field)] = tags
                        for tag in tags where tag.kind == .partial || tag.kind == .parent {
                            diagnostics.append(
                                Diagnostic(
                                    "unsupported partial '\(tag.source)' in \(field.name)",
                                    at: field.text.location(ofLine: tag.line, column: tag.column),
                                    hint: "a template cannot include another template"
                                )
                            )
                        }
                        for tag in tags where tag.kind != .sectionEnd {
                            for transform in tag.transforms where !TemplateTransforms.isKnown(transform) {
                                diagnostics.append(
                                    Diagnostic(
                                        "unknown transform '\(transform)' in \(field.name)",
                                        at: field.text.location(ofLine: tag.line, column: tag.column),
                                        hint: transform.count <= 64
                                            ? Suggestion.hint(for: transform, in: TemplateTransforms.names)
                                            : "expected one of: " + TemplateTransforms.names.joined(separator: ", ")
                                    )
                                )
                            }
                        }
                    }
                }
            }
        }

        var findings = Findings()
        for campaign in workspace.campaigns {
            // Each variant is checked as it is sent: its template, its params over the campaign's.
            for version in [campaign] + campaign.experiment.variants.map(campaign.applying) {
                guard let template = workspace.templates[version.template] else { continue }
                check(version, template: template, in: workspace, tagsByText: tagsByText, into: &findings)
            }
        }
        diagnostics += findings.diagnostics()

        return deduplicated(diagnostics).sorted { lhs, rhs in
            let left = lhs.location.map { ($0.file, $0.line, $0.column) } ?? ("", 0, 0)
            let right = rhs.location.map { ($0.file, $0.line, $0.column) } ?? ("", 0, 0)
            if left != right { return left < right }
            return lhs.message < rhs.message
        }
    }

    /// Leaves out of `workspace` the campaigns whose template has errors (Mustache that does not
    /// compile, a variable nothing supplies), so that the others can still be sent.
    ///
    /// - Returns: the usable workspace, with the campaigns left out added to
    ///   `unusableCampaigns`, and every template diagnostic.
    public static func usable(_ workspace: Workspace) -> (workspace: Workspace, diagnostics: [Diagnostic]) {
        let diagnostics = check(workspace)
        guard diagnostics.contains(where: { $0.severity == .error }) else { return (workspace, diagnostics) }
        var usable = workspace
        usable.campaigns = workspace.campaigns.filter { campaign in
            var alone = workspace
            alone.campaigns = [campaign]
            let names = Set([campaign.template] + campaign.experiment.variants.compactMap(\.template))
            alone.templates = workspace.templates.filter { names.contains($0.key) }
            guard check(alone).contains(where: { $0.severity == .error }) else { return true }
            usable.unusableCampaigns[campaign.id] = "template '\(campaign.template)' has errors"
            return false
        }
        return (usable, diagnostics)
    }

    // MARK: - One campaign

    private static func check(
        _ campaign: Campaign,
        template: Template,
        in workspace: Workspace,
        tagsByText: [TextKey: [MustacheTag]],
        into findings: inout Findings
    ) {
        let attributes = workspace.configuration.attributes
        var userRoot: [String: VariableShape] = [:]
        for definition in attributes.definitions {
            userRoot[definition.name] = VariableShape(definition.type)
        }
        for name in User.templateFieldNames {
            userRoot[name] = name == "created_at" ? .scalar(.time) : .scalar(.text)
        }
        func makeRoot(params: [String: TemplateValue]) -> [String: VariableShape] {
            var root = userRoot
            for (name, value) in params {
                root[name] = VariableShape(value)
            }
            for builtIn in BuiltInVariable.all {
                root[builtIn.name] = .scalar(.text)
            }
            return root
        }
        let root = makeRoot(params: campaign.params)
        let candidates = User.templateFieldNames + attributes.names + campaign.params.keys.sorted() + BuiltInVariable.all.map(\.name)
        let isStrict = !(campaign.isTransactional || campaign.schedule.isTrigger)

        // The texts this campaign renders: its channels' fields in every file, and the push url
        // wherever one of them uses `{{link}}`.
        var texts: [TemplateField] = []
        var seen: Set<TextKey> = []
        func add(_ field: TemplateField) {
            if seen.insert(TextKey(field)).inserted { texts.append(field) }
        }
        for file in files(of: template) {
            let effective = template.content(for: file.locale)
            for channel in campaign.channels {
                for field in file.content.fields(for: channel) {
                    add(field)
                    let linkTags = (tagsByText[TextKey(field)] ?? []).filter { $0.kind != .other && $0.rootName == BuiltInVariable.link.name }
                    guard !linkTags.isEmpty, field.name != "push.url" else { continue }
                    if let url = effective.linkField {
                        add(url)
                    } else {
                        for tag in linkTags {
                            findings.linkWithoutURL(
                                at: field.text.location(ofLine: tag.line, column: tag.column),
                                field: field.name,
                                template: template.name,
                                locale: file.locale
                            )
                        }
                    }
                }
            }
        }

        // Transforms are checked against the values each locale reads: the file it gets and the
        // params it gets. Every locale a recipient may have reads the same as one of these: the
        // base, a variant or locale_params locale, or the language of one.
        for locale in Self.localesToCheck(template: template, campaign: campaign) {
            let params = campaign.params(for: locale)
            let localeRoot = VariableShape.map(makeRoot(params: params))
            let effective = template.content(for: locale)
            var fields: [TemplateField] = []
            for channel in campaign.channels {
                fields += effective.fields(for: channel)
            }
            let usesLink = fields.contains { field in
                (tagsByText[TextKey(field)] ?? []).contains { $0.kind != .other && $0.rootName == BuiltInVariable.link.name }
            }
            if usesLink, let url = effective.linkField, !fields.contains(where: { TextKey($0) == TextKey(url) }) {
                fields.append(url)
            }
            for field in fields {
                guard let tags = tagsByText[TextKey(field)] else { continue }
                findings.checked(TextKey(field), by: campaign.id)
                Self.forEachResolvedTag(in: tags, root: localeRoot) { tag, shape, isInSection in
                    guard !tag.transforms.isEmpty, let shape else { return }
                    guard let misuse = Self.misappliedTransform(in: tag, shape: shape) else { return }
                    let source = isInSection ? nil : Self.source(
                        of: tag, campaign: campaign, locale: locale, params: params, attributes: attributes
                    )
                    findings.problem(
                        "transform '\(misuse.transform)' does not apply to \(misuse.subject) in \(field.name)",
                        detail: "\(source?.localeNote ?? "")it is \(misuse.kind.phrase), not \(misuse.expected)",
                        at: field.text.location(ofLine: tag.line, column: tag.column),
                        hint: Self.hint(for: misuse, source: source),
                        text: TextKey(field),
                        campaign: campaign.id
                    )
                }
            }
        }

        for field in texts {
            guard let tags = tagsByText[TextKey(field)] else { continue }
            findings.checked(TextKey(field), by: campaign.id)
            for (tag, sectionFields) in unknownNames(in: tags, root: .map(root)) {
                let name = String(tag.rootName)
                findings.unknown(
                    name,
                    at: field.text.location(ofLine: tag.line, column: tag.column),
                    field: field.name,
                    text: TextKey(field),
                    campaign: campaign.id,
                    isStrict: isStrict,
                    suggestion: Suggestion.closest(to: name, in: sectionFields + candidates)
                )
            }
        }
    }

    /// The tags whose names cannot be resolved, following Mustache's lookup through the
    /// sections open at each tag, each with the field names its open sections make visible
    /// (innermost first), for suggestions.
    static func unknownNames(in tags: [MustacheTag], root: VariableShape) -> [(tag: MustacheTag, sectionFields: [String])] {
        var unknown: [(tag: MustacheTag, sectionFields: [String])] = []
        forEachResolvedTag(in: tags, root: root) { tag, shape, _, scopes in
            guard shape == nil else { return }
            let sectionFields = scopes.dropFirst().reversed().flatMap { scope -> [String] in
                if case .map(let fields) = scope { return fields.keys.sorted() }
                return []
            }
            unknown.append((tag, sectionFields))
        }
        return unknown
    }

    /// Calls `body` for each tag that names a value (variables and sections), with the shape its
    /// name resolves to (nil when it cannot resolve) and whether a section is open around it,
    /// following Mustache's lookup through the open sections.
    static func forEachResolvedTag(in tags: [MustacheTag], root: VariableShape, _ body: (MustacheTag, VariableShape?, Bool) -> Void) {
        forEachResolvedTag(in: tags, root: root) { tag, shape, isInSection, _ in body(tag, shape, isInSection) }
    }

    private static func forEachResolvedTag(
        in tags: [MustacheTag], root: VariableShape, _ body: (MustacheTag, VariableShape?, Bool, [VariableShape]) -> Void
    ) {
        var scopes: [VariableShape] = [root]
        for tag in tags {
            switch tag.kind {
            case .variable, .unescapedVariable, .section, .invertedSection:
                let resolved = resolve(tag, in: scopes)
                body(tag, resolved, scopes.count > 1, scopes)
                if tag.kind == .section {
                    // An unknown section name was reported once; the names inside it are not.
                    let shape = tag.hasTransforms ? .unknown : (resolved ?? .unknown)
                    scopes.append(shape.sectionScope)
                } else if tag.kind == .invertedSection {
                    // Rendered only when the value is absent or empty: nothing new is visible.
                    scopes.append(.scalar(nil))
                }
            case .block, .parent:
                scopes.append(.scalar(nil))
            case .sectionEnd:
                if scopes.count > 1 { scopes.removeLast() }
            case .partial, .other:
                break
            }
        }
    }

    // MARK: - Transforms

    /// A transform given a value it does not apply to.
    struct TransformMisuse {
        var transform: String
        /// `'ends_on'`, or `the result of 'uppercased'`.
        var subject: String
        var kind: ValueKind
        /// `a date or an instant`
        var expected: String
        var accepted: [ValueKind]
    }

    /// The first transform of a tag (innermost first, as swift-mustache applies them) that does
    /// not apply to what it is given, when the value's kind is known.
    static func misappliedTransform(in tag: MustacheTag, shape: VariableShape) -> TransformMisuse? {
        var kind = shape.kind
        var subject = "'\(tag.name)'"
        for transform in tag.transforms.reversed() {
            guard let current = kind else { return nil }
            switch TemplateTransforms.apply(transform, to: current) {
            case .value(let next):
                kind = next
                subject = "the result of '\(transform)'"
            case .unknown:
                return nil
            case .inapplicable:
                let accepted = TemplateTransforms.accepted(by: transform)
                let phrases = accepted.map(\.phrase)
                let expected = phrases.count <= 1 ? (phrases.first ?? "") : phrases.dropLast().joined(separator: ", ") + " or " + (phrases.last ?? "")
                return TransformMisuse(transform: transform, subject: subject, kind: current, expected: expected, accepted: accepted)
            }
        }
        return nil
    }

    /// Where the value a tag names comes from, for the message and hint of a misapplied transform.
    struct ValueSource {
        /// `for ko `, when a `locale_params` entry gives the value.
        var localeNote: String
        /// `'ends_on' is '12월 7일' in locale_params.ko`
        var description: String
        var isParam: Bool
    }

    private static func source(
        of tag: MustacheTag, campaign: Campaign, locale: String?, params: [String: TemplateValue], attributes: AttributeSchema
    ) -> ValueSource? {
        let root = String(tag.rootName)
        if var value = params[root] {
            for component in tag.name.split(separator: ".").dropFirst() {
                guard case .map(let fields) = value, let field = fields[String(component)] else { break }
                value = field
            }
            let localeKey = campaign.paramSource(of: root, for: locale)
            let place = localeKey.map { "locale_params.\($0)" } ?? "params"
            return ValueSource(
                localeNote: localeKey.map { "for \($0) " } ?? "",
                description: "'\(tag.name)' is \(quoted(value.description)) in \(place)",
                isParam: true
            )
        }
        if let definition = attributes.definitions.first(where: { $0.name == root }) {
            return ValueSource(localeNote: "", description: "'\(root)' is a \(definition.type) attribute in herald.yml", isParam: false)
        }
        if User.templateFieldNames.contains(root) {
            return ValueSource(localeNote: "", description: "'\(root)' is a user field", isParam: false)
        }
        return nil
    }

    private static func hint(for misuse: TransformMisuse, source: ValueSource?) -> String {
        var parts: [String] = []
        if let source { parts.append(source.description) }
        if source?.isParam ?? true {
            if misuse.accepted.contains(.date) {
                parts.append("write a date such as 2026-12-07, or an instant such as 2026-12-07T18:00:00+09:00, without quotes")
            } else if misuse.accepted.contains(.time) {
                parts.append("write an instant such as 2026-12-07T18:00:00+09:00, without quotes")
            } else if misuse.accepted.contains(.money) {
                parts.append("write money as {amount: 129.00, currency: USD}")
            } else if misuse.accepted == [.number] {
                parts.append("write a number without quotes")
            }
        }
        return parts.joined(separator: "; ")
    }

    private static func quoted(_ text: String) -> String {
        var shown = text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n")
        if shown.count > 60 { shown = String(shown.prefix(57)) + "…" }
        return "'\(shown)'"
    }

    /// The locales whose recipients may read a different combination of template file and
    /// params: the base (nil), every variant and `locale_params` locale, and their languages.
    static func localesToCheck(template: Template, campaign: Campaign) -> [String?] {
        var locales: Set<String> = []
        for locale in Array(template.variants.keys) + Array(campaign.localeParams.keys) {
            locales.insert(locale)
            locales.insert(LocaleFallback.language(of: locale))
        }
        return [nil] + locales.sorted()
    }

    /// The shape a tag's name resolves to, `.unknown` when it may resolve to something not known
    /// statically, or nil when it cannot resolve.
    private static func resolve(_ tag: MustacheTag, in scopes: [VariableShape]) -> VariableShape? {
        let root = tag.rootName
        guard !root.isEmpty else { return .unknown }
        let rest = tag.name.split(separator: ".").dropFirst()
        let candidates = tag.isAnchoredToCurrentContext ? Array(scopes.suffix(1)) : scopes.reversed()
        for scope in candidates {
            switch scope {
            case .map(let fields):
                if let shape = fields[String(root)] { return shape.descendant(rest) }
            case .unknown:
                return .unknown
            case .scalar, .list:
                continue
            }
        }
        return nil
    }

    // MARK: - Files and findings

    private struct TemplateFile {
        /// nil for the base file, else the variant's locale.
        var locale: String?
        var content: TemplateContent
    }

    private static func files(of template: Template) -> [TemplateFile] {
        [TemplateFile(locale: nil, content: template.base)]
            + template.variants.keys.sorted().compactMap { locale in
                template.variants[locale].map { TemplateFile(locale: locale, content: $0) }
            }
    }

    /// A text field, identified by where it is written.
    struct TextKey: Hashable {
        var location: SourceLocation
        var field: String

        init(_ field: TemplateField) {
            self.location = field.text.location
            self.field = field.name
        }
    }

    /// Unknown names collected over every campaign that renders a text, so that a text shared by
    /// several campaigns is reported once, naming the campaigns only when they disagree.
    private struct Findings {
        struct Key: Hashable {
            var location: SourceLocation
            var name: String
            var field: String
        }

        struct Unknown {
            var text: TextKey
            var campaigns: [String] = []
            var isStrict = false
            var suggestion: String?
        }

        struct ProblemKey: Hashable {
            var location: SourceLocation
            var message: String
            var detail: String
        }

        struct Problem {
            var hint: String?
            var text: TextKey
            var campaigns: [String] = []
        }

        private var order: [Key] = []
        private var unknowns: [Key: Unknown] = [:]
        private var problemOrder: [ProblemKey] = []
        private var problems: [ProblemKey: Problem] = [:]
        private var checkers: [TextKey: Set<String>] = [:]
        private var linkDiagnostics: [Diagnostic] = []

        mutating func checked(_ text: TextKey, by campaign: String) {
            checkers[text, default: []].insert(campaign)
        }

        mutating func unknown(_ name: String, at location: SourceLocation, field: String, text: TextKey, campaign: String, isStrict: Bool, suggestion: String?) {
            let key = Key(location: location, name: name, field: field)
            if unknowns[key] == nil { order.append(key) }
            var entry = unknowns[key] ?? Unknown(text: text)
            entry.campaigns.append(campaign)
            entry.isStrict = entry.isStrict || isStrict
            entry.suggestion = entry.suggestion ?? suggestion
            unknowns[key] = entry
        }

        /// An error in a text for one campaign; a problem found for several campaigns (or for
        /// several locales of one) is reported once.
        mutating func problem(_ message: String, detail: String, at location: SourceLocation, hint: String?, text: TextKey, campaign: String) {
            let key = ProblemKey(location: location, message: message, detail: detail)
            if problems[key] == nil { problemOrder.append(key) }
            var entry = problems[key] ?? Problem(hint: hint, text: text)
            if !entry.campaigns.contains(campaign) { entry.campaigns.append(campaign) }
            problems[key] = entry
        }

        mutating func linkWithoutURL(at location: SourceLocation, field: String, template: String, locale: String?) {
            let file = locale.map { "template '\(template)' (\($0))" } ?? "template '\(template)'"
            linkDiagnostics.append(
                Diagnostic(
                    "variable 'link' in \(field) renders empty",
                    at: location,
                    hint: "\(file) has no push url",
                    severity: .warning
                )
            )
        }

        func diagnostics() -> [Diagnostic] {
            var diagnostics = linkDiagnostics
            for key in order {
                guard let unknown = unknowns[key] else { continue }
                var message = "unknown variable '\(key.name)' in \(key.field)"
                let campaigns = unknown.campaigns
                if Set(campaigns) != checkers[unknown.text, default: []] {
                    let names = campaigns.map { "'\($0)'" }.joined(separator: ", ")
                    message += campaigns.count == 1 ? " for campaign \(names)" : " for campaigns \(names)"
                }
                let hint: String = if let suggestion = unknown.suggestion {
                    "did you mean '\(suggestion)'?"
                } else if unknown.isStrict {
                    "not a user field, declared attribute, campaign param or built-in variable"
                } else {
                    "renders empty unless the send request supplies it"
                }
                diagnostics.append(Diagnostic(message, at: key.location, hint: hint, severity: unknown.isStrict ? .error : .warning))
            }
            for key in problemOrder {
                guard let problem = problems[key] else { continue }
                var message = key.message
                let campaigns = problem.campaigns
                if Set(campaigns) != checkers[problem.text, default: []] {
                    let names = campaigns.map { "'\($0)'" }.joined(separator: ", ")
                    message += campaigns.count == 1 ? " for campaign \(names)" : " for campaigns \(names)"
                }
                message += ": " + key.detail
                diagnostics.append(Diagnostic(message, at: key.location, hint: problem.hint?.isEmpty == false ? problem.hint : nil))
            }
            return diagnostics
        }
    }

    private static func deduplicated(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var seen: Set<Diagnostic> = []
        return diagnostics.filter { seen.insert($0).inserted }
    }
}

extension Schedule {
    var isTrigger: Bool {
        if case .trigger = self { return true }
        return false
    }
}
