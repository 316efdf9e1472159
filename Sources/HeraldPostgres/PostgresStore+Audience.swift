import Foundation
import HeraldCore
import HeraldRules
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// The WHERE condition of an audience rule in PostgreSQL's dialect: parsed and type-checked
    /// against the store's schema (once per rule text), then compiled for this instant. Its
    /// parameters are `$1`… in the order of `arguments`.
    ///
    /// - Throws: the rule's diagnostics, at their file positions, when it does not check.
    func ruleCondition(_ source: RuleSource, now: Date, campaignID: String) throws -> SQLCondition {
        try compiledRule(source).sql(
            in: RuleContext(now: now, campaignID: campaignID, defaultTimezone: defaultTimezone),
            dialect: .postgres(zoneNames: zoneNames)
        )
    }

    func compiledRule(_ source: RuleSource) throws -> Rule {
        if let rule = rules.withLock({ $0[source] }) { return rule }
        let rule = try Rule(source, schema: schema)
        rules.withLock { rules in
            if rules.count >= 256 { rules.removeAll() }
            rules[source] = rule
        }
        return rule
    }

    /// The zone names of the server's time zone database, without its `posix/` and `right/`
    /// copies, for the aliases (`US/Pacific`) Foundation accepts but does not list; `today()`'s
    /// table of day starts covers them too.
    static func zoneNames(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        let rows = try await client.query(
            "SELECT name FROM pg_timezone_names WHERE name NOT LIKE 'posix/%' AND name NOT LIKE 'right/%'", logger: logger
        )
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }
}

extension PostgresStore: AudienceExplaining {
    /// The rule's condition in PostgreSQL's dialect and PostgreSQL's plan for the audience
    /// query (`herald audience --explain`).
    public func explain(_ source: RuleSource, now: Date, campaignID: String) async throws -> (sql: String, plan: [String]) {
        let condition = try ruleCondition(source, now: now, campaignID: campaignID)
        var bindings = PostgresBindings()
        for argument in condition.arguments { bindings.append(argument) }
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "EXPLAIN SELECT id FROM users WHERE (\(condition.sql)) ORDER BY id", binds: bindings), logger: logger
        )
        var plan: [String] = []
        for try await line in rows.decode(String.self) { plan.append(line) }
        return (condition.description, plan)
    }
}

extension PostgresBindings {
    /// Appends a rule's argument with its PostgreSQL type: text, double precision (numbers and
    /// instants), bigint or boolean.
    package mutating func append(_ value: SQLValue) {
        switch value {
        case .null: appendNull()
        case .integer(let integer): append(integer)
        case .real(let real), .time(let real): append(real)
        case .text(let text): append(text)
        case .bool(let flag): append(flag)
        }
    }
}
