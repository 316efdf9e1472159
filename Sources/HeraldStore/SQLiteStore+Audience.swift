import Foundation
import GRDB
import HeraldCore
import HeraldRules
import Synchronization

extension SQLiteStore: AudienceExplaining {
    /// The WHERE condition of an audience rule: parsed and type-checked against the store's
    /// schema (once per rule text), then compiled to parameterised SQL for this instant.
    ///
    /// - Throws: the rule's diagnostics, at their file positions, when it does not check.
    func ruleCondition(_ source: RuleSource, now: Date, campaignID: String) throws -> (sql: String, arguments: StatementArguments) {
        let rule = try compiledRule(source)
        let condition = rule.sql(in: RuleContext(now: now, campaignID: campaignID, defaultTimezone: defaultTimezone))
        return (condition.sql, StatementArguments(condition.arguments.map(\.databaseValue)))
    }

    /// The condition of an audience rule restricted to some users: the id test first, so that
    /// SQLite looks up those users by primary key and evaluates the rule for them alone.
    func ruleCondition(_ source: RuleSource, among ids: [String], now: Date, campaignID: String) throws -> (sql: String, arguments: StatementArguments) {
        let rule = try ruleCondition(source, now: now, campaignID: campaignID)
        var arguments: StatementArguments = [codec.encode(ids)]
        arguments += rule.arguments
        return ("id IN (SELECT value FROM json_each(?)) AND (\(rule.sql))", arguments)
    }

    /// The SQL an audience compiles to and SQLite's plan for it, for `herald audience --explain`.
    public func explain(_ source: RuleSource, now: Date, campaignID: String) async throws -> (sql: String, plan: [String]) {
        let rule = try compiledRule(source)
        let condition = rule.sql(in: RuleContext(now: now, campaignID: campaignID, defaultTimezone: defaultTimezone))
        let arguments = StatementArguments(condition.arguments.map(\.databaseValue))
        let plan = try await read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM users WHERE (\(condition.sql)) ORDER BY id", arguments: arguments)
                .map { $0["detail"] as String? ?? "" }
        }
        return (condition.description, plan)
    }

    func compiledRule(_ source: RuleSource) throws -> Rule {
        if let rule = rules.withLock({ $0[source] }) { return rule }
        let rule = try Rule(source, schema: schema)
        rules.withLock { $0[source] = rule }
        return rule
    }

    /// Registers the Swift functions that rule SQL calls (`RuleSQLFunctions.all`) on a
    /// connection; the store does it on every connection it opens.
    public static func registerRuleFunctions(_ db: Database) {
        for function in RuleSQLFunctions.all {
            db.add(function: DatabaseFunction(function.name, argumentCount: function.argumentCount, pure: function.isDeterministic) { values in
                function.call(values.map(SQLValue.init)).databaseValue
            })
        }
    }
}

extension SQLValue {
    /// The rules' value for an SQLite value (a blob reads as UTF-8 text).
    public init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .text(String(decoding: data, as: UTF8.self))
        }
    }

    /// The SQLite value to bind for a rules' value.
    public var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .real(let real), .time(let real): real.databaseValue
        case .text(let text): text.databaseValue
        case .bool(let flag): (flag ? 1 : 0).databaseValue
        }
    }
}
