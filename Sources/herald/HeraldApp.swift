import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldProviders
import HeraldRules
import HeraldSandbox
import HeraldStore
import Logging

/// The concrete parts of one Herald process, wired together: the store, the renderer, the
/// planner and one dispatcher per channel.
struct HeraldApp {
    let workspace: Workspace
    /// The store herald.yml names, SQLite or PostgreSQL.
    let opened: OpenedStore
    var store: any Store { opened.store }
    let clock: any WallClock
    let planner: Planner
    let dispatchers: [Dispatcher]
    /// Rung when this process plans new work; stopped at shutdown. Shared by the dispatchers.
    let signal: WorkSignal
    /// The providers' rate limits and breakers, shared by the dispatchers.
    let gates: ProviderGates
    /// The providers' transports; kept for the HTTP client's lifetime.
    let providers: ProviderTransports

    /// - Parameter sandbox: a running sandbox that every SMS and email provider is pointed at
    ///   (`herald demo`); nil to send as herald.yml says.
    init(
        workspace: Workspace, databasePath: String, clock: any WallClock = SystemWallClock(), sandbox: RunningSandbox? = nil,
        dispatch: Dispatcher.Configuration = Dispatcher.Configuration()
    ) throws {
        let store = try SQLiteStore(
            path: databasePath, schema: workspace.configuration.attributes,
            configuration: SQLiteStore.Configuration(defaultTimezone: workspace.configuration.defaultTimezone)
        )
        self.init(workspace: workspace, store: .sqlite(store), clock: clock, sandbox: sandbox, dispatch: dispatch)
    }

    /// The process of `workspace` on the store that `options` name (`--database`, else
    /// herald.yml's `store:`, SQLite or PostgreSQL).
    static func open(
        _ workspace: Workspace, options: WorkspaceOptions, dispatch: Dispatcher.Configuration = Dispatcher.Configuration()
    ) async throws -> HeraldApp {
        HeraldApp(workspace: workspace, store: try await options.openAnyStore(for: workspace), dispatch: dispatch)
    }

    init(
        workspace: Workspace, store opened: OpenedStore, clock: any WallClock = SystemWallClock(), sandbox: RunningSandbox? = nil,
        dispatch: Dispatcher.Configuration = Dispatcher.Configuration()
    ) {
        self.workspace = workspace
        self.clock = clock
        self.opened = opened
        let store = opened.store
        var logger = Logger(label: "herald")
        logger.logLevel = .warning
        providers = ProviderTransports(workspace.configuration, root: workspace.root, sandbox: sandbox, clock: clock)
        let transports = providers.transports
        // A provider without a transport (push, in this version) cannot carry anything: planning
        // skips its channel as no_provider, so `first_available` reaches the user on the next one.
        let routing = workspace.configuration.channels.carried(by: Set(transports.map(\.name)))
        planner = Self.makePlanner(workspace: workspace, store: store, routing: routing, clock: clock, logger: logger)
        let retryPolicy = RetryPolicy(workspace.configuration.retry)
        let signal = WorkSignal()
        self.signal = signal
        let gates = ProviderGates(configuration: ProviderGates.Configuration(
            rates: Dictionary(workspace.configuration.providers.compactMap { provider in provider.rate.map { (provider.name, $0) } }, uniquingKeysWith: { first, _ in first }),
            misconfiguredPause: retryPolicy.misconfiguredPause
        ))
        self.gates = gates
        var dispatch = dispatch
        dispatch.campaignThrottles = Dictionary(
            workspace.campaigns.compactMap { campaign in campaign.throttle.map { (campaign.id, $0) } }, uniquingKeysWith: { first, _ in first }
        )
        dispatchers = Channel.allCases.map {
            Dispatcher(
                channel: $0, store: store, transports: transports, retryPolicy: retryPolicy, clock: clock, configuration: dispatch,
                unsubscribeLinks: workspace.configuration.tracking.map(UnsubscribeLinks.init), routing: routing,
                gates: gates, signal: signal, logger: logger
            )
        }
    }

    /// The planner of `workspace` on `store`, wired one way for `send` and the scheduler.
    ///
    /// - Parameter routing: the channels' providers that have a transport
    ///   (`ChannelRouting.carried(by:)`).
    static func makePlanner(
        workspace: Workspace, store: any Store, routing: ChannelRouting, clock: any WallClock,
        configuration: Planner.Configuration = Planner.Configuration(), logger: Logger
    ) -> Planner {
        Planner(
            store: store,
            renderer: TemplateRenderer(workspace: workspace),
            routing: routing,
            segments: workspace.segments,
            unsubscribeLinks: workspace.configuration.tracking.map(UnsubscribeLinks.init),
            trackingLinks: workspace.configuration.tracking.flatMap { $0.opens || $0.clicks ? TrackingLinks($0) : nil },
            limits: RecipientPlanner.Limits(workspace.configuration),
            clock: clock,
            configuration: configuration,
            logger: logger
        )
    }

    /// Records events and plans the campaigns they trigger (`herald trigger`, `POST /v1/events`).
    var eventIntake: EventIntake {
        EventIntake(
            store: store, planner: planner, campaigns: workspace.campaigns, schema: workspace.configuration.attributes,
            defaultTimezone: workspace.configuration.defaultTimezone
        )
    }

    /// What `herald send` did, for the user.
    struct SendResult: CustomStringConvertible {
        var campaignID: String
        /// The fire instant of an unfinished earlier send that this one finished instead, if any.
        var resumed: Date?
        /// Planning, unless the resumed send was planned completely before.
        var planning: Planner.Result?
        var delivery: [Channel: Dispatcher.Summary]
        /// Notifications due now but leased to another herald process, with the lease's end.
        var leased: [Channel: (count: Int, until: Date?)]

        var description: String {
            var lines: [String] = []
            if let resumed {
                lines.append("\(campaignID): finishing the send of \(ISO8601.string(from: resumed)) instead of starting a new one: it was interrupted, is still running in another herald process, or has notifications waiting (--new starts another)")
            }
            if let planning {
                let summary = planning.summary
                lines.append(
                    "\(campaignID): \(plural(planning.recipients, "recipient")), "
                        + "\(plural(summary.planned, "notification")) planned, \(grouped(summary.skipped)) skipped"
                        + (summary.duplicates > 0 ? ", \(grouped(summary.duplicates)) already planned before" : "")
                        + (summary.alreadyPlannedUsers > 0 ? ", \(plural(summary.alreadyPlannedUsers, "recipient")) already planned before" : "")
                )
                if summary.dueLater > 0 {
                    lines.append("  \(grouped(summary.dueLater)) of them are due later (quiet hours, the throttle, or the recipient's own clock): `herald deliver` sends each once it is due")
                }
            } else {
                lines.append("\(campaignID): planned completely before; delivering what is left")
            }
            lines += HeraldApp.describe(delivery)
            for (channel, lease) in leased.sorted(by: { $0.key < $1.key }) {
                let until = lease.until.map { " until \(ISO8601.string(from: $0))" } ?? ""
                lines.append("  \(channel.rawValue): \(lease.count) being sent by another herald process (leased\(until)); if that process crashed, `herald deliver` sends them when the lease ends, or at once with --take-over-leases")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// What a send was asked to do, beyond the campaign.
    struct SendRequest {
        /// Named users instead of the audience.
        var recipients: [String]?
        /// Drain the campaign's channels after planning (false: `--plan-only`).
        var deliver = true
        /// Send to the audience again although an earlier send finished (`--again`).
        var again = false
        /// Start a new send even when an earlier one is unfinished (`--new`).
        var startNew = false
        /// Parameters for this send only (`--param`).
        var params: [String: String] = [:]
        /// Told the recipients planned so far, page by page.
        var progress: Planner.Progress?
    }

    /// Plans `campaign` now and, with `request.deliver`, drains its channels' outboxes.
    ///
    /// The occurrence is found or created in one store transaction: an earlier audience send
    /// that is not done (the process stopped while planning or delivering, retries are waiting,
    /// or another process is sending it right now) is finished instead of starting a new one,
    /// and a finished one is reported instead of repeated, unless `again`. Two `send`s of one
    /// campaign started together therefore plan one occurrence, and nothing is sent twice.
    func send(_ campaign: Campaign, _ request: SendRequest) async throws -> SendResult {
        if let recipients = request.recipients {
            let known = Set(try await store.users(matching: .ids(recipients), after: nil, limit: recipients.count).map(\.id))
            let missing = recipients.filter { !known.contains($0) }
            guard missing.isEmpty else {
                throw CLIError("no user with id \(missing.map { "'\($0)'" }.joined(separator: ", ")); nothing was sent (import them first with `herald users import`)")
            }
        }
        let now = clock.now
        // A bad audience rule fails here, before anything is written.
        _ = try await planner.audience(of: campaign, at: now, recipients: request.recipients)
        let start = try await store.startOccurrence(OccurrenceRequest(
            campaignID: campaign.id, definitionHash: campaign.definitionHash, fireAt: now,
            kind: request.recipients == nil ? .audience : .users, params: request.params,
            // A send to named users is always its own occurrence: resuming another one for them
            // would drop their new message as a duplicate of the old one.
            resumesUnfinished: !request.startNew, repeatsFinished: request.again || request.startNew
        ), at: now)
        let occurrence: Occurrence
        var resumed: Date?
        switch start {
        case .started(let new):
            occurrence = new
        case .resumed(let unfinished):
            occurrence = unfinished
            resumed = unfinished.fireAt
        case .alreadySent(let record):
            throw CLIError(Self.alreadySentMessage(campaign.id, record))
        }
        let planning = occurrence.isPlanned ? nil : try await planner.plan(campaign, occurrence: occurrence, recipients: request.recipients, progress: request.progress)
        var delivery: [Channel: Dispatcher.Summary] = [:]
        if request.deliver {
            delivery = try await deliver(channels: campaign.channels)
        }
        return SendResult(
            campaignID: campaign.id, resumed: resumed, planning: planning, delivery: delivery,
            leased: try await leasedElsewhere(channels: campaign.channels)
        )
    }

    static func alreadySentMessage(_ campaignID: String, _ record: SendRecord) -> String {
        let when = ISO8601.string(from: record.finishedAt ?? record.occurrence.fireAt)
        return "\(campaignID) was already sent to its audience on \(when): \(plural(record.sent, "notification")) to "
            + "\(plural(record.recipients, "recipient")) (see `herald report --campaign \(campaignID)`). Nothing was sent; "
            + "add --again to send it to its audience once more"
    }

    /// Which of `ids` the campaign's audience rule does not select, checked in memory as
    /// `audience --user` does.
    func usersOutsideAudience(_ ids: [String], of campaign: Campaign) async throws -> [String] {
        let now = clock.now
        guard case .rule(let source, _, let campaignID) = try await planner.audience(of: campaign, at: now) else { return [] }
        let rule = try Rule(source, schema: workspace.configuration.attributes)
        let context = try await store.ruleContext(now: now, campaignID: campaignID, defaultTimezone: workspace.configuration.defaultTimezone, for: ids)
        let users = try await store.users(matching: .ids(ids), after: nil, limit: ids.count)
        return users.filter { !rule.evaluate($0, in: context) }.map(\.id)
    }

    /// Rows due now on `channels` whose lease has not ended: another process is sending them.
    func leasedElsewhere(channels: [Channel]) async throws -> [Channel: (count: Int, until: Date?)] {
        var leased: [Channel: (count: Int, until: Date?)] = [:]
        for channel in channels {
            let lease = try await store.leases(channel: channel, at: clock.now)
            if lease.count > 0 { leased[channel] = lease }
        }
        return leased
    }

    /// One line per channel. A dispatcher delivers everything due on its channel, so the counts
    /// can include other sends' notifications (after `--plan-only`, retries).
    static func describe(_ delivery: [Channel: Dispatcher.Summary]) -> [String] {
        delivery.sorted(by: { $0.key < $1.key }).filter { $0.value != Dispatcher.Summary() }.map { channel, result in
            "  \(channel.rawValue) outbox: \(grouped(result.sent)) sent, \(grouped(result.failed)) failed, \(grouped(result.retried)) to retry, \(grouped(result.skipped)) skipped at send time"
                + (result.reclaimed > 0 ? ", \(grouped(result.reclaimed)) repeated after a crash" : "")
                + (result.postponed > 0 ? ", \(grouped(result.postponed)) postponed (provider paused or its breaker open; attempts not counted)" : "")
                + (result.released > 0 ? ", \(grouped(result.released)) given back at shutdown" : "")
        }
    }

    /// The dispatchers of `channels` as one long-running service (`herald worker`, `herald run`).
    func deliveryService(
        channels: [Channel], shutdownDeadline: Duration,
        onStop: @escaping @Sendable ([Channel: Dispatcher.Summary]) async -> Void
    ) -> DeliveryService {
        let routing = workspace.configuration.channels
        let sink = workspace.configuration.alerts.map { alerts in
            WebhookAlertSink(configuration: WebhookAlertSink.Configuration(url: alerts.webhook), http: providers.http) as any AlertSink
        }
        var logger = Logger(label: "herald.health")
        logger.logLevel = .notice
        let health = DeliveryHealth(
            configuration: DeliveryHealth.Configuration(
                providers: [.push: Array(Set(routing.push.values)).sorted(), .sms: routing.sms, .email: routing.email],
                alerts: workspace.configuration.alerts, channels: Set(channels)
            ),
            store: opened.inspection, incidents: opened.incidents, gates: gates, sink: sink, logger: logger
        )
        var rosterLogger = Logger(label: "herald.workers")
        rosterLogger.logLevel = .notice
        let roster = WorkerRoster(
            store: opened.workers, gates: gates, providers: ProviderShares.channels(of: routing), channels: Set(channels),
            startedAt: clock.now, logger: rosterLogger
        )
        return DeliveryService(
            dispatchers: dispatchers.filter { channels.contains($0.channel) }, signal: signal, clock: clock,
            configuration: DeliveryService.Configuration(shutdownDeadline: shutdownDeadline), health: health, roster: roster, onStop: onStop
        )
    }

    /// Delivers whatever is due in the outboxes of `channels` (every channel by default), every
    /// channel at once.
    func deliver(channels: [Channel] = Channel.allCases) async throws -> [Channel: Dispatcher.Summary] {
        try await withThrowingTaskGroup(of: (Channel, Dispatcher.Summary).self) { group in
            for dispatcher in dispatchers where channels.contains(dispatcher.channel) {
                group.addTask { (dispatcher.channel, try await dispatcher.drain()) }
            }
            var delivery: [Channel: Dispatcher.Summary] = [:]
            for try await (channel, summary) in group { delivery[channel] = summary }
            return delivery
        }
    }
}
