import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Plan a campaign now for its audience (or named users) and deliver it.",
        discussion: """
            Checks each recipient's address and opt-ins, renders the template per channel and locale, writes the \
            notifications and outbox rows, then delivers each channel's outbox and prints what happened.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The campaign id (the file name in campaigns/ without .yml).")
    var campaign: String

    @Flag(help: "Send now, whatever the campaign's schedule says.")
    var now = false

    @Option(name: .customLong("user"), help: "Send only to this user id (repeatable) instead of the audience.")
    var users: [String] = []

    @Flag(help: "Plan only: leave the notifications in the outbox without delivering them.")
    var planOnly = false

    @Flag(help: "Start a new send even when an earlier send of this campaign is not done.")
    var new = false

    func validate() throws {
        guard now else {
            throw ValidationError("add --now to send '\(campaign)' immediately (scheduled sends run under `herald run`, which is not built yet)")
        }
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        guard let campaign = workspace.campaign(id: self.campaign) else {
            throw CLIError("unknown campaign '\(self.campaign)' (\(Suggestion.hint(for: self.campaign, in: workspace.campaigns.map(\.id))))")
        }
        let app = try HeraldApp(workspace: workspace, databasePath: options.databasePath(for: workspace))
        let unenforced = app.unenforcedLimits(of: campaign)
        if !unenforced.isEmpty {
            printError("warning: \(campaign.id): \(unenforced.joined(separator: ", ")) are checked but not applied yet; this send goes out now to everyone eligible")
        }
        let result = try await app.send(campaign, to: users.isEmpty ? nil : users, deliver: !planOnly, startNew: new)
        print(result.description)
    }
}
