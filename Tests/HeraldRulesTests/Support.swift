import Foundation
import HeraldCore
import HeraldRules
import HeraldTesting
import Testing

extension Tag {
    @Tag static var slow: Self
}

// The fixtures and generators these tests share with HeraldPostgresTests (HeraldTesting), by
// the names these tests use.
let testSchema = RuleFixtures.schema
let testNow = RuleFixtures.now
let testContext = RuleFixtures.context
let testLocation = RuleFixtures.location
let semanticsUsers = RuleFixtures.semanticsUsers
let semanticsCases = RuleFixtures.semanticsCases
typealias TestDatabase = RuleTestDatabase
typealias ExpressionGenerator = RuleExpressionGenerator
typealias UserGenerator = RuleUserGenerator

func makeRule(_ text: String, schema: AttributeSchema = testSchema) throws(DiagnosticList) -> Rule {
    try RuleFixtures.makeRule(text, schema: schema)
}

/// The diagnostics an expression gets, as a user reads them.
func problems(_ text: String, schema: AttributeSchema = testSchema) -> [String] {
    do {
        _ = try Rule(RuleSource(text: text, location: testLocation), schema: schema)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

/// The ids `rule` accepts among `users`, by the in-memory evaluator, sorted as SQL sorts them.
func evaluatedIDs(_ rule: Rule, _ users: [User], _ context: RuleContext = testContext) -> [String] {
    RuleFixtures.evaluatedIDs(rule, users, context)
}
