import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldDefinitions
import HeraldProviders
import HeraldStore

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check herald.yml, every campaign, segment and template; print every problem.",
        discussion: "Exits 0 when the workspace is clean (warnings allowed), 1 when it has errors."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, github, sarif
    }

    @Argument(help: "The workspace directory (the same as --workspace).")
    var directoryArgument: String?

    @OptionGroup var location: WorkspaceLocation

    var directory: String { directoryArgument ?? location.workspace }

    func validate() throws {
        if let directoryArgument, location.workspace != ".", directoryArgument != location.workspace {
            throw ValidationError("give the workspace once: '\(directoryArgument)' or --workspace '\(location.workspace)'")
        }
    }

    @Option(help: ArgumentHelp(
        "text (one line per problem), json (for scripts), github (GitHub Actions annotations) or sarif (a SARIF 2.1.0 log for code scanning).",
        discussion: "github and sarif give each file's path from the current directory: run herald validate from the repository's root."
    ))
    var format: Format = .text

    func run() async throws {
        let diagnostics = await Validation.check(directory: directory)
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        switch format {
        case .text:
            for diagnostic in diagnostics {
                print(diagnostic.description)
            }
            print(summary(errors: errors, warnings: warnings))
        case .json:
            print(Validation.json(diagnostics, errors: errors, warnings: warnings))
        case .github:
            for line in DiagnosticAnnotations.github(diagnostics, workspace: directory) {
                print(line)
            }
            // A line of the job's log, below the annotations.
            print(summary(errors: errors, warnings: warnings))
        case .sarif:
            print(DiagnosticAnnotations.sarif(diagnostics, workspace: directory, toolVersion: Herald.configuration.version))
        }
        if errors > 0 { throw ExitCode(1) }
    }

    private func summary(errors: Int, warnings: Int) -> String {
        if errors == 0 {
            return "\(directory): workspace is valid" + (warnings > 0 ? " (\(warnings) warning\(warnings == 1 ? "" : "s"))" : "")
        }
        return "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
    }
}

/// The checks of `herald validate`: the workspace files, then (when they load) the templates'
/// Mustache and variables.
enum Validation {
    static func check(directory: String) async -> [Diagnostic] {
        // The templates of every usable campaign are checked even when other files have errors,
        // so that one run reports every problem.
        let (workspace, diagnostics) = WorkspaceLoader(credentials: CredentialFiles.inspector).loadUsable(directory: directory)
        guard let workspace else { return diagnostics }
        return diagnostics + TemplateChecker.check(workspace) + pushPayloads(workspace) + (await unservedDevices(workspace, directory: directory))
    }

    /// A warning for each push service that has active devices in the workspace's database but
    /// no provider in `channels.push`: their pushes would be skipped as no_provider. Nothing
    /// when the database does not exist yet (or is not a SQLite file herald.yml names).
    static func unservedDevices(_ workspace: Workspace, directory: String) async -> [Diagnostic] {
        let configuration = workspace.configuration
        guard let path = WorkspaceOptions.sqlitePath(of: configuration.store, in: directory), FileManager.default.fileExists(atPath: path) else {
            return []
        }
        let relative = String(configuration.store.dropFirst("sqlite:".count))
        let counts: [PushService: Int]
        do {
            let store = try SQLiteStore(
                path: path, schema: configuration.attributes, configuration: SQLiteStore.Configuration(access: .readOnly)
            )
            counts = try await store.activeDevicesByService()
        } catch {
            return [Diagnostic("could not read the devices in \(relative): \(error)", at: nil, hint: "the push routes were not checked against them", severity: .warning)]
        }
        // At the `channels:` line of herald.yml, where the fix goes.
        let lines = (try? String(contentsOfFile: URL(fileURLWithPath: directory).appendingPathComponent("herald.yml").path, encoding: .utf8))?
            .split(separator: "\n", omittingEmptySubsequences: false) ?? []
        let line = (lines.firstIndex { $0.hasPrefix("channels:") } ?? 0) + 1
        return PushService.allCases.compactMap { service in
            guard let count = counts[service], count > 0, configuration.channels.push[service] == nil else { return nil }
            return Diagnostic(
                "\(count) active \(service.rawValue) device\(count == 1 ? "" : "s") in \(relative) but no provider for \(service.rawValue) in channels.push",
                at: SourceLocation(file: "herald.yml", line: line, column: 1),
                hint: "their pushes are skipped as no_provider; add e.g. \(service.rawValue): <a provider of kind \(service.rawValue)> under channels.push",
                severity: .warning
            )
        }
    }

    /// The push templates that are over a limit of a push provider herald.yml routes to, even
    /// with every variable empty: whatever a recipient's values, each such push would be
    /// rejected. (Variables only lengthen a push; those over a limit because of them are
    /// rejected one by one when sent, with the reason.) Each file with push text is checked, as
    /// the recipients of its locale get it.
    static func pushPayloads(_ workspace: Workspace) -> [Diagnostic] {
        let providers = Dictionary(workspace.configuration.providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let routes = Set(workspace.configuration.channels.push.values).sorted().compactMap { name -> (name: String, service: PushService)? in
            guard let service = providers[name]?.kind.pushService else { return nil }
            return (name, service)
        }
        guard !routes.isEmpty else { return [] }
        let renderer = ContentRenderer(templates: workspace.templates)
        var diagnostics: [Diagnostic] = []
        for name in workspace.templates.keys.sorted() {
            guard let template = workspace.templates[name] else { continue }
            let files = [(locale: String?.none, content: template.base)] + template.variants.keys.sorted().compactMap { locale in
                template.variants[locale].map { (locale: Optional(locale), content: $0) }
            }
            for file in files {
                guard let push = file.content.push, let location = (push.body ?? push.title ?? push.data?.values.first)?.location,
                      let rendered = try? renderer.render(template: name, channel: .push, locale: file.locale, variables: [:]),
                      case .push(let content) = rendered.content
                else { continue }
                for route in routes {
                    guard let refusal = PushPayloadLimits.refusal(content, service: route.service) else { continue }
                    diagnostics.append(Diagnostic(
                        "the push is too large for provider '\(route.name)' even with every variable empty: \(refusal)",
                        at: location, hint: "shorten it; every push of this template would be rejected"
                    ))
                }
            }
        }
        return diagnostics
    }

    static func json(_ diagnostics: [Diagnostic], errors: Int, warnings: Int) -> String {
        let items: [[String: Any]] = diagnostics.map { diagnostic in
            var item: [String: Any] = ["severity": diagnostic.severity.rawValue, "message": diagnostic.message]
            if let location = diagnostic.location {
                item["file"] = location.file
                item["line"] = location.line
                item["column"] = location.column
            }
            if let hint = diagnostic.hint { item["hint"] = hint }
            item["text"] = diagnostic.description
            return item
        }
        let object: [String: Any] = ["valid": errors == 0, "errors": errors, "warnings": warnings, "diagnostics": items]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
