import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldProviders
import HeraldStore

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what sending a campaign would do, without writing anything.",
        discussion: """
            A dry run for review: the same decisions `send` makes (addresses, opt-ins, frequency caps against what \
            recipients were already sent, quiet hours, throttle, expiry, rendering), against the users in the store \
            as they are now, with nothing written. It shows the audience, skips by reason (capped ones by the cap that \
            stopped them), notifications per channel and provider, when they fall due (per hour, on the clock of \
            default_timezone), SMS segments (GSM-7 or UCS-2) and, with prices in herald.yml, the cost; and one rendered sample per \
            channel and locale.

            Without --at, a scheduled campaign is planned for its next occurrence and any other for now.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The campaign id.")
    var campaign: String

    @Option(help: "Plan as if the campaign fired at this ISO 8601 instant (e.g. 2026-12-01T09:00:00Z).")
    var at: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A template parameter (repeatable), as with `send`.", valueName: "key=value"))
    var params: [String] = []

    @Option(help: "table (default), json, or markdown (for a pull-request comment).")
    var format: OutputFormat = .table

    @Flag(help: "No progress on the terminal.")
    var quiet = false

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json, markdown
    }

    func validate() throws {
        if let at, ISO8601.date(from: at) == nil {
            throw ValidationError("--at '\(at)' is not an ISO 8601 instant, e.g. 2026-12-01T09:00:00Z")
        }
        _ = try SendCommand.parseParams(params)
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let campaign = try options.campaign(self.campaign, in: workspace)
        let store = try await options.openAnyStore(for: workspace, access: .readOnly).store
        let now = Date()
        let (fireAt, when) = at.flatMap(ISO8601.date(from:)).map { ($0, "as if sent at \(ISO8601.string(from: $0))") }
            ?? Self.nextFire(of: campaign.schedule, after: now).map { ($0, "its \($0 < now ? "scheduled" : "next") occurrence, \(ISO8601.string(from: $0))") }
            ?? (now, "now, \(ISO8601.string(from: now))")
        let routing = workspace.configuration.channels.carried(by: ProviderTransports.carriers(in: workspace.configuration))
        let planner = Planner(
            store: store, renderer: TemplateRenderer(workspace: workspace), routing: routing, segments: workspace.segments,
            unsubscribeLinks: workspace.configuration.tracking.map(UnsubscribeLinks.init),
            limits: RecipientPlanner.Limits(workspace.configuration), clock: FixedClock(now: fireAt)
        )
        let defaultZone = TimeZoneCache.shared.zone(named: workspace.configuration.defaultTimezone)
        let zone = defaultZone ?? TimeZone(identifier: "UTC")!
        var tally = PlanTally(zone: zone)
        tally.sampleVariant = campaign.experiment.variants.first?.name
        let progress = ProgressReporter.standardError(label: "planning \(campaign.id) (dry run)", quiet: quiet)
        let total = progress.isEnabled ? try await store.countUsers(matching: planner.audience(of: campaign, at: fireAt)) : nil
        let result = try await planner.dryRun(
            campaign, fireAt: fireAt, params: try SendCommand.parseParams(params), progress: { progress.update(done: $0, total: total) }
        ) { users, decisions in
            tally.add(decisions, users: users) { body, _ in SMSSegments(text: body) }
        }
        progress.finish()
        let cost = CostEstimate(
            usage: tally.sends.sorted { $0.key < $1.key }.map { CostEstimate.Usage(provider: $0.key.provider, messages: $0.value, segments: tally.smsSegments[$0.key.provider] ?? 0) },
            configuration: workspace.configuration
        )
        let report = PlanReport(campaign: campaign, when: when, fireAt: fireAt, result: result, tally: tally, cost: cost,
            zoneName: defaultZone == nil ? "UTC" : workspace.configuration.defaultTimezone
        )
        switch format {
        case .table: print(report.text(width: Terminal.width))
        case .json: print(report.json())
        case .markdown: print(report.markdown())
        }
    }

    /// The next fire instant of a schedule: an `at` even if past (it is its only occurrence), a
    /// cron's next one after `now`; nil for manual and triggered campaigns. A schedule in each
    /// recipient's zone fires when the earliest zone reaches its time.
    static func nextFire(of schedule: Schedule, after now: Date) -> Date? {
        if let instant = schedule.firstFireInstant { return instant }
        guard case .cron(let cron) = schedule else { return nil }
        return cron.expression.next(after: now, in: cron.zone.fireZone, window: cron.window)
    }
}

/// A clock that always reads one instant: a dry run decides as if it were the fire instant.
struct FixedClock: WallClock {
    var now: Date
}
