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
        var planning: Planner.Result
        var delivery: [Channel: Dispatcher.Summary]

        var description: String {
            let summary = planning.summary
            var lines = [
                "\(campaignID): \(planning.recipients) recipient\(planning.recipients == 1 ? "" : "s"), "
                    + "\(summary.planned) notification\(summary.planned == 1 ? "" : "s") planned, \(summary.skipped) skipped"
                    + (summary.duplicates > 0 ? ", \(summary.duplicates) already planned before" : ""),
            ]
            for (channel, result) in delivery.sorted(by: { $0.key < $1.key }) where result != Dispatcher.Summary() {
                lines.append("  \(channel.rawValue): \(result.sent) sent, \(result.failed) failed, \(result.retried) to retry, \(result.skipped) skipped at send time")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Plans `campaign` now and, with `deliver`, drains every channel's outbox.
    func send(_ campaign: Campaign, to recipients: [String]?, deliver: Bool) async throws -> SendResult {
        let planning = try await planner.plan(campaign, fireAt: clock.now, recipients: recipients)
        var delivery: [Channel: Dispatcher.Summary] = [:]
        if deliver {
            for dispatcher in dispatchers where campaign.channels.contains(dispatcher.channel) {
                delivery[dispatcher.channel] = try await dispatcher.drain()
            }
        }
        return SendResult(campaignID: campaign.id, planning: planning, delivery: delivery)
    }
}
