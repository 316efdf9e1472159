import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine
import HeraldImport
import HeraldSandbox
import HeraldServer
import HeraldStore
import Logging
import ServiceLifecycle

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Herald end to end with no configuration and no credentials.",
        discussion: """
            Uses the workspace in the current directory or, in an empty directory, writes the sample one first. \
            Creates a fresh database (herald-demo.db), generates users, validates the workspace, sends the sample \
            campaigns now through the real push, SMS and email transports to the provider sandbox (started in-process on a \
            free loopback port, recording what it accepted in herald-demo-messages.jsonl), lets the sandbox post the \
            providers' signed webhooks (delivered, bounced, opened, clicked) to Herald's HTTP API (also in-process, on a free \
            port), and prints the report.
            """
    )

    @Option(help: "The workspace directory.")
    var workspace: String = "."

    /// The demo's own database, so that it never replaces the store herald.yml names.
    static let defaultDatabase = "herald-demo.db"

    @Option(help: "The demo database; replaced on every run.")
    var database: String = DemoCommand.defaultDatabase

    @Option(help: "How many synthetic users.")
    var users: Int = 5000

    @Option(help: "The seed for the synthetic users.")
    var seed: UInt64 = 42

    /// How to run this binary again from the current directory: its path, made relative when it
    /// lies below (as after `make demo`), or just `herald` when it was found on the PATH.
    static var invocation: String {
        let path = CommandLine.arguments.first ?? "herald"
        guard path.contains("/") else { return path }
        let current = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(current) ? String(path.dropFirst(current.count)) : path
    }

    func validate() throws {
        guard users > 0 else { throw ValidationError("--users must be at least 1") }
    }

    func run() async throws {
        let root = URL(fileURLWithPath: workspace)
        let fileManager = FileManager.default
        if !fileManager.fileExists(atPath: root.appendingPathComponent("herald.yml").path) {
            let visible = ((try? fileManager.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }
            guard visible.isEmpty else {
                throw CLIError("\(root.path) has no herald.yml and is not empty; run `herald demo` in an empty directory or a Herald workspace")
            }
            _ = try SampleWorkspaceWriter.write(into: workspace, overwrite: false)
            print("1. wrote the sample workspace into \(root.path)")
        } else {
            print("1. using the workspace in \(root.path)")
        }

        let diagnostics = await Validation.check(directory: workspace)
        for diagnostic in diagnostics { print("   \(diagnostic)") }
        guard diagnostics.allSatisfy({ $0.severity != .error }) else {
            throw CLIError("the workspace has errors; fix them and run `herald validate`")
        }
        let options = try WorkspaceOptions.parse(["--workspace", workspace, "--database", database])
        let loaded = try options.loadWorkspace()
        print("2. validated: \(plural(loaded.campaigns.count, "campaign")), \(plural(loaded.templates.count, "template")), \(plural(loaded.segments.count, "segment"))")

        let databasePath = try options.databasePath(for: loaded)
        for suffix in ["", "-wal", "-shm"] {
            try? fileManager.removeItem(atPath: databasePath + suffix)
        }
        let recordFile = URL(fileURLWithPath: databasePath).deletingPathExtension().path + "-messages.jsonl"
        // The API that receives the sandbox's webhooks listens on a port chosen now, because the
        // sandbox needs the webhook URLs when it starts and Herald (its Twilio status callbacks,
        // its unsubscribe links) needs them too.
        let apiPort = try FreePort.loopback()
        let apiBase = "http://127.0.0.1:\(apiPort)"
        var pointed = loaded
        pointed.configuration.tracking = TrackingConfiguration(
            baseURL: apiBase, secret: loaded.configuration.tracking?.secret ?? "herald-demo-tracking-secret", opens: true, clicks: true
        )
        let playback = PlaybackConfiguration(
            webhookURLs: [.sendgrid: "\(apiBase)/webhooks/sendgrid", .mandrill: "\(apiBase)/webhooks/mandrill", .twilio: "\(apiBase)/webhooks/twilio"],
            delay: .milliseconds(20), openRate: 0.3, clickRate: 0.3, followsLinks: false
        )
        let demoWorkspace = pointed
        try await Sandbox.withRunning(Sandbox.Configuration(port: 0, recordFile: recordFile, playback: playback)) { sandbox in
            try await run(demoWorkspace, databasePath: databasePath, sandbox: sandbox, recordFile: recordFile, api: (apiPort, playback))
        }
    }

    func run(
        _ loaded: Workspace, databasePath: String, sandbox: RunningSandbox, recordFile: String, api: (port: Int, playback: PlaybackConfiguration)
    ) async throws {
        let app = try HeraldApp(workspace: loaded, databasePath: databasePath, sandbox: sandbox)
        let apiBase = "http://127.0.0.1:\(api.port)"
        let secrets = WebhookSecrets(
            twilio: [.init(authToken: sandbox.accounts.twilioAuthToken, url: "\(apiBase)/webhooks/twilio")],
            sendGrid: [api.playback.sendGridPublicKey],
            mandrill: [.init(key: api.playback.mandrillWebhookKey, url: "\(apiBase)/webhooks/mandrill")]
        )
        var apiLogger = Logger(label: "herald.api")
        apiLogger.logLevel = .critical
        let server = app.apiServer(webhooks: secrets).application(host: "127.0.0.1", port: api.port, logger: apiLogger)
        var services = ServiceGroupConfiguration(services: [server], logger: apiLogger)
        services.maximumGracefulShutdownDuration = .seconds(5)
        let group = ServiceGroup(configuration: services)
        let serving = Task { try await group.run() }
        defer { serving.cancel() }
        try await demo(app, loaded, databasePath: databasePath, sandbox: sandbox, recordFile: recordFile, apiBase: apiBase)
        await group.triggerGracefulShutdown()
        _ = await serving.result
    }

    func demo(_ app: HeraldApp, _ loaded: Workspace, databasePath: String, sandbox: RunningSandbox, recordFile: String, apiBase: String) async throws {
        var generator = UserGenerator(seed: seed, schema: loaded.configuration.attributes, now: UsersCommand.Generate.startOfToday())
        generator.webSubscription = UsersCommand.Generate.sandboxSubscriptions(at: sandbox.baseURL(for: .webpush))
        var remaining = users
        while remaining > 0 {
            let batch = generator.next(count: min(remaining, 1000))
            _ = try await app.store.upsertUsers(batch, at: app.clock.now)
            remaining -= batch.count
        }
        try await app.opened.sqlite(for: "herald demo").analyze()
        print("3. created \(databasePath) with \(users) synthetic users (seed \(seed)); the provider sandbox listens on \(sandbox.host):\(sandbox.port)")

        print("4. sending every campaign now (frequency caps, quiet hours, throttle and expiry applied; notifications due later wait in the outbox):")
        for campaign in loaded.campaigns {
            // A triggered campaign goes to a few users, as if their events had arrived.
            var recipients: [String]?
            if case .trigger = campaign.schedule {
                recipients = try await app.store.users(matching: .everyone, after: nil, limit: 25).map(\.id)
            }
            let result = try await app.send(campaign, HeraldApp.SendRequest(recipients: recipients))
            print(result.description.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        }
        // A send the sandbox answered too slowly (a loaded machine) is retried after a backoff of
        // a few seconds, one a provider's breaker postponed waits out its cool-down: deliver
        // those too, for up to a minute, so that what is left waiting is what quiet hours hold back.
        var retried = Dispatcher.Summary()
        let store = try app.opened.sqlite(for: "herald demo")
        for _ in 0..<60 {
            let retrying = try await app.opened.inspection.queueSnapshot(at: app.clock.now).rows.reduce(0) { $0 + $1.retrying }
            if retrying == 0, try await store.waitingSincePlanning() == 0 { break }
            try await Task.sleep(for: .seconds(1))
            retried = try await app.deliver().values.reduce(retried, +)
        }
        if retried != Dispatcher.Summary() {
            print("   retried sends the sandbox answered too slowly: \(grouped(retried.sent)) sent" + (retried.retried > 0 ? ", \(grouped(retried.retried)) to retry again" : ""))
        }

        // The providers' webhooks come back a moment after each send: wait until they stop.
        var posted = -1
        for _ in 0..<150 {
            try await Task.sleep(for: .milliseconds(200))
            let now = sandbox.inbox.deliveries.count
            if now == posted { break }
            posted = now
        }
        let deliveries = sandbox.inbox.deliveries
        let refused = deliveries.filter { ($0.status ?? 0) != 200 }.count
        print("5. the sandbox posted \(plural(deliveries.count, "signed webhook")) (delivered, bounced, opened, clicked) to the HTTP API on \(apiBase)"
            + (refused > 0 ? "; \(grouped(refused)) were not accepted" : "; each was verified and applied once"))

        print("6. report:")
        let rows = try await app.store.report(campaignID: nil)
        print(ReportFormatter.format(rows, as: .table, width: Terminal.width.map { $0 - 3 }).split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n"))

        let accepted = sandbox.log.messages
        let byProvider = Dictionary(grouping: accepted, by: \.provider).map { "\($0.value.count) by \($0.key.rawValue)" }.sorted()
        print("   the sandbox accepted \(plural(accepted.count, "message")) over real sockets: \(byProvider.joined(separator: ", ")) (recorded in \(recordFile))")
        let samples = try await app.store.firstSends()
        print("7. the first message of each campaign and channel (and in Korean), as the sandbox accepted it:")
        let byID = Dictionary(accepted.map { ("\($0.providerMessageID) \($0.to)", $0) }, uniquingKeysWith: { first, _ in first })
        for sample in samples {
            guard let message = byID["\(sample.providerMessageID) \(sample.address)"] else { continue }
            let text = message.subject.map { "subject: \($0)" } ?? message.text ?? ""
            let locale = sample.locale.isEmpty ? nil : sample.locale
            let variant = sample.content?.variant.map { $0.label(for: locale, baseLocale: loaded.templates[loaded.campaign(id: sample.campaignID)?.template ?? ""]?.baseLocale) }
            print("   \(sample.campaignID) \(sample.channel.rawValue) via \(message.provider.rawValue) (\([locale ?? "no locale", variant].compactMap { $0 }.joined(separator: ", "))): \(text)")
        }
        print("\nNext: `\(Self.invocation) report --database \(databasePath)`, `\(Self.invocation) --help`, or open the database with sqlite3.")
    }
}

/// `1 campaign`, `2,006 recipients`.
func plural(_ count: Int, _ noun: String) -> String {
    "\(grouped(count)) \(noun)\(count == 1 ? "" : "s")"
}

/// `2,006`: a count as people read it, the same on every machine.
func grouped(_ count: Int) -> String {
    ReportFormatter.grouped(count)
}

/// A loopback TCP port that was free a moment ago.
enum FreePort {
    static func loopback() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw CLIError("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw CLIError("cannot bind a socket on 127.0.0.1 to find a free port") }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw CLIError("cannot read the port of a socket") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
