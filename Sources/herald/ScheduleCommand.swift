import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldDefinitions
import HeraldEngine
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Work with campaign schedules.",
        subcommands: [Preview.self, Run.self]
    )

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The next fire instants of a cron expression, or when a campaign is sent next.",
            discussion: """
                With --cron, prints the next --count instants strictly after --from, one per line, in ISO 8601 with \
                the zone's offset (2026-03-08T03:00:00-04:00) and nothing else, so that scripts can read them. A time \
                that falls in a daylight-saving gap fires once, moved forward by the gap; one that happens twice fires \
                at the first.
                """
        )

        @OptionGroup var location: WorkspaceLocation

        @Argument(help: "A campaign id (instead of --cron).")
        var campaign: String?

        @Option(help: "A cron expression: 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly.")
        var cron: String?

        @Option(help: "The IANA zone the expression is read in. Default: UTC.")
        var timezone: String = "UTC"

        @Option(help: "The instant to start after, in ISO 8601. Default: now.")
        var from: String?

        @Option(help: "How many instants.")
        var count: Int = 5

        func validate() throws {
            guard (campaign == nil) != (cron == nil) else {
                throw ValidationError("give a campaign id or --cron EXPRESSION, not both")
            }
            guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000, got \(count)") }
            guard TimeZone(identifier: timezone) != nil, timezone.contains("/") || timezone == "UTC" || timezone == "GMT" else {
                throw ValidationError("unknown time zone '\(timezone)' (expected an IANA name such as America/New_York)")
            }
            if let from, ISO8601.date(from: from) == nil {
                throw ValidationError("--from '\(from)' is not an ISO 8601 instant, e.g. 2026-03-08T00:00:00Z")
            }
            if let cron {
                do {
                    _ = try CronExpression(cron)
                } catch {
                    throw ValidationError("--cron '\(cron)': \(error.message)")
                }
            }
        }

        func run() async throws {
            let start = from.flatMap(ISO8601.date(from:)) ?? Date()
            if let cron {
                print(Self.instants(try CronExpression(cron), zone: TimeZone(identifier: timezone)!, after: start, count: count, window: nil).joined(separator: "\n"))
                return
            }
            let options = try WorkspaceOptions.parse(["--workspace", location.workspace])
            let workspace = try options.loadWorkspace()
            let campaign = try options.campaign(self.campaign!, in: workspace)
            print(Self.describe(campaign, defaultZone: workspace.configuration.defaultTimezone, after: start, count: count))
        }

        static func instants(_ cron: CronExpression, zone: TimeZone, after start: Date, count: Int, window: ClosedRange<LocalDateTime>?) -> [String] {
            var after = start
            var lines: [String] = []
            while lines.count < count, let next = cron.next(after: after, in: zone, window: window) {
                lines.append(ISO8601.string(from: next, in: zone))
                after = next
            }
            return lines
        }

        static func describe(_ campaign: Campaign, defaultZone: String, after start: Date, count: Int) -> String {
            switch campaign.schedule {
            case .manual:
                return "\(campaign.id) has no schedule: it is sent by `herald send \(campaign.id) --now` (or the API)"
            case .trigger(let event, let delay):
                return "\(campaign.id) is sent to a user when the event '\(event)' happens for them" + (delay.map { ", \($0) later" } ?? "")
            case .instant(let instant):
                return "\(campaign.id) is sent once at \(ISO8601.string(from: instant))" + (instant <= start ? " (in the past)" : "")
            case .at(let time, .fixed(let zoneName)):
                let zone = TimeZone(identifier: zoneName) ?? TimeZone(identifier: "UTC")!
                let instant = time.instant(in: zone)
                return "\(campaign.id) is sent once at \(ISO8601.string(from: instant, in: zone))" + (instant <= start ? " (in the past)" : "")
            case .at(let time, .recipient):
                // The earliest and latest zones on Earth: UTC+14 and UTC-12.
                let earliest = time.instant(in: TimeZone(secondsFromGMT: 14 * 3600)!)
                let latest = time.instant(in: TimeZone(secondsFromGMT: -12 * 3600)!)
                return "\(campaign.id) is sent once at \(time) in each recipient's zone (\(defaultZone) for those without one): "
                    + "from \(ISO8601.string(from: earliest)) (UTC+14, when `herald schedule run` plans it) to \(ISO8601.string(from: latest)) (UTC-12)"
            case .cron(let schedule):
                let window = schedule.window
                switch schedule.zone {
                case .fixed(let zoneName):
                    let zone = TimeZone(identifier: zoneName) ?? TimeZone(identifier: "UTC")!
                    let lines = instants(schedule.expression, zone: zone, after: start, count: count, window: window)
                    return (["\(campaign.id) (cron \(schedule.expression) in \(zoneName)) is sent next at:"] + lines.map { "  " + $0 })
                        .joined(separator: "\n") + (lines.isEmpty ? "\n  (never again)" : "")
                case .recipient:
                    let zone = TimeZone(identifier: defaultZone) ?? TimeZone(identifier: "UTC")!
                    let lines = instants(schedule.expression, zone: zone, after: start, count: count, window: window)
                    return (["\(campaign.id) (cron \(schedule.expression) in each recipient's zone) fires next, on the clock of \(defaultZone), at (`herald schedule run` plans each one when it is that time at UTC+14:00):"] + lines.map { "  " + $0 })
                        .joined(separator: "\n")
                }
            }
        }
    }
}

extension ScheduleCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan the campaigns' scheduled occurrences when they are due (a long-running service).",
            discussion: """
                For every usable campaign with an `at` or `cron` schedule, plans each occurrence when it is due, then \
                sleeps until the next one (reading the campaigns again at least every minute, so that edits and new \
                campaigns are seen). It plans into the outbox; `herald deliver` sends. With `timezone: recipient` an \
                occurrence is planned when its wall-clock time comes at UTC+14:00, the earliest zone on Earth.

                Catch-up: an occurrence missed (no scheduler was running) by less than the campaign's expires_after \
                (1h without it) is planned late; an older one is recorded as skipped (expired). A new cron campaign \
                starts when a scheduler first sees it, with no backfill; a one-off `at` in the past is sent if within \
                the same grace. An occurrence planned before is never planned again, even after the campaign is edited.

                Several schedulers may run on one database: each occurrence is claimed with a lease before it is \
                planned, so it is planned once. One whose planning was interrupted (a crash, kill -9, a shutdown) is \
                resumed by the next scheduler once its lease ends, without duplicates. SIGINT or SIGTERM stops at the \
                next page of the occurrence being planned and releases it.
                """
        )

        @OptionGroup var options: WorkspaceOptions

        @Flag(help: "Plan what is due now, then exit (for a deployment that runs this from cron).")
        var once = false

        @Option(help: "This scheduler's name in occurrence leases, unique among running schedulers. Default: HOSTNAME:PID.")
        var owner: String?

        @Option(help: "Act as if the clock read this ISO 8601 instant at start (time runs on from there): to rehearse a catch-up, and for tests.")
        var now: String?

        @Option(help: "Users per page and per write transaction while planning (1 to 100000).")
        var batchSize: Int = 1000

        @Option(help: "Seconds a claim on an occurrence lasts unless renewed (renewed every third of it while planning); another scheduler resumes an occurrence whose claim ended (1 to 86400).")
        var lease: Int = 60

        func validate() throws {
            if let now, ISO8601.date(from: now) == nil {
                throw ValidationError("--now '\(now)' is not an ISO 8601 instant, e.g. 2026-12-01T09:00:00Z")
            }
            guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 100000, got \(batchSize)") }
            guard (1...86_400).contains(lease) else { throw ValidationError("--lease must be between 1 and 86400 seconds, got \(lease)") }
            if let owner, owner.isEmpty || owner.count > 200 || owner.contains(where: \.isNewline) {
                throw ValidationError("--owner must be a name of 1 to 200 characters on one line")
            }
        }

        func run() async throws {
            let workspace = try options.loadWorkspace()
            let clock: any WallClock = now.flatMap(ISO8601.date(from:)).map { OffsetWallClock(startingAt: $0) } ?? SystemWallClock()
            let store = try await options.openAnyStore(for: workspace).store
            var logger = Logger(label: "herald.scheduler")
            logger.logLevel = .warning
            let reader = WorkspaceReader(
                directory: options.workspace, first: workspace, store: store, clock: clock,
                planner: Planner.Configuration(batchSize: batchSize), logger: logger
            )
            let output = SchedulerOutput()
            let scheduler = Scheduler(
                store: store, clock: clock,
                configuration: Scheduler.Configuration(owner: owner ?? Scheduler.defaultOwner, lease: .seconds(lease), runsOnce: once),
                logger: logger,
                onEvent: { output.show($0) },
                onPass: { output.show($0, once: once) },
                definitions: { try reader.read() }
            )
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: scheduler, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await group.run()
            let failures = output.failures
            if once, failures > 0 {
                throw CLIError("\(plural(failures, "occurrence")) could not be planned (see above); a later run tries again")
            }
        }
    }

    /// Prints what the scheduler does: one line per occurrence (problems on standard error), and
    /// the next fire instant when it changes.
    final class SchedulerOutput: Sendable {
        private struct State {
            var failures = 0
            var next: Scheduler.NextOccurrence??
        }

        private let state = Mutex(State())

        var failures: Int { state.withLock { $0.failures } }

        func show(_ event: Scheduler.Event) {
            switch event {
            case .planned(let campaignID, let fireAt, let result, let isResumed):
                let summary = result.summary
                let what = isResumed ? "finished the interrupted planning of the occurrence" : "planned the occurrence"
                print(
                    "\(campaignID): \(what) of \(ISO8601.string(from: fireAt)): \(plural(result.recipients, "recipient")), "
                        + "\(plural(summary.planned, "notification")) planned, \(grouped(summary.skipped)) skipped"
                        + (summary.alreadyPlannedUsers > 0 ? ", \(plural(summary.alreadyPlannedUsers, "recipient")) already planned before" : "")
                        + (summary.duplicates > 0 ? ", \(grouped(summary.duplicates)) already planned before" : "")
                )
            case .expired(let campaignID, let fireAt, let missedBy, let grace):
                print(
                    "\(campaignID): the occurrence of \(ISO8601.string(from: fireAt)) was missed by \(Scheduler.describe(missedBy)), "
                        + "not less than its catch-up grace of \(Scheduler.describe(grace)) (expires_after, or 1h without it): "
                        + "recorded as skipped (expired), nothing planned"
                )
            case .held(let campaignID, let fireAt, let owner, let until):
                print("\(campaignID): the occurrence of \(ISO8601.string(from: fireAt)) is being planned by \(owner) (claimed until \(ISO8601.string(from: until))); left to it")
            case .interrupted(let campaignID, let fireAt):
                print("\(campaignID): stopped planning the occurrence of \(ISO8601.string(from: fireAt)) to shut down; the next `herald schedule run` finishes it")
            case .failed(let campaignID, let fireAt, let message):
                state.withLock { $0.failures += 1 }
                let which = fireAt.map { "the occurrence of \(ISO8601.string(from: $0))" } ?? "its schedule"
                printError("error: \(campaignID): cannot plan \(which): \(message); trying again later")
            case .orphaned(let campaignID, let fireAt):
                printError("warning: the occurrence of \(campaignID) at \(ISO8601.string(from: fireAt)) was left part planned, and \(campaignID) cannot be used now (removed or broken); it is finished once the campaign is back")
            }
        }

        func show(_ pass: Scheduler.Pass, once: Bool) {
            let isNew = state.withLock { state in
                defer { state.next = .some(pass.next) }
                return state.next != .some(pass.next)
            }
            guard isNew || once, !pass.isInterrupted else { return }
            if let next = pass.next {
                print("next: \(next.campaignID) at \(ISO8601.string(from: next.fireAt))")
            } else {
                print("next: none (no campaign has an at or cron occurrence to come)")
            }
        }
    }

    /// Reads the workspace again at each pass of the scheduler, printing its problems only when
    /// they change, and builds the planner for what it read.
    final class WorkspaceReader: Sendable {
        let directory: String
        let store: any Store
        let clock: any WallClock
        let plannerConfiguration: Planner.Configuration
        let logger: Logger
        /// The problems printed last, and whether the first (already loaded) workspace was used.
        private let state: Mutex<(problems: [String], first: Workspace?)>

        init(directory: String, first: Workspace, store: any Store, clock: any WallClock, planner: Planner.Configuration, logger: Logger) {
            self.directory = directory
            self.store = store
            self.clock = clock
            plannerConfiguration = planner
            self.logger = logger
            state = Mutex(([], first))
        }

        func read() throws -> Scheduler.Definitions {
            let workspace = try state.withLock { $0.first.take() } ?? load()
            let routing = workspace.configuration.channels.carried(by: ProviderTransports.carriers(in: workspace.configuration))
            let planner = HeraldApp.makePlanner(
                workspace: workspace, store: store, routing: routing, clock: clock, configuration: plannerConfiguration, logger: logger
            )
            let parser = CampaignParser(defaultTimezone: workspace.configuration.defaultTimezone)
            return Scheduler.Definitions(campaigns: workspace.campaigns, planner: planner) { text, file in
                parser.parse(text: text, file: file).campaign
            }
        }

        private func load() throws -> Workspace {
            let (workspace, diagnostics) = WorkspaceOptions.loadUsable(directory: directory)
            let problems = diagnostics.map(\.description)
            let changed = state.withLock { state in
                defer { state.problems = problems }
                return state.problems != problems
            }
            if changed {
                for problem in problems { printError(problem) }
            }
            guard let workspace else {
                throw CLIError("the workspace '\(directory)' cannot be used now: herald.yml has errors; scheduling the campaigns read before")
            }
            return workspace
        }
    }
}

/// The system's clock, moved so that it read `start` when the command started (`--now`).
struct OffsetWallClock: WallClock {
    let offset: TimeInterval

    init(startingAt start: Date) {
        offset = start.timeIntervalSinceNow
    }

    var now: Date { Date().addingTimeInterval(offset) }
}
