import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine
import HeraldStore

struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Deliver what is due in every channel's outbox: after `send --plan-only`, retries, or a crash.",
        discussion: """
            Rows leased to a dispatcher that stopped (a crash) become claimable when their lease ends (5 minutes); \
            with --take-over-leases they are claimed at once. Use it only when no other herald process is delivering: \
            a message that process is sending right now could then go out twice.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Flag(help: "End every lease now, because the process that held them is known to be dead.")
    var takeOverLeases = false

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let app = try await HeraldApp.open(workspace, options: options)
        if takeOverLeases {
            let released = try await app.store.releaseLeases(at: app.clock.now)
            if released > 0 { print("took over \(released) lease\(released == 1 ? "" : "s")") }
        }
        let delivery = try await app.deliver()
        let lines = HeraldApp.describe(delivery)
        print(lines.isEmpty ? "nothing was due" : "delivered:\n" + lines.joined(separator: "\n"))
        for channel in Channel.allCases {
            let lease = try await app.store.leases(channel: channel, at: app.clock.now)
            if lease.count > 0 {
                let until = lease.until.map { " until \(ISO8601.string(from: $0))" } ?? ""
                print("\(channel.rawValue): \(plural(lease.count, "notification")) being sent by another herald process (leased\(until)); if that process crashed, run again after the lease ends, or with --take-over-leases")
            }
            if let next = try await app.store.nextDue(channel: channel), next > app.clock.now {
                print("\(channel.rawValue): the next retry is due at \(ISO8601.string(from: next))")
            }
        }
    }
}
