import ArgumentParser
import Foundation
import HeraldCore
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
                Bad rows are reported with their line number and reason and skipped; the others are imported, in \
                batches of one transaction each. Importing the same file twice changes nothing.
                """
        )

        @OptionGroup var options: WorkspaceOptions

        @Argument(help: "The file: .csv, or .jsonl/.ndjson (JSON Lines).")
        var file: String

        @Option(help: "Users per write transaction.")
        var batchSize: Int = 1000

        func run() async throws {
            let workspace = try options.loadWorkspace()
            let store = try options.openStore(for: workspace)
            let importer = UserImporter(store: store, schema: workspace.configuration.attributes, clock: SystemWallClock())
            let result = try await importer.importFile(file, batchSize: max(1, batchSize)) { diagnostic in
                printError(diagnostic.description)
            }
            if result.upserts.inserted + result.upserts.updated > 0 { try await store.analyze() }
            print(result.summaryLine(file: file))
            if result.rejected > 0, result.accepted == 0 { throw ExitCode(1) }
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

        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must be 0 or more, got \(count)") }
        }

        func run() async throws {
            let workspace = try options.loadWorkspace()
            var generator = UserGenerator(seed: seed, schema: workspace.configuration.attributes, now: Date())
            if let output {
                try Self.write(count: count, generator: &generator, to: output)
                if output != "-" { print("wrote \(count) users to \(output) (seed \(seed))") }
                return
            }
            let store = try options.openStore(for: workspace)
            var summary = UpsertSummary()
            var remaining = count
            while remaining > 0 {
                let batch = generator.next(count: min(remaining, 1000))
                summary = summary + (try await store.upsertUsers(batch, at: Date()))
                remaining -= batch.count
            }
            try await store.analyze()
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
