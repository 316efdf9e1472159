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
                    }
                }
            }
        }

        var findings = Findings()
        for campaign in workspace.campaigns {
            guard let template = workspace.templates[campaign.template] else { continue }
            check(campaign, template: template, in: workspace, tagsByText: tagsByText, into: &findings)
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
            alone.templates = workspace.templates.filter { $0.key == campaign.template }
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
        var root: [String: VariableShape] = [:]
        for definition in attributes.definitions {
            root[definition.name] = VariableShape(definition.type)
        }
        for name in User.templateFieldNames {
            root[name] = .scalar
        }
        for (name, value) in campaign.params {
            root[name] = VariableShape(value)
        }
        for builtIn in BuiltInVariable.all {
            root[builtIn.name] = .scalar
        }
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
        var scopes: [VariableShape] = [root]
        var unknown: [(tag: MustacheTag, sectionFields: [String])] = []
        for tag in tags {
            switch tag.kind {
            case .variable, .unescapedVariable, .section, .invertedSection:
                let resolved = resolve(tag, in: scopes)
                if resolved == nil {
                    let sectionFields = scopes.dropFirst().reversed().flatMap { scope -> [String] in
                        if case .map(let fields) = scope { return fields.keys.sorted() }
                        return []
                    }
                    unknown.append((tag, sectionFields))
                }
                if tag.kind == .section {
                    // An unknown section name was reported once; the names inside it are not.
                    let shape = tag.hasTransforms ? .unknown : (resolved ?? .unknown)
                    scopes.append(shape.sectionScope)
                } else if tag.kind == .invertedSection {
                    // Rendered only when the value is absent or empty: nothing new is visible.
                    scopes.append(.scalar)
                }
            case .block, .parent:
                scopes.append(.scalar)
            case .sectionEnd:
                if scopes.count > 1 { scopes.removeLast() }
            case .partial, .other:
                break
            }
        }
        return unknown
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

        private var order: [Key] = []
        private var unknowns: [Key: Unknown] = [:]
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
