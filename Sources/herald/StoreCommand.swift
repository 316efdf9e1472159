import ArgumentParser
import Foundation
import HeraldCore
import HeraldPostgres
import HeraldStore

/// `herald store copy --to postgres://…`: moves a team from SQLite to PostgreSQL with its history.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Moves the store: copies the SQLite store into an empty PostgreSQL database.",
        subcommands: [Copy.self]
    )

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copies every table of the SQLite store (users, devices, preferences, keys, campaigns, occurrences, notifications, outbox, events, …) into an empty PostgreSQL database, in one transaction, and checks every table's count.",
            discussion: """
                The SQLite store is the workspace's (herald.yml's `store:`) or --database. The PostgreSQL database gets \
                Herald's tables first (its migrations), must hold no Herald data, and either receives everything or \
                nothing: a failure leaves it as it was. Stop the workers and the scheduler first, so that nothing \
                changes the SQLite store during the copy. The password comes from the URL or PGPASSWORD. Afterwards, \
                point herald.yml's `store:` at the PostgreSQL URL.
                """
        )

        @OptionGroup var options: WorkspaceOptions

        @Option(name: .customLong("to"), help: "The PostgreSQL database: postgres://user@host:5432/herald.")
        var url: String

        @Option(name: .customLong("postgres-schema"), help: "The PostgreSQL schema to copy into (created when missing). Default: the user's (public).")
        var schema: String?

        @Option(help: "Rows per statement.")
        var pageSize = 5_000

        func validate() throws {
            guard pageSize > 0 else { throw ValidationError("--page-size must be at least 1") }
        }

        func run() async throws {
            // Read-write, so that a store of an older herald is upgraded first: PostgreSQL has the newest tables.
            let source = try await options.openStoreForReading(access: .readWrite).sqlite(for: "herald store copy")
            let target = try await PostgresStore(
                url: url, password: ProcessInfo.processInfo.environment["PGPASSWORD"], attributes: AttributeSchema(), searchPath: schema, maximumConnections: 2
            )
            let copies: [TableCopy]
            do {
                let started = ContinuousClock.now
                let reporter = CopyProgress()
                copies = try await target.copy(from: source, pageSize: pageSize) { table, copied in reporter.report(table, copied) }
                reporter.finish()
                await target.close()
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let table = TextTable(
                    columns: [.init("table"), .init("SQLite rows", alignment: .right), .init("PostgreSQL rows", alignment: .right)],
                    rows: copies.map { [$0.table, grouped($0.sourceRows), grouped($0.targetRows)] }
                )
                print(table.render(width: nil))
                let total = copies.reduce(0) { $0 + $1.targetRows }
                print("copied \(grouped(total)) rows of \(copies.count) tables in \(String(format: "%.1f", seconds)) s; every count matches")
                print("next: set `store:` in herald.yml to the PostgreSQL URL (the password from ${ENV}), and start the workers there")
            } catch {
                await target.close()
                printError("nothing was copied: the PostgreSQL database is as it was")
                throw error
            }
        }
    }
}

/// One line on standard error per table, rewritten as its rows arrive.
private final class CopyProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var current: String?

    func report(_ table: String, _ copied: Int) {
        lock.lock()
        defer { lock.unlock() }
        if let current, current != table { FileHandle.standardError.write(Data("\n".utf8)) }
        current = table
        FileHandle.standardError.write(Data("\r\(table): \(grouped(copied)) rows".utf8))
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if current != nil { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
