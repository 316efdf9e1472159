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
        let workspace = try options.loadWorkspace()
        let store = try options.openStore(for: workspace)
        let rows = try await store.report(campaignID: campaign)
        print(ReportFormatter.format(rows, as: format))
    }
}

extension ReportFormatter.Format: ExpressibleByArgument {}
