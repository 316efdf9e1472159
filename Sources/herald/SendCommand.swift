import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine
import HeraldRules
import HeraldStore

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Plan a campaign now for its audience (or named users) and deliver it.",
        discussion: """
            Checks each recipient's address and opt-ins, renders the template per channel and locale, writes the \
            notifications and outbox rows, then delivers each channel's outbox and prints what happened.

            A campaign is sent to its audience once: a second `send` of a campaign already sent refuses and says when \
            it went out, unless --again. A send that did not finish (a crash, retries waiting, or another herald \
            process sending it right now) is finished instead of started again, so two sends started together send \
            each notification once. A campaign triggered by an event goes to the users named with --user; --all sends \
            it to its whole audience.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The campaign id (the file name in campaigns/ without .yml).")
    var campaign: String

    @Flag(help: "Send now, whatever the campaign's schedule says.")
    var now = false

    @Option(name: .customLong("user"), help: "Send only to this user id (repeatable) instead of the audience.")
    var users: [String] = []

    @Flag(help: "Send a campaign triggered by an event to its whole audience instead of named users.")
    var all = false

    @Flag(help: "Send to the audience once more although the campaign was already sent.")
    var again = false

    @Option(name: .customLong("param"), help: ArgumentHelp("A template parameter for this send (repeatable), e.g. --param order_id=A-1042.", valueName: "key=value"))
    var params: [String] = []

    @Flag(help: "Plan only: leave the notifications in the outbox without delivering them.")
    var planOnly = false

    @Flag(help: "Start a new send even when an earlier send of this campaign is not done (implies --again).")
    var new = false

    @Flag(help: "No progress bar on the terminal while planning (none is drawn when standard error is not a terminal).")
    var quiet = false

    func validate() throws {
        guard now else {
            throw ValidationError("add --now to send '\(campaign)' immediately (its schedule is planned by `herald schedule run`)")
        }
        guard !(all && !users.isEmpty) else {
            throw ValidationError("--all sends to the whole audience and --user to named users; give one of them")
        }
        _ = try Self.parseParams(params)
    }

    /// `key=value` pairs; a key is a template variable name.
    static func parseParams(_ pairs: [String]) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "=") else {
                throw ValidationError("--param '\(pair)' needs the form key=value, e.g. --param order_id=A-1042")
            }
            let key = String(pair[..<equals])
            guard let first = key.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first),
                  key.unicodeScalars.allSatisfy({ $0 == "_" || CharacterSet.alphanumerics.contains($0) && $0.isASCII })
            else {
                throw ValidationError("--param '\(pair)': '\(key)' is not a template variable name (letters, digits and '_', not starting with a digit)")
            }
            guard result[key] == nil else {
                throw ValidationError("--param \(key) is given twice")
            }
            result[key] = String(pair[pair.index(after: equals)...])
        }
        return result
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let campaign = try options.campaign(self.campaign, in: workspace)
        let app = try await HeraldApp.open(workspace, options: options)
        if case .trigger(let event, _) = campaign.schedule, users.isEmpty, !all {
            let audience = try await app.store.countUsers(matching: app.planner.audience(of: campaign, at: app.clock.now))
            throw CLIError(
                "\(campaign.id) is sent when the event '\(event)' happens, to the user it happened to; name the recipients with "
                    + "--user ID (and the event's data with --param KEY=VALUE), or add --all to send it to its whole audience "
                    + "(\(plural(audience, "user")))"
            )
        }
        if !users.isEmpty {
            for id in try await app.usersOutsideAudience(users, of: campaign) {
                printError("warning: \(id) is not in the audience of \(campaign.id); sending to them because --user names them")
            }
        }
        let progress = ProgressReporter.standardError(label: "planning \(campaign.id)", quiet: quiet)
        let total = progress.isEnabled && users.isEmpty ? try await app.store.countUsers(matching: app.planner.audience(of: campaign, at: app.clock.now)) : nil
        let result = try await app.send(campaign, HeraldApp.SendRequest(
            recipients: users.isEmpty ? nil : users, deliver: !planOnly, again: again, startNew: new,
            params: try Self.parseParams(params), progress: { progress.update(done: $0, total: total ?? (users.isEmpty ? nil : users.count)) }
        ))
        progress.finish()
        print(result.description)
    }
}
