#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

/// `herald bench plan`: planning a campaign for a large audience into the outbox, against the raw
/// insert rate of the same rows.
struct PlanBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Planning throughput: `send --plan-only` of a sample campaign for N generated users, against the raw insert ceiling.",
        discussion: """
            For each --users size: writes the sample workspace and N generated users (seed 1, reused from \
            herald-bench-users-N.db in the current directory when present), then runs `herald send CAMPAIGN --now \
            --plan-only` as a child process and reports its wall and CPU time, peak memory, the rows and bytes it \
            wrote, and the rate. The ceiling copies the same rows into an empty database of the same schema, 1,000 \
            rows per transaction per table, and the ratio is ceiling time / planning time (1.0: planning costs no \
            more than writing its rows). Build with -c release.
            """
    )

    @Option(name: .customLong("users"), help: "Audience sizes (repeatable). Default: 100000 and 1000000.")
    var sizes: [Int] = []

    @Option(help: "The sample campaign to plan.")
    var campaign = "winter-sale"

    @Option(help: "Where to keep the generated users between runs.")
    var cache = "."

    func run() async throws {
        let resolved = BenchCommand.heraldExecutable
        for size in sizes.isEmpty ? [100_000, 1_000_000] : sizes {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-plan-\(getpid())-\(size)").path
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            _ = try Self.spawn(resolved, ["init", work])
            let users = URL(fileURLWithPath: cache).appendingPathComponent("herald-bench-users-\(size).db").standardizedFileURL.path
            if !FileManager.default.fileExists(atPath: users) {
                print("generating \(size) users into \(users) (once)…")
                let generated = try Self.spawn(resolved, ["users", "generate", "--count", "\(size)", "--seed", "1", "--now", "2026-11-30T00:00:00Z", "--database", users, "-w", work])
                print(String(format: "  %.1f s", generated.wall))
            }
            let database = work + "/plan.db"
            try FileManager.default.copyItem(atPath: users, toPath: database)
            let plan = try Self.spawn(resolved, ["send", campaign, "--now", "--plan-only", "--database", database, "-w", work])
            let store = try SQLiteStore(path: database, schema: AttributeSchema())
            let rows = try await store.plannedRows()
            let decisions = rows.notifications
            let sends = rows.outbox
            // The ceiling: the same rows into an empty database with the same schema.
            let empty = work + "/ceiling.db"
            _ = try SQLiteStore(path: empty, schema: AttributeSchema())
            let ceiling = Self.seconds(try SQLiteStore.copyPlannedRows(from: database, to: empty))
            print("\(campaign), \(size) users:")
            print(String(format: "  planning: %.2f s wall, %.2f s CPU, peak %.0f MB", plan.wall, plan.cpu, plan.peakMB))
            print("  wrote \(grouped(decisions)) decisions (\(grouped(sends)) to send), \(grouped(rows.events)) events, \(grouped(rows.capSlots)) cap slots")
            print(String(format: "  %.0f decisions/s, %.0f sends/s; %.0f bytes per notification (a decision: its row, event, outbox row, cap slot, indexes) on disk", Double(decisions) / plan.wall, Double(sends) / plan.wall,
                         Double(rows.bytes) / Double(max(decisions, 1))))
            print(String(format: "  raw insert of the same %@ rows: %.2f s (%.0f decisions/s); ratio %.2f", grouped(rows.rows), ceiling,
                         Double(decisions) / ceiling, ceiling / plan.wall))
        }
    }

    struct Usage {
        var wall: Double
        var cpu: Double
        var peakMB: Double
    }

    /// Runs the herald binary with `arguments`, output discarded, and measures it.
    static func spawn(_ executable: String, _ arguments: [String]) throws -> Usage {
        let start = Date()
        let pid = try DeliverBench.start(executable, arguments)
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        guard status == 0 else { throw CLIError("herald \(arguments.joined(separator: " ")) failed (status \(status))") }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return Usage(wall: Date().timeIntervalSince(start), cpu: cpu, peakMB: Double(usage.ru_maxrss) / 1024)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
