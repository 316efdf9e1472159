import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Deliver the outboxes as they come due (a long-running service).",
        discussion: """
            Runs one lane per channel and provider: each claims due notifications with a lease, sends them within \
            the provider's rate: limit and circuit breaker, and records each outcome as soon as it is known; it sleeps \
            until the next notification is due (looking again at least every --idle-poll seconds for work planned by \
            other processes). A failing or slow provider never holds up another. Several workers may run on one \
            database: each notification is claimed by one of them.

            SIGINT or SIGTERM stops claiming, lets sends already at a provider finish for up to --shutdown-deadline \
            seconds, gives back what was claimed but not sent, and exits 0. After kill -9, notifications that were at \
            a provider are sent again once their lease ends (--lease), with the same idempotency id; nothing is lost.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(name: .customLong("channel"), help: "A channel to deliver (push, sms, email); repeatable. Default: every channel.")
    var channels: [Channel] = []

    @Option(help: "Seconds a claim lasts unless renewed (renewed every third of it while sending); 1 to 3600.")
    var lease: Int = 60

    @Option(help: "Notifications claimed per lane and transaction (1 to 10000).")
    var batchSize: Int = 200

    @Option(help: "Seconds an idle lane waits at most before looking for work planned by another process (0.01 to 60).")
    var idlePoll: Double = 1

    @Option(help: "Seconds that sends already at a provider may take to finish after SIGTERM (0 to 600).")
    var shutdownDeadline: Double = 10

    func validate() throws {
        guard (1...3600).contains(lease) else { throw ValidationError("--lease must be between 1 and 3600 seconds, got \(lease)") }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 10000, got \(batchSize)") }
        guard (0.01...60).contains(idlePoll) else { throw ValidationError("--idle-poll must be between 0.01 and 60 seconds, got \(idlePoll)") }
        guard (0...600).contains(shutdownDeadline) else {
            throw ValidationError("--shutdown-deadline must be between 0 and 600 seconds, got \(shutdownDeadline)")
        }
    }

    var dispatch: Dispatcher.Configuration {
        Dispatcher.Configuration(batchSize: batchSize, lease: .seconds(lease), idlePoll: .interval(idlePoll))
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        // How long claims take, said when the worker stops: what several workers on one
        // database cost each other.
        let claims = Mutex((latency: LatencyHistogram(), rows: 0))
        var dispatch = self.dispatch
        dispatch.onClaim = { duration, rows in
            // An empty claim is an idle lane looking for work, not a claim that took rows.
            guard rows > 0 else { return }
            claims.withLock { claims in
                claims.latency.record(duration)
                claims.rows += rows
            }
        }
        let app = try await HeraldApp.open(workspace, options: options, dispatch: dispatch)
        let selected = channels.isEmpty ? Channel.allCases : channels
        print("delivering \(selected.map(\.rawValue).joined(separator: ", ")) (pid \(ProcessInfo.processInfo.processIdentifier)); SIGINT or SIGTERM stops")
        // At once also into a pipe or a log file: a supervisor may wait for it.
        fflush(nil)
        let delivery = app.deliveryService(channels: selected, shutdownDeadline: .interval(shutdownDeadline)) { summaries in
            print("stopped")
            for line in HeraldApp.describe(summaries) { print(line) }
            if let line = Self.describe(claims.withLock { $0 }) { print(line) }
        }
        var logger = Logger(label: "herald.worker")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: delivery, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}

extension WorkerCommand {
    /// `  claims: 1,204 of 24.9 rows on average; p50 1.2 ms, p99 9.5 ms, max 17.8 ms`, or nil
    /// when nothing was claimed.
    static func describe(_ claims: (latency: LatencyHistogram, rows: Int)) -> String? {
        guard claims.rows > 0, let p50 = claims.latency.percentile(0.5), let p99 = claims.latency.percentile(0.99) else { return nil }
        func milliseconds(_ duration: Duration) -> String { String(format: "%.1f ms", duration.timeInterval * 1000) }
        return "  claims: \(grouped(claims.latency.count)) of \(String(format: "%.1f", Double(claims.rows) / Double(claims.latency.count))) rows on average; "
            + "p50 \(milliseconds(p50)), p99 \(milliseconds(p99)), max \(milliseconds(claims.latency.maximum))"
    }
}

extension Channel: ExpressibleByArgument {}
