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

    /// - Parameter environment: the variables herald.yml's `${NAME}` reads; the process
    ///   environment by default.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads every file, collecting every problem (not just the first).
    ///
    /// - Returns: the workspace, `nil` when any error was found; and every diagnostic, errors and
    ///   warnings, ordered by file and position.
    public func load(directory: String) -> (workspace: Workspace?, diagnostics: [Diagnostic]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return (nil, [Diagnostic("workspace directory '\(directory)' does not exist", at: nil, hint: "run `herald init` to create one")])
        }
        var session = LoadSession(root: directory)

        let configuration = session.loadConfiguration(environment: environment)
        let segments = session.loadSegments()
        let templates = session.loadTemplates()
        let campaigns = session.loadCampaigns(
            defaultTimezone: configuration?.defaultTimezone ?? "UTC",
            segments: segments,
            templates: templates,
            routing: configuration?.channels
        )

        var diagnostics = session.sortedDiagnostics()
        if let configuration {
            diagnostics = DiagnosticOrder.sorted(diagnostics + AudienceRuleCheck.check(
                campaigns: campaigns, segments: segments, schema: configuration.attributes
            ))
        }
        guard let configuration, !diagnostics.contains(where: { $0.severity == .error }) else {
            return (nil, diagnostics)
        }
        let workspace = Workspace(
            root: directory,
            configuration: configuration,
            campaigns: campaigns.sorted { $0.id < $1.id },
            segments: segments,
            templates: templates.complete
        )
        return (workspace, diagnostics)
    }
}
