import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine
import HeraldServer
import HeraldStore
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the scheduler and the delivery workers in one process.",
        discussion: """
            The scheduler plans the campaigns' at and cron occurrences when they are due (as `herald schedule run`), \
            and the workers deliver every channel's outbox (as `herald worker`); what the scheduler plans wakes the \
            workers at once. With `api:` in herald.yml, or --listen, the HTTP API runs with them (as `herald serve`), \
            and what it plans wakes the workers too. SIGINT or SIGTERM stops all of them: the API after the requests \
            in progress, the scheduler at the next page, the workers after the sends in flight (up to \
            --shutdown-deadline seconds).
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(help: "Seconds a delivery claim lasts unless renewed (1 to 3600).")
    var lease: Int = 60

    @Option(help: "Seconds that sends already at a provider may take to finish after SIGTERM (0 to 600).")
    var shutdownDeadline: Double = 10

    @Option(help: ArgumentHelp("Serve the HTTP API on HOST:PORT (port 0: a free port). Default: herald.yml's api.listen, when it has `api:`.", valueName: "host:port"))
    var listen: String?

    func validate() throws {
        if let listen { _ = try ServeCommand.address(listen) }
        guard (1...3600).contains(lease) else { throw ValidationError("--lease must be between 1 and 3600 seconds, got \(lease)") }
        guard (0...600).contains(shutdownDeadline) else {
            throw ValidationError("--shutdown-deadline must be between 0 and 600 seconds, got \(shutdownDeadline)")
        }
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let app = try await HeraldApp.open(workspace, options: options, dispatch: Dispatcher.Configuration(lease: .seconds(lease)))
        var logger = Logger(label: "herald")
        logger.logLevel = .warning
        let reader = ScheduleCommand.WorkspaceReader(
            directory: options.workspace, first: workspace, store: app.store, clock: app.clock,
            planner: Planner.Configuration(), logger: logger
        )
        let output = ScheduleCommand.SchedulerOutput()
        let signal = app.signal
        let scheduler = Scheduler(
            store: app.store, clock: app.clock, logger: logger,
            onEvent: { event in
                output.show(event)
                // What was just planned may be due now: the workers need not wait for their poll.
                if case .planned = event { signal.ring() }
            },
            onPass: { output.show($0, once: false) },
            definitions: { try reader.read() }
        )
        let delivery = app.deliveryService(channels: Channel.allCases, shutdownDeadline: .interval(shutdownDeadline)) { summaries in
            print("stopped")
            for line in HeraldApp.describe(summaries) { print(line) }
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: scheduler, successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: delivery, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        var api = ""
        if let address = listen ?? workspace.configuration.api?.listen {
            let (host, port) = try ServeCommand.address(address)
            var apiLogger = Logger(label: "herald.api")
            apiLogger.logLevel = .warning
            services.append(.init(
                service: app.apiServer().application(host: host, port: port, logger: apiLogger) { port in
                    print("serving the HTTP API on http://\(host):\(port)")
                    fflush(nil)
                },
                successTerminationBehavior: .gracefullyShutdownGroup
            ))
            api = ", the HTTP API"
        }
        print("running the scheduler\(api) and the workers (pid \(ProcessInfo.processInfo.processIdentifier)); SIGINT or SIGTERM stops")
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}
