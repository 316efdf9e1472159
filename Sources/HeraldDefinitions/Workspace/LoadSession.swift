import Foundation
import HeraldCore

/// The state of one `load(directory:)`: the root and the diagnostics found so far.
struct LoadSession {
    let root: String
    /// Parses providers' key and certificate files (``WorkspaceLoader/credentials``).
    var credentials: CredentialFileInspector? = nil
    private(set) var diagnostics: [Diagnostic] = []
    /// Campaign files that failed, by id when it could be read (else by file), with the reason.
    private(set) var failedCampaigns: [String: String] = [:]
    /// The `where:` rules of campaigns that failed for other reasons: checked all the same, so
    /// that one run reports every problem.
    private(set) var failedCampaignRules: [RuleSource] = []

    init(root: String, credentials: CredentialFileInspector? = nil) {
        self.root = root
        self.credentials = credentials
    }

    /// Templates by name, and the names of those that exist but failed, so that a campaign using
    /// a broken template gets no second, misleading "unknown template" error.
    struct Templates {
        var complete: [String: Template] = [:]
        var failed: Set<String> = []
        var all: [String] { (Array(complete.keys) + failed).sorted() }
    }

    // MARK: herald.yml

    mutating func loadConfiguration(environment: [String: String]) -> HeraldConfiguration? {
        switch SourceFileReader.read(root: root, relativePath: "herald.yml") {
        case .notFound:
            diagnostics.append(Diagnostic("no herald.yml in '\(root)'", at: nil, hint: "run `herald init` to create one"))
            return nil
        case .failed(let diagnostic):
            diagnostics.append(diagnostic)
            return nil
        case .text(let text):
            let (configuration, found) = ConfigurationLoader(environment: environment, workspaceRoot: root, credentials: credentials).load(text: text, file: "herald.yml")
            diagnostics += found
            return configuration
        }
    }

    // MARK: segments

    mutating func loadSegments() -> [String: Segment] {
        var segments: [String: Segment] = [:]
        for file in yamlFiles(in: "segments", kind: "segment") {
            guard let text = read(file) else { continue }
            let (segment, found) = SegmentParser().parse(text: text, file: file)
            diagnostics += found
            if let segment { segments[segment.name] = segment }
        }
        return segments
    }

    // MARK: templates

    mutating func loadTemplates() -> Templates {
        let root = self.root
        let parser = TemplateParser { path in
            switch SourceFileReader.read(root: root, relativePath: path) {
            case .text(let text): .text(text)
            case .notFound: .notFound
            case .failed(let diagnostic): .unreadable(diagnostic)
            }
        }
        var bases: [String: TemplateContent] = [:]
        var variants: [String: [(locale: String, file: String, content: TemplateContent)]] = [:]
        var names: Set<String> = []
        var baseFiles: Set<String> = []
        var failed: Set<String> = []
        var variantFiles: [(name: String, file: String)] = []
        for file in yamlFiles(in: "templates", kind: "template") {
            let start = SourceLocation(file: file, line: 1, column: 1)
            guard let fileName = TemplateFileName(fileName: file), TemplateFileName.isValidName(fileName.name) else {
                diagnostics.append(Diagnostic(
                    "invalid template file name '\(file)'", at: start,
                    hint: "name it <name>.yml or <name>.<locale>.yml, where a name is letters, digits, '-' and '_'"
                ))
                continue
            }
            names.insert(fileName.name)
            if let locale = fileName.locale {
                variantFiles.append((fileName.name, file))
                guard LocaleTag.isWellFormed(locale) else {
                    let corrected = locale.replacingOccurrences(of: "_", with: "-")
                    let hint = corrected != locale && LocaleTag.isWellFormed(corrected)
                        ? "did you mean 'templates/\(fileName.name).\(corrected).yml'?"
                        : "expected a BCP 47 language tag such as ko, ko-KR, pt-BR or zh-Hant-TW"
                    diagnostics.append(Diagnostic("invalid locale '\(locale)' in the file name", at: start, hint: hint))
                    failed.insert(fileName.name)
                    continue
                }
                if let other = variants[fileName.name]?.first(where: { $0.locale.lowercased() == locale.lowercased() }) {
                    diagnostics.append(Diagnostic(
                        "locale '\(locale)' of template '\(fileName.name)' is also given by \(other.file)", at: start,
                        hint: "keep one file per locale"
                    ))
                    failed.insert(fileName.name)
                    continue
                }
            } else {
                baseFiles.insert(fileName.name)
            }
            guard let text = read(file) else {
                failed.insert(fileName.name)
                continue
            }
            let (content, found) = parser.parse(text: text, file: file)
            diagnostics += found
            guard let content else {
                failed.insert(fileName.name)
                continue
            }
            if let locale = fileName.locale {
                variants[fileName.name, default: []].append((locale, file, content))
            } else {
                bases[fileName.name] = content
            }
        }
        for (name, file) in variantFiles where !baseFiles.contains(name) {
            diagnostics.append(Diagnostic(
                "locale variant of template '\(name)' has no base template", at: SourceLocation(file: file, line: 1, column: 1),
                hint: "add templates/\(name).yml"
            ))
            failed.insert(name)
        }
        var templates = Templates()
        for name in names.sorted() {
            guard !failed.contains(name), let base = bases[name] else {
                templates.failed.insert(name)
                continue
            }
            let byLocale = Dictionary((variants[name] ?? []).map { ($0.locale, $0.content) }, uniquingKeysWith: { first, _ in first })
            templates.complete[name] = Template(name: name, base: base, variants: byLocale, baseLocale: base.locale ?? Template.defaultBaseLocale)
        }
        return templates
    }

    // MARK: campaigns

    mutating func loadCampaigns(
        defaultTimezone: String,
        segments: [String: Segment],
        templates: Templates,
        routing: ChannelRouting?
    ) -> [Campaign] {
        let parser = CampaignParser(defaultTimezone: defaultTimezone)
        let segmentFiles = Set(yamlFileNames(in: "segments").map { YAMLReader.stem(of: $0) })
        var campaigns: [Campaign] = []
        var ids: [String: String] = [:]
        for file in yamlFiles(in: "campaigns", kind: "campaign") {
            guard let text = read(file) else { continue }
            let details = parser.parseDetails(text: text, file: file)
            var found = details.diagnostics
            if let id = details.id {
                if let first = ids[id.name] {
                    found.append(Diagnostic("duplicate campaign id '\(id.name)'", at: id.location, hint: "also in \(first)"))
                } else {
                    ids[id.name] = file
                }
            }
            if let segment = details.segment, segments[segment.name] == nil, !segmentFiles.contains(segment.name) {
                let suggestion = segment.name.count <= 64 ? Suggestion.closest(to: segment.name, in: segments.keys.sorted()) : nil
                let hint = suggestion.map { "did you mean '\($0)'?" } ?? "no file segments/\(segment.name.prefix(64)).yml"
                found.append(Diagnostic("unknown segment \(YAMLReader.quoted(segment.name))", at: segment.location, hint: hint))
            }
            // The campaign's template, and each variant's, must exist and carry every channel.
            let named = (details.template.map { [(name: $0.name, location: $0.location, isVariant: false)] } ?? [])
                + details.variantTemplates.map { (name: $0.name, location: $0.location, isVariant: true) }
            for template in named {
                if let content = templates.complete[template.name]?.base {
                    for (channel, location) in details.channels where !content.supports(channel) {
                        found.append(missingSection(channel, template: template.name, content: content, at: template.isVariant ? template.location : location))
                    }
                } else if !templates.failed.contains(template.name) {
                    let hint = template.name.count <= 64 ? Suggestion.closest(to: template.name, in: templates.all).map { "did you mean '\($0)'?" } : nil
                    found.append(Diagnostic(
                        "unknown template \(YAMLReader.quoted(template.name))", at: template.location,
                        hint: hint ?? "no file templates/\(template.name.prefix(64)).yml"
                    ))
                }
            }
            if let routing {
                for (channel, location) in details.channels where !Self.hasProvider(channel, in: routing) {
                    found.append(Diagnostic(
                        "channel '\(channel.rawValue)' has no provider in herald.yml", at: location,
                        hint: "add it under 'channels:' in herald.yml, or notifications on it will fail as misconfigured",
                        severity: .warning
                    ))
                }
            }
            diagnostics += found
            if let campaign = details.campaign, !found.contains(where: { $0.severity == .error }) {
                campaigns.append(campaign)
            } else {
                failedCampaigns[details.id?.name ?? file] = "\(file) has errors"
                if let rule = details.rule { failedCampaignRules.append(rule) }
            }
        }
        return campaigns
    }

    private func missingSection(_ channel: Channel, template: String, content: TemplateContent, at location: SourceLocation) -> Diagnostic {
        Diagnostic(
            "channel '\(channel.rawValue)' is not in template '\(template)'", at: location,
            hint: "add \(channel == .email ? "an" : "a") \(channel.rawValue) section to \(content.file), or remove \(channel.rawValue) from 'channels'"
        )
    }

    private static func hasProvider(_ channel: Channel, in routing: ChannelRouting) -> Bool {
        switch channel {
        case .push: !routing.push.isEmpty
        case .sms: !routing.sms.isEmpty
        case .email: !routing.email.isEmpty
        }
    }

    // MARK: files

    /// The `.yml` entries directly in `folder`, as paths relative to the root, sorted; a `.yaml`
    /// file, and a `folder` that is not a directory, are reported instead of skipped. Entries
    /// that are not regular files are returned too, so that reading them reports them.
    private mutating func yamlFiles(in folder: String, kind: String) -> [String] {
        let (names, problem) = entries(in: folder, kind: kind)
        if let problem { diagnostics.append(problem) }
        for name in names where name.hasSuffix(".yaml") {
            diagnostics.append(Diagnostic(
                "\(kind) files end in .yml", at: SourceLocation(file: "\(folder)/\(name)", line: 1, column: 1),
                hint: "rename it to \(folder)/\(name.dropLast(5)).yml"
            ))
        }
        return Self.yamlNames(names, in: folder)
    }

    private func yamlFileNames(in folder: String) -> [String] {
        Self.yamlNames(entries(in: folder, kind: "").names, in: folder)
    }

    private static func yamlNames(_ names: [String], in folder: String) -> [String] {
        names.filter { $0.hasSuffix(".yml") && $0.count > 4 }.map { "\(folder)/\($0)" }
    }

    /// The names in `folder` that do not start with `.`, sorted, whatever their type; none when
    /// the folder does not exist, and a diagnostic when it is something else or cannot be listed
    /// (a whole folder of campaigns would otherwise be silently skipped).
    private func entries(in folder: String, kind: String) -> (names: [String], problem: Diagnostic?) {
        let path = (root as NSString).appendingPathComponent(folder)
        let start = SourceLocation(file: folder, line: 1, column: 1)
        let expected = "expected a directory of \(kind) .yml files"
        switch SourceFileReader.entry(at: path) {
        case .missing:
            return ([], nil)
        case .directory:
            break
        case .regularFile:
            return ([], Diagnostic("not a directory", at: start, hint: "found a regular file; \(expected)"))
        case .other(let found):
            return ([], Diagnostic("not a directory", at: start, hint: "found \(found); \(expected)"))
        case .unreadable(let reason):
            return ([], Diagnostic("cannot read directory: \(reason)", at: start, hint: "check its permissions"))
        }
        do {
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
            return (names.filter { !$0.hasPrefix(".") }.sorted(), nil)
        } catch {
            return ([], Diagnostic("cannot read directory: \(error.localizedDescription)", at: start, hint: "check its permissions"))
        }
    }

    /// The file's text, or `nil` after a diagnostic.
    private mutating func read(_ file: String) -> String? {
        switch SourceFileReader.read(root: root, relativePath: file) {
        case .text(let text):
            return text
        case .notFound:
            diagnostics.append(Diagnostic("file '\(file)' disappeared while it was being read", at: SourceLocation(file: file, line: 1, column: 1)))
            return nil
        case .failed(let diagnostic):
            diagnostics.append(diagnostic)
            return nil
        }
    }

    func sortedDiagnostics() -> [Diagnostic] {
        DiagnosticOrder.sorted(diagnostics)
    }
}
