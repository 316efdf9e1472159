import HeraldCore
import HeraldRules

/// Type-checks every audience rule (campaign `where:` and segments) against the attribute schema,
/// so that a typo or a type error fails loading, not the send.
enum AudienceRuleCheck {
    /// The diagnostics of each rule that does not check, by rule.
    static func check(_ sources: [RuleSource], schema: AttributeSchema) -> [RuleSource: [Diagnostic]] {
        var failures: [RuleSource: [Diagnostic]] = [:]
        for source in sources where failures[source] == nil {
            do {
                _ = try Rule(source, schema: schema)
            } catch {
                failures[source] = error.diagnostics
            }
        }
        return failures
    }
}
