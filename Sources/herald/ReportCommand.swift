import ArgumentParser
import HeraldCore
import HeraldStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per campaign and channel: targeted, skipped by reason, sent, failed, and rates, from the store."
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(help: "Only this campaign.")
    var campaign: String?

    @Option(help: "table, json or csv.")
    var format: ReportFormatter.Format = .table

    func run() async throws {
        // The report reads the store only: it needs no valid campaign, and it never creates or
        // writes the database.
        let store = try options.openStoreForReading()
        if let campaign {
            let known = try await store.campaignIDs()
            guard known.contains(campaign) else {
                throw CLIError("no campaign '\(campaign)' in the store (\(known.isEmpty ? "nothing was sent yet" : Suggestion.hint(for: campaign, in: known)))")
            }
        }
        let rows = try await store.report(campaignID: campaign)
        print(ReportFormatter.format(rows, as: format))
    }
}

extension ReportFormatter.Format: ExpressibleByArgument {}
