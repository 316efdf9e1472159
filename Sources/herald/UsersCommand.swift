import ArgumentParser
import Foundation
import HeraldCore
import HeraldImport
import HeraldSandbox
import HeraldEngine
import HeraldStore

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Import or generate users, with their devices and preferences.",
        subcommands: [Import.self, Generate.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upsert users from a CSV (with a header row) or JSON Lines file.",
            discussion: """
                Bad rows are reported with their line number and every problem they have, and skipped; the others are \
                imported, in batches of one transaction each. An id used by an earlier row of the file is an error (the \
                first row is kept), and so is a preference key no send would check (a typo such as "emial"). Importing \
                the same file twice changes nothing.

                Exit status: 0 when every row was imported; 2 when some rows were rejected (the others were imported); \
                1 when the file as a whole was refused and nothing was imported.
                """
        )

        /// From this file size, in bytes, an import defers the attribute indexes to the end.
        static let bulkFileSize = 8 << 20

        /// The exit status when some rows were rejected and the others imported.
        static let rejectedRowsExitCode: Int32 = 2

        @OptionGroup var options: WorkspaceOptions

        @Argument(help: "The file: .csv, or .jsonl/.ndjson (JSON Lines).")
        var file: String

        @Option(help: "Users per write transaction (1 to 100000).")
        var batchSize: Int = 1000

        func validate() throws {
            guard (1...100_000).contains(batchSize) else {
                throw ValidationError("--batch-size must be between 1 and 100000, got \(batchSize)")
            }
        }

        func run() async throws {
            let workspace = try options.loadWorkspace()
            let opened = try await options.openAnyStore(for: workspace)
            let store = opened.store
            let importer = UserImporter(
                store: store, schema: workspace.configuration.attributes, preferenceKeys: workspace.preferenceKeys, clock: SystemWallClock()
            )
            let run = {
                try await importer.importFile(file, batchSize: batchSize) { diagnostics in
                    for diagnostic in diagnostics { printError(diagnostic.description) }
                }
            }
            // A large file (about 50,000 users and more) builds the attribute indexes once at the
            // end, so that its cost grows with the number of users, not faster.
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let result = size >= Self.bulkFileSize ? try await opened.withAttributeIndexesDeferred(run) : try await run()
            if result.upserts.inserted + result.upserts.updated > 0 { try await opened.analyze() }
            print(result.summaryLine(file: file))
            if result.rejected > 0 { throw ExitCode(Self.rejectedRowsExitCode) }
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create deterministic synthetic users: the same seed gives the same users on every machine.",
            discussion: "Writes them to the database, or with --output to a JSON Lines file that `herald users import` reads."
        )

        @OptionGroup var options: WorkspaceOptions

        @Option(help: "How many users.")
        var count: Int

        @Option(help: "The seed: the same seed gives the same users.")
        var seed: UInt64 = 1

        @Option(help: "Write JSON Lines to this file instead of the database ('-' for standard output).")
        var output: String?

        @Option(help: "The instant generated times (created_at, last_seen_at) lie before, in ISO 8601. Default: the start of today (UTC), so that a seed gives the same users all day on every machine.")
        var now: String?

        @Option(help: "The Web Push base URL that browsers' subscriptions point at: `herald sandbox`'s, whose keys it can derive to decrypt what it receives.")
        var webpushEndpoint = "http://127.0.0.1:4010/webpush"

        /// Subscriptions at the sandbox's Web Push endpoint, with keys it derives from their id.
        static func sandboxSubscriptions(at base: String) -> @Sendable (String) -> WebPushSubscription {
            { path in
                let id = String(path.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
                return SandboxWebPush.subscription(endpointBase: base, id: id)
            }
        }

        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must be 0 or more, got \(count)") }
            if let now, ISO8601.date(from: now) == nil {
                throw ValidationError("--now '\(now)' is not an ISO 8601 instant, e.g. 2026-12-01T00:00:00Z")
            }
        }

        /// From this many users, generation defers the attribute indexes to the end.
        static let bulkThreshold = 50_000

        /// The start of the current UTC day: generated users are the same all day long.
        static func startOfToday() -> Date {
            let seconds = Date().timeIntervalSince1970
            return Date(timeIntervalSince1970: seconds - seconds.truncatingRemainder(dividingBy: 86_400))
        }

        func run() async throws {
            let workspace = try options.loadWorkspace()
            let reference = now.flatMap(ISO8601.date(from:)) ?? Self.startOfToday()
            var generator = UserGenerator(seed: seed, schema: workspace.configuration.attributes, now: reference)
            generator.webSubscription = Self.sandboxSubscriptions(at: webpushEndpoint)
            if let output {
                try Self.write(count: count, generator: &generator, to: output)
                if output != "-" { print("wrote \(count) users to \(output) (seed \(seed))") }
                return
            }
            let opened = try await options.openAnyStore(for: workspace)
            let store = opened.store
            var summary = UpsertSummary()
            var remaining = count
            // A large load writes in bigger transactions and builds the attribute indexes once
            // at the end, so that its cost grows with the number of users, not faster.
            let isBulk = count >= Self.bulkThreshold
            let batchSize = isBulk ? 10_000 : 1000
            let load = {
                while remaining > 0 {
                    let batch = generator.next(count: min(remaining, batchSize))
                    summary = summary + (try await store.upsertUsers(batch, at: Date()))
                    remaining -= batch.count
                }
            }
            if isBulk {
                try await opened.withAttributeIndexesDeferred(load)
            } else {
                try await load()
            }
            try await opened.analyze()
            print("generated \(count) users (seed \(seed)): \(summary.inserted) inserted, \(summary.updated) updated, \(summary.unchanged) unchanged")
        }

        static func write(count: Int, generator: inout UserGenerator, to path: String) throws {
            let handle: FileHandle
            if path == "-" {
                handle = FileHandle.standardOutput
            } else {
                guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
                    throw CLIError("cannot write '\(path)'")
                }
                handle = file
            }
            defer { if path != "-" { try? handle.close() } }
            var remaining = count
            while remaining > 0 {
                let batch = generator.next(count: min(remaining, 1000))
                let text = batch.map { UserJSONLinesWriter.line(for: $0) + "\n" }.joined()
                try handle.write(contentsOf: Data(text.utf8))
                remaining -= batch.count
            }
        }
    }
}
