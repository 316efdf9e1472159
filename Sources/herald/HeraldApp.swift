import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldStore
import Logging

/// The concrete parts of one Herald process, wired together: the store, the renderer, the
/// planner and one dispatcher per channel.
struct HeraldApp {
    let workspace: Workspace
    let store: SQLiteStore
    let clock: any WallClock
    let planner: Planner
    let dispatchers: [Dispatcher]

    init(workspace: Workspace, databasePath: String, clock: any WallClock = SystemWallClock()) throws {
        self.workspace = workspace
        self.clock = clock
        let store = try SQLiteStore(path: databasePath, schema: workspace.configuration.attributes)
        self.store = store
        var logger = Logger(label: "herald")
        logger.logLevel = .warning
        planner = Planner(
            store: store,
            renderer: TemplateRenderer(templates: workspace.templates),
            routing: workspace.configuration.channels,
            segments: workspace.segments,
            clock: clock,
            logger: logger
        )
        // Until the provider transports exist, each configured provider records what it would send.
        let transports: [any Transport] = workspace.configuration.providers.map {
            StoreRecordingTransport(name: $0.name, log: store, clock: clock)
        }
        let retryPolicy = RetryPolicy(workspace.configuration.retry)
        dispatchers = Channel.allCases.map {
            Dispatcher(channel: $0, store: store, transports: transports, retryPolicy: retryPolicy, clock: clock, logger: logger)
        }
    }

    /// What `herald send` did, for the user.
    struct SendResult: CustomStringConvertible {
        var campaignID: String
        /// The fire instant of an unfinished earlier send that this one finished instead, if any.
        var resumed: Date?
        var planning: Planner.Result
        var delivery: [Channel: Dispatcher.Summary]
        /// Notifications still leased to a dispatcher that stopped.
        var leased: [Channel: Int]

        var description: String {
            let summary = planning.summary
            var lines: [String] = []
            if let resumed {
                lines.append("\(campaignID): finishing the send of \(ISO8601.string(from: resumed)) instead of starting a new one: it was interrupted or still has notifications waiting (--new starts another)")
            }
            lines += [
                "\(campaignID): \(planning.recipients) recipient\(planning.recipients == 1 ? "" : "s"), "
                    + "\(summary.planned) notification\(summary.planned == 1 ? "" : "s") planned, \(summary.skipped) skipped"
                    + (summary.duplicates > 0 ? ", \(summary.duplicates) already planned before" : "")
                    + (summary.alreadyPlannedUsers > 0 ? ", \(summary.alreadyPlannedUsers) recipients already planned before" : ""),
            ]
            lines += HeraldApp.describe(delivery)
            for (channel, count) in leased.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(channel.rawValue): \(count) held by a dispatcher that stopped; `herald deliver` sends them when its lease ends (or at once with --take-over-leases)")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// One line per channel. A dispatcher delivers everything due on its channel, so the counts
    /// can include other sends' notifications (after `--plan-only`, retries).
    static func describe(_ delivery: [Channel: Dispatcher.Summary]) -> [String] {
        delivery.sorted(by: { $0.key < $1.key }).filter { $0.value != Dispatcher.Summary() }.map { channel, result in
            "  \(channel.rawValue) outbox: \(result.sent) sent, \(result.failed) failed, \(result.retried) to retry, \(result.skipped) skipped at send time"
                + (result.reclaimed > 0 ? ", \(result.reclaimed) repeated after a crash" : "")
        }
    }

    /// Delivers whatever is due in every channel's outbox.
    func deliver() async throws -> [Channel: Dispatcher.Summary] {
        var delivery: [Channel: Dispatcher.Summary] = [:]
        for dispatcher in dispatchers {
            delivery[dispatcher.channel] = try await dispatcher.drain()
        }
        return delivery
    }

    /// The settings of `campaign` and herald.yml that are read and checked but not applied by
    /// this version, so that `send` can say so instead of ignoring them silently.
    func unenforcedLimits(of campaign: Campaign) -> [String] {
        var names: [String] = []
        if !campaign.isTransactional {
            if !campaign.frequencyCaps.isEmpty || !workspace.configuration.frequencyCaps.isEmpty { names.append("frequency caps") }
            if campaign.quietHours != nil || workspace.configuration.quietHours != nil { names.append("quiet hours") }
        }
        if campaign.throttle != nil { names.append("throttle") }
        if campaign.expiresAfter != nil { names.append("expires_after") }
        return names
    }

    /// Plans `campaign` now and, with `deliver`, drains every channel's outbox.
    ///
    /// An earlier send of the campaign that is not done (the process stopped while planning or
    /// delivering, or retries are waiting) is finished instead of starting a new one, unless
    /// `startNew`: its notifications are keyed by occurrence, so nothing already planned is
    /// planned again, and re-running a send that crashed does not send it twice.
    func send(_ campaign: Campaign, to recipients: [String]?, deliver: Bool, startNew: Bool = false) async throws -> SendResult {
        if let recipients {
            let known = try await store.users(matching: .ids(recipients), after: nil, limit: recipients.count).map(\.id)
            let missing = recipients.filter { !known.contains($0) }
            guard missing.isEmpty else {
                throw CLIError("no user with id \(missing.map { "'\($0)'" }.joined(separator: ", ")); nothing was sent (import them first with `herald users import`)")
            }
        }
        // A send to named users is always its own occurrence: resuming another one for them
        // would drop their new message as a duplicate of the old one.
        let unfinished = startNew || recipients != nil ? nil : try await store.resumableOccurrence(campaignID: campaign.id)
        let planning = try await planner.plan(campaign, fireAt: unfinished?.fireAt ?? clock.now, recipients: recipients)
        var delivery: [Channel: Dispatcher.Summary] = [:]
        var leasedAfterward: [Channel: Int] = [:]
        if deliver {
            for dispatcher in dispatchers where campaign.channels.contains(dispatcher.channel) {
                delivery[dispatcher.channel] = try await dispatcher.drain()
            }
        }
        for channel in campaign.channels {
            let leased = try await store.leasedCount(channel: channel, at: clock.now)
            if leased > 0 { leasedAfterward[channel] = leased }
        }
        return SendResult(campaignID: campaign.id, resumed: unfinished?.fireAt, planning: planning, delivery: delivery, leased: leasedAfterward)
    }
}
