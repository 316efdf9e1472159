import Foundation
import HeraldCore

/// Reads and checks a whole workspace: herald.yml, campaigns/, segments/ and templates/.
///
/// Every file is read and every problem collected, so that `herald validate` lists them all at
/// once; one bad campaign does not stop the others from being checked. Files in those folders
/// whose names start with `.` are ignored, as are files that are not `.yml` (except that a
/// `.yaml` file is an error, since it would otherwise be silently skipped). Anything named `.yml`
/// that is not a regular file or a link to one (a directory, a named pipe, a device, a broken or
/// looping link), and a `campaigns`, `segments` or `templates` that is not a directory, is an
/// error for the same reason; such a file is never opened.
///
/// ```swift
/// let (workspace, diagnostics) = WorkspaceLoader().load(directory: "shop")
/// let report = diagnostics.map(\.description).joined(separator: "\n")
/// // campaigns/a.yml:4:1: unknown field 'chanels' (did you mean 'channels'?)
/// ```
///
/// Audience rules are returned as text with their positions (`RuleSource`); type-checking them
/// against the attribute schema is the rules module's part of validation.
public struct WorkspaceLoader: Sendable {
    /// The variables herald.yml's `${NAME}` reads.
    public var environment: [String: String]
    /// Parses the key and certificate files herald.yml's providers name; without it only their
    /// outline is checked (see ``CredentialFileInspector``).
    public var credentials: CredentialFileInspector?

    /// - Parameters:
    ///   - environment: the variables herald.yml's `${NAME}` reads; the process environment by
    ///     default.
    ///   - credentials: parses providers' key files (the CLI passes the transports' parser).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, credentials: CredentialFileInspector? = nil) {
        self.environment = environment
        self.credentials = credentials
    }

    /// Loads every file, collecting every problem (not just the first).
    ///
    /// - Returns: the workspace, `nil` when any error was found; and every diagnostic, errors and
    ///   warnings, ordered by file and position.
    public func load(directory: String) -> (workspace: Workspace?, diagnostics: [Diagnostic]) {
        let (workspace, diagnostics) = loadUsable(directory: directory)
        guard !diagnostics.contains(where: { $0.severity == .error }) else { return (nil, diagnostics) }
        return (workspace, diagnostics)
    }

    /// Loads every file and keeps what is usable: a bad campaign file (or a campaign whose
    /// template or segment is bad) is left out and listed in `unusableCampaigns`, so that the
    /// other campaigns can still be sent while it is fixed.
    ///
    /// - Returns: the workspace, `nil` only when herald.yml itself cannot be used; and every
    ///   diagnostic, errors and warnings, ordered by file and position.
    public func loadUsable(directory: String) -> (workspace: Workspace?, diagnostics: [Diagnostic]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return (nil, [Diagnostic("workspace directory '\(directory)' does not exist", at: nil, hint: "run `herald init` to create one")])
        }
        var session = LoadSession(root: directory, credentials: credentials)

        let configuration = session.loadConfiguration(environment: environment)
        var segments = session.loadSegments()
        let templates = session.loadTemplates()
        var campaigns = session.loadCampaigns(
            defaultTimezone: configuration?.defaultTimezone ?? "UTC",
            segments: segments,
            templates: templates,
            routing: configuration?.channels
        )

        var diagnostics = session.sortedDiagnostics()
        guard let configuration else { return (nil, diagnostics) }
        var unusable = session.failedCampaigns

        // Every rule is checked, also those of campaigns with other errors, so that one run
        // reports every problem of every file.
        var sources = segments.values.map(\.rule) + session.failedCampaignRules
        for campaign in campaigns {
            if case .rule(let source) = campaign.audience { sources.append(source) }
        }
        let failedRules = AudienceRuleCheck.check(sources, schema: configuration.attributes)
        diagnostics = DiagnosticOrder.sorted(diagnostics + failedRules.values.flatMap { $0 })

        segments = segments.filter { failedRules[$0.value.rule] == nil }
        campaigns = campaigns.filter { campaign in
            let reason: String? = switch campaign.audience {
            case .rule(let source): failedRules[source] != nil ? "\(campaign.file) has errors" : nil
            case .segment(let name, _): segments[name] == nil ? "segment '\(name)' has errors" : nil
            case .everyone: nil
            }
            if let reason {
                unusable[campaign.id] = reason
            } else if templates.complete[campaign.template] == nil {
                unusable[campaign.id] = "template '\(campaign.template)' has errors"
            }
            return unusable[campaign.id] == nil
        }
        let workspace = Workspace(
            root: directory,
            configuration: configuration,
            campaigns: campaigns.sorted { $0.id < $1.id },
            segments: segments,
            templates: templates.complete,
            unusableCampaigns: unusable
        )
        return (workspace, diagnostics)
    }

    /// Reads herald.yml alone, for commands that need its settings (the store) but no campaign.
    ///
    /// - Returns: the configuration, `nil` when herald.yml is missing or has errors; and its
    ///   diagnostics.
    public func loadConfiguration(directory: String) -> (configuration: HeraldConfiguration?, diagnostics: [Diagnostic]) {
        var session = LoadSession(root: directory, credentials: credentials)
        let configuration = session.loadConfiguration(environment: environment)
        let diagnostics = session.sortedDiagnostics()
        guard !diagnostics.contains(where: { $0.severity == .error }) else { return (nil, diagnostics) }
        return (configuration, diagnostics)
    }
}
