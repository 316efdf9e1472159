#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "The outbox per channel and provider: queued, due, in flight, retrying, dead, the oldest due row's age, the send rate and each provider's breaker.",
        discussion: """
            Reads the store only (no workspace needed, never writes). queued: rows in the outbox; due: due and free to \
            claim; in_flight: leased to a dispatcher whose lease has not ended; retrying: tried at least once and waiting \
            for the next try; dead: notifications that gave up (see `herald dead-letter`); oldest_due: how long the \
            oldest due row has waited; sent/s: sends per second over the last minute; breaker: the provider's circuit \
            breaker as the workers last recorded it (closed when they never did), with why it is paused. \
            With --watch it redraws every --interval seconds until Ctrl-C.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var options: WorkspaceOptions

    @Flag(help: "Redraw every --interval seconds until Ctrl-C.")
    var watch = false

    @Option(help: "With --watch: seconds between redraws (default 2).")
    var interval: Double?

    @Option(help: "table or json.")
    var format: Format = .table

    func validate() throws {
        if let interval {
            guard watch else { throw ValidationError("--interval sets how often --watch redraws; add --watch") }
            guard interval.isFinite, interval >= 0.1, interval <= 86_400 else {
                throw ValidationError("--interval \(interval): give the seconds between redraws, from 0.1 to 86400")
            }
        }
    }

    func run() async throws {
        let opened = try await options.openStoreForReading()
        let store = opened.inspection
        let clock = SystemWallClock()
        // Clearing the screen is for a person watching a terminal; a pipe or a file gets one
        // block per tick, separated by a blank line.
        let clears = isatty(STDOUT_FILENO) == 1
        var first = true
        while true {
            let snapshot = try await store.queueSnapshot(at: clock.now)
            let workers = try await opened.workers.liveWorkers(since: snapshot.at.addingTimeInterval(-WorkerRoster.Configuration().liveness.timeInterval))
            let text = format == .json ? try Self.json(snapshot, workers: workers) : Self.table(snapshot, workers: workers, width: Terminal.width)
            if clears && watch {
                print("\u{1B}[H\u{1B}[2J", terminator: "")
            } else if !first {
                print("")
            }
            print(text)
            fflush(nil)  // every open stream: a pipe sees each tick at once
            first = false
            guard watch else { return }
            try await Task.sleep(for: .milliseconds(Int(((interval ?? 2) * 1000).rounded())))
        }
    }

    /// The snapshot as a table, with a line that says when nothing is queued, then the delivery
    /// workers alive.
    static func table(_ snapshot: QueueSnapshot, workers: [WorkerPresence], width: Int?) -> String {
        var lines = ["queue at \(ISO8601.string(from: snapshot.at))"]
        if !snapshot.rows.isEmpty {
            let columns = ["channel", "provider", "queued", "due", "in_flight", "retrying", "dead", "oldest_due", "sent/s", "breaker"].enumerated().map { index, title in
                TextTable.Column(title, alignment: (2...8).contains(index) ? .right : .left)
            }
            let rows = snapshot.rows.map { row in
                [
                    row.channel.rawValue, row.provider.isEmpty ? "-" : row.provider, grouped(row.queued), grouped(row.dueNow), grouped(row.inFlight),
                    grouped(row.retrying), grouped(row.dead), row.oldestDueAge(at: snapshot.at).map(OperatorText.age) ?? "-",
                    OperatorText.rate(row.sendRate), row.breaker.rawValue + (row.pausedReason.map { " (paused: \($0))" } ?? ""),
                ]
            }
            lines.append(TextTable(columns: columns, rows: rows, keyColumns: 2).render(width: width))
        }
        if snapshot.isOutboxEmpty {
            let dead = snapshot.rows.reduce(0) { $0 + $1.dead }
            lines.append("nothing queued" + (dead > 0 ? "; \(plural(dead, "dead notification")) (`herald dead-letter list`)" : ""))
        }
        lines.append(workers.isEmpty ? "no delivery workers alive" : "delivery workers alive: \(workers.count)")
        for worker in workers {
            let channels = worker.channels.sorted().map(\.rawValue).joined(separator: ", ")
            lines.append("  \(worker.host) pid \(worker.processID): \(channels) (up \(OperatorText.age(snapshot.at.timeIntervalSince(worker.startedAt))), seen \(OperatorText.age(snapshot.at.timeIntervalSince(worker.seenAt))) ago)")
        }
        return lines.joined(separator: "\n")
    }

    /// The snapshot as one JSON object with sorted keys, the same fields in every row (null when
    /// a figure has no value), for scripts.
    static func json(_ snapshot: QueueSnapshot, workers: [WorkerPresence]) throws -> String {
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        let rows: [[String: Any]] = snapshot.rows.map { row in
            [
                "channel": row.channel.rawValue, "provider": row.provider, "queued": row.queued, "due_now": row.dueNow,
                "in_flight": row.inFlight, "retrying": row.retrying, "dead": row.dead,
                "oldest_due_age_seconds": row.oldestDueAge(at: snapshot.at).map { rounded($0) as Any } ?? NSNull(),
                "sent_last_minute": row.sentLastMinute, "send_rate_per_second": rounded(row.sendRate),
                "breaker": row.breaker.rawValue, "paused_reason": row.pausedReason.map { $0 as Any } ?? NSNull(),
            ]
        }
        func total(_ figure: (QueueRow) -> Int) -> Int { snapshot.rows.reduce(0) { $0 + figure($1) } }
        let object: [String: Any] = [
            "at": ISO8601.string(from: snapshot.at),
            "rows": rows,
            "workers": workers.map { worker in
                [
                    "id": worker.id, "host": worker.host, "process_id": worker.processID, "channels": worker.channels.sorted().map(\.rawValue),
                    "started_at": ISO8601.string(from: worker.startedAt), "seen_at": ISO8601.string(from: worker.seenAt),
                ] as [String: Any]
            },
            "totals": [
                "queued": total(\.queued), "due_now": total(\.dueNow), "in_flight": total(\.inFlight),
                "retrying": total(\.retrying), "dead": total(\.dead), "sent_last_minute": total(\.sentLastMinute),
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
