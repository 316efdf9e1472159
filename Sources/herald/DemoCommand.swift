import ArgumentParser
import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Herald end to end with no configuration and no credentials.",
        discussion: """
            Uses the workspace in the current directory or, in an empty directory, writes the sample one first. \
            Creates a fresh database (herald-demo.db), generates users, validates the workspace, sends the sample \
            campaigns now through the real SMS and email transports to the provider sandbox (started in-process on a free \
            loopback port, recording what it accepted in herald-demo-messages.jsonl) and prints the report.
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

        let diagnostics = Validation.check(directory: workspace)
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
        try await Sandbox.withRunning(Sandbox.Configuration(port: 0, recordFile: recordFile)) { sandbox in
            try await run(loaded, databasePath: databasePath, sandbox: sandbox, recordFile: recordFile)
        }
    }

    func run(_ loaded: Workspace, databasePath: String, sandbox: RunningSandbox, recordFile: String) async throws {
        let app = try HeraldApp(workspace: loaded, databasePath: databasePath, sandbox: sandbox)
        var generator = UserGenerator(seed: seed, schema: loaded.configuration.attributes, now: UsersCommand.Generate.startOfToday())
        generator.webSubscription = UsersCommand.Generate.sandboxSubscriptions(at: sandbox.baseURL(for: .webpush))
        var remaining = users
        while remaining > 0 {
            let batch = generator.next(count: min(remaining, 1000))
            _ = try await app.store.upsertUsers(batch, at: app.clock.now)
            remaining -= batch.count
        }
        try await app.store.analyze()
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

        print("5. report:")
        let rows = try await app.store.report(campaignID: nil)
        print(ReportFormatter.format(rows, as: .table, width: Terminal.width.map { $0 - 3 }).split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n"))

        let accepted = sandbox.log.messages
        let byProvider = Dictionary(grouping: accepted, by: \.provider).map { "\($0.value.count) by \($0.key.rawValue)" }.sorted()
        print("   the sandbox accepted \(plural(accepted.count, "message")) over real sockets: \(byProvider.joined(separator: ", ")) (recorded in \(recordFile))")
        let samples = try await app.store.rows(sql: """
            SELECT n.channel, n.campaign_id, COALESCE(u.locale, ''), n.provider_message_id, n.address, n.content FROM notifications n
            JOIN users u ON u.id = n.user_id
            WHERE n.id IN (SELECT MIN(n2.id) FROM notifications n2 JOIN users u2 ON u2.id = n2.user_id WHERE n2.state = 'sent'
                           GROUP BY n2.campaign_id, n2.channel, COALESCE(u2.locale, '') LIKE 'ko%')
            ORDER BY n.campaign_id, n.channel, u.locale
            """)
        print("6. the first message of each campaign and channel (and in Korean), as the sandbox accepted it:")
        let byID = Dictionary(accepted.map { ("\($0.providerMessageID) \($0.to)", $0) }, uniquingKeysWith: { first, _ in first })
        for sample in samples {
            guard let message = byID["\(sample[3]) \(sample[4])"] else { continue }
            let text = message.subject.map { "subject: \($0)" } ?? message.text ?? ""
            let locale = sample[2].isEmpty ? nil : sample[2]
            let content = NotificationContent(jsonText: sample[5])
            let variant = content?.variant.map { $0.label(for: locale, baseLocale: loaded.templates[loaded.campaign(id: sample[1])?.template ?? ""]?.baseLocale) }
            print("   \(sample[1]) \(sample[0]) via \(message.provider.rawValue) (\([locale ?? "no locale", variant].compactMap { $0 }.joined(separator: ", "))): \(text)")
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
