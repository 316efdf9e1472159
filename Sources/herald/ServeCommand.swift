import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldProviders
import HeraldServer
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API alone.",
        discussion: """
            Serves users, devices and preferences (/v1/users), events (/v1/events), one-click unsubscribe (/u/TOKEN) \
            and health (/healthz, /readyz) on the `api: {listen: HOST:PORT}` address of herald.yml (default \
            127.0.0.1:8080), or on --listen. The /v1 routes need an API key: create one with `herald keys create`. \
            What the API plans waits in the outbox for `herald worker` or `herald run`. SIGINT or SIGTERM stops it \
            after the requests in progress.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(help: ArgumentHelp("Where to listen, HOST:PORT; port 0 picks a free port. Default: herald.yml's api.listen.", valueName: "host:port"))
    var listen: String?

    @Flag(help: "Log one line per request to stderr: method, route pattern, status and duration (no ids, tokens, bodies or headers).")
    var accessLog = false

    func validate() throws {
        if let listen { _ = try Self.address(listen) }
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let app = try await HeraldApp.open(workspace, options: options)
        let (host, port) = try Self.address(listen ?? workspace.configuration.api?.listen ?? APIConfiguration().listen)
        var logger = Logger(label: "herald.api")
        logger.logLevel = .warning
        let server = app.apiServer(accessLog: accessLog).application(host: host, port: port, logger: logger) { port in
            print("serving the HTTP API on http://\(host):\(port) (pid \(ProcessInfo.processInfo.processIdentifier)); SIGINT or SIGTERM stops")
            fflush(nil)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        print("stopped")
    }

    /// `HOST:PORT` split, the port checked.
    static func address(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
              !text[..<colon].isEmpty
        else {
            throw ValidationError("\(Quoted.visible(text)) is not an address to listen on: expected HOST:PORT, e.g. 127.0.0.1:8080")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

extension HeraldApp {
    static let metricsBootstrap = Mutex(false)

    static func bootstrapMetrics(_ registry: PrometheusCollectorRegistry) {
        metricsBootstrap.withLock { done in
            guard !done else { return }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            done = true
        }
    }

    /// The secrets of herald.yml's providers that verify their webhooks. A provider signs over
    /// the URL it posts to: Twilio's status callback, Mailchimp's registered webhook URL, by
    /// default `tracking.base_url` + `/webhooks/{kind}`.
    var webhookSecrets: WebhookSecrets {
        let configuration = workspace.configuration
        var base = configuration.tracking?.baseURL
        while base?.hasSuffix("/") == true { base?.removeLast() }
        var secrets = WebhookSecrets()
        for provider in configuration.providers {
            let settings = provider.settings
            switch provider.kind {
            case .twilio:
                if let token = settings["auth_token"],
                   let url = settings["status_callback"] ?? base.map({ "\($0)/webhooks/twilio" }) {
                    secrets.twilio.append(WebhookSecrets.Twilio(authToken: token, url: url))
                }
            case .sendgrid:
                if let key = settings["webhook_public_key"] { secrets.sendGrid.append(key) }
            case .mandrill:
                if let key = settings["webhook_key"], let url = settings["webhook_url"] ?? base.map({ "\($0)/webhooks/mandrill" }) {
                    secrets.mandrill.append(WebhookSecrets.Mandrill(key: key, url: url))
                }
            default:
                break
            }
        }
        return secrets
    }

    /// The HTTP API on this process's store and workspace. What it plans rings the workers of
    /// this process, if any.
    func apiServer(accessLog: Bool = false, webhooks: WebhookSecrets? = nil) -> APIServer {
        let store = opened.roles
        let metrics = APIMetrics()
        // One registry for the API's metrics and, through swift-metrics, the dispatchers' sends
        // in the same process. swift-metrics takes one factory per process, at most once.
        HeraldApp.bootstrapMetrics(metrics.registry)
        var accessLogger = Logger(label: "herald.api.access")
        accessLogger.logLevel = accessLog ? .info : .critical
        return APIServer(APIServer.Parts(
            store: store, clock: clock, events: eventIntake, unsubscribeLinks: workspace.configuration.tracking.map(UnsubscribeLinks.init),
            schema: workspace.configuration.attributes, preferenceKeys: workspace.preferenceKeys,
            directSend: DirectSend(planner: planner.checkingContent(ContentLimits.check(for: workspace.configuration.providers))), templates: workspace.templates, webhooks: webhooks ?? webhookSecrets,
            trackingLinks: workspace.configuration.tracking.map(TrackingLinks.init), metrics: metrics,
            onPlanned: { [signal] in signal.ring() }, allowsSender: workspace.configuration.apiSenderCheck
        ), accessLogger: accessLogger)
    }
}
