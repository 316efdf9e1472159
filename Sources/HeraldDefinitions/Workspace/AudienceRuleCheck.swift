import HeraldCore
import HeraldRules

/// Type-checks every audience rule (campaign `where:` and segments) against the attribute schema,
/// so that a typo or a type error fails loading, not the send.
enum AudienceRuleCheck {
    static func check(campaigns: [Campaign], segments: [String: Segment], schema: AttributeSchema) -> [Diagnostic] {
        var sources = segments.values.map(\.rule)
        for campaign in campaigns {
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
