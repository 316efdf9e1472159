import HeraldCore
import HeraldRules

/// Type-checks every audience rule of the workspace (campaign `where:` and segments) against the
/// attribute schema, for `herald validate`.
enum RuleValidation {
    static func check(_ workspace: Workspace) -> [Diagnostic] {
        let schema = workspace.configuration.attributes
        var sources: [RuleSource] = workspace.segments.values.sorted { $0.file < $1.file }.map(\.rule)
        for campaign in workspace.campaigns {
            if case .rule(let source) = campaign.audience { sources.append(source) }
        }
        var diagnostics: [Diagnostic] = []
        for source in sources {
            do {
                _ = try Rule(source, schema: schema)
            } catch {
                diagnostics += error.diagnostics
            }
        }
        return diagnostics
    }
}
