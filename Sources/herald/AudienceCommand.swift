import ArgumentParser
import Foundation
import HeraldCore
import HeraldImport
import HeraldEngine
import HeraldRules
import HeraldStore

struct AudienceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audience",
        abstract: "Count and show the users a campaign, segment or expression selects.",
        discussion: """
            The argument is a campaign id, a segment name, or an expression in the rules language, e.g. \
            herald audience 'country == "KR" and last_seen_at > now() - 30d'.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "A campaign id, a segment name, or an expression.")
    var target: String

    @Flag(help: "Show the SQL the audience compiles to and the database's query plan (SQLite's or PostgreSQL's).")
    var explain = false

    @Option(help: "How many matching users to show.")
    var sample: Int = 10

    @Flag(help: "Print every matching user id, one per line, and nothing else (to export an audience).")
    var ids = false

    @Option(help: "table or json.")
    var format: Format = .table

    @Option(help: "Check one user in memory instead: does this user match, and with what values?")
    var user: String?

    func validate() throws {
        guard sample >= 0 else { throw ValidationError("--sample must be 0 or more") }
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let store = try await options.openAnyStore(for: workspace, access: .readOnly).roles
        let (label, source, campaignID) = try resolve(in: workspace)
        let now = Date()
        let filter: UserFilter = source.map { .rule($0, now: now, campaignID: campaignID) } ?? .everyone

        if let user {
            try await check(user, label: label, source: source, campaignID: campaignID, now: now, store: store, workspace: workspace)
            return
        }

        if ids {
            var last: String?
            while true {
                let page = try await store.users(matching: filter, after: last, limit: 5000)
                guard let tail = page.last else { break }
                print(page.map(\.id).joined(separator: "\n"))
                last = tail.id
            }
            return
        }

        let count = try await store.countUsers(matching: filter)
        let users = sample > 0 ? try await store.users(matching: filter, after: nil, limit: sample) : []
        let explanation = try await explain && source != nil ? store.explain(source!, now: now, campaignID: campaignID) : nil
        switch format {
        case .table:
            print("\(label): \(count) user\(count == 1 ? "" : "s") match")
            if let explanation {
                print("SQL:  \(explanation.sql)")
                print("plan: " + explanation.plan.joined(separator: "\n      "))
            } else if explain {
                print("SQL:  (no audience rule: every user)")
            }
            if !users.isEmpty {
                print("")
                print(Self.table(users, attributes: workspace.configuration.attributes.names, width: Terminal.width))
            }
        case .json:
            var object: [String: Any] = ["audience": label, "count": count, "sample": users.map(\.id)]
            if let explanation {
                object["sql"] = explanation.sql
                object["plan"] = explanation.plan
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Evaluates the rule for one user in memory, as single-user checks (previews, API sends) do,
    /// and says which terms of the rule hold for them.
    func check(
        _ id: String, label: String, source: RuleSource?, campaignID: String, now: Date, store: any OpenedStore.Roles, workspace: Workspace
    ) async throws {
        guard let found = try await store.users(matching: .ids([id]), after: nil, limit: 1).first else {
            throw CLIError("no user with id \(Quoted.visible(id))")
        }
        var matches = true
        var clauses: [Rule.Clause] = []
        // A guest (someone an API send named by address or token) is in no campaign's audience,
        // whatever the rule: the audience query leaves guests out.
        let isGuest = found.id.hasPrefix(UserJSON.guestIDPrefix)
        if isGuest {
            matches = false
        } else if let source {
            let rule: Rule
            do {
                rule = try Rule(source, schema: workspace.configuration.attributes)
            } catch {
                throw CLIError(error.description)
            }
            let context = try await store.ruleContext(now: now, campaignID: campaignID, defaultTimezone: workspace.configuration.defaultTimezone, for: [found.id])
            matches = rule.evaluate(found, in: context)
            clauses = rule.explain(found, in: context)
        }
        switch format {
        case .table:
            print("\(id) \(matches ? "matches" : "does not match") \(label)")
            if isGuest {
                print("because it is a guest: someone an API send named by address or token, whom no campaign audience selects")
            } else if !matches {
                let failing = clauses.filter { !$0.holds }
                if clauses.count > 1, !failing.isEmpty {
                    print("because \(failing.count == 1 ? "this term does" : "these terms do") not hold:")
                    for clause in failing { print("  \(clause.text)") }
                }
            } else if clauses.count > 1 {
                print("every term holds:")
                for clause in clauses { print("  \(clause.text)") }
            }
            print("")
            print(Self.table([found], attributes: workspace.configuration.attributes.names, width: Terminal.width))
        case .json:
            let object: [String: Any] = [
                "audience": label, "user": id, "matches": matches, "guest": isGuest,
                "clauses": clauses.map { ["text": $0.text, "holds": $0.holds] as [String: Any] },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// The audience the argument names, its rule (nil: everyone), and the campaign id that
    /// `bucket()` hashes with: a campaign, else a segment, else an expression. A name that is
    /// neither and does not read as a rule gets the nearest campaign or segment.
    func resolve(in workspace: Workspace) throws -> (label: String, source: RuleSource?, campaignID: String) {
        if let campaign = workspace.campaign(id: target) {
            switch campaign.audience {
            case .everyone: return ("campaign \(campaign.id) (everyone)", nil, campaign.id)
            case .rule(let source): return ("campaign \(campaign.id)", source, campaign.id)
            case .segment(let name, let location):
                guard let segment = workspace.segments[name] else {
                    throw CLIError("\(location): unknown segment '\(name)'")
                }
                return ("campaign \(campaign.id) (segment \(name))", segment.rule, campaign.id)
            }
        }
        if let reason = workspace.unusableCampaigns[target] {
            throw CLIError("campaign '\(target)' cannot be used until it is fixed: \(reason) (printed above)")
        }
        if let segment = workspace.segments[target] {
            return ("segment \(segment.name)", segment.rule, "")
        }
        let source = RuleSource(text: target, location: SourceLocation(file: "<expression>", line: 1, column: 1))
        let looksLikeAName = !target.isEmpty && target.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
        if looksLikeAName {
            do {
                _ = try Rule(source, schema: workspace.configuration.attributes)
            } catch {
                let names = workspace.campaigns.map(\.id) + workspace.segments.keys.sorted()
                let near = Suggestion.closest(to: target, in: names).map { "did you mean '\($0)'?" }
                    ?? "campaigns: \(workspace.campaigns.map(\.id).joined(separator: ", ")); segments: \(workspace.segments.keys.sorted().joined(separator: ", "))"
                throw CLIError("no campaign or segment '\(target)' (\(near)), and as an expression: \(error.description)")
            }
        }
        return ("expression", source, "")
    }

    static func table(_ users: [User], attributes: [String], width: Int?) -> String {
        let columns = ["id", "email", "locale", "timezone"] + attributes
        let rows: [[String]] = users.map { user in
            [user.id, user.email ?? "", user.locale ?? "", user.timezone ?? ""] + attributes.map { name in
                user.attributes[name].map { TemplateValue.description(of: $0.templateValue) } ?? ""
            }
        }
        return TextTable(columns: columns.map { TextTable.Column($0) }, rows: rows).render(width: width)
    }
}

private extension TemplateValue {
    static func description(of value: TemplateValue) -> String {
        if case .list(let items) = value { return items.map(\.description).joined(separator: ";") }
        return value.description
    }
}
