import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "One notification's life: who, which channel and provider, its state, and every event of its trail in order.",
        discussion: """
            Give a notification id, or --user and --campaign for every notification of that campaign for that user \
            (each channel, device and send). Each event shows when it happened (ISO 8601, UTC), the time since the \
            previous one, its type, reason and detail (attempts, the provider and its message id). Addresses are \
            partly hidden unless --full-address. Reads the store only.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The notification id.")
    var notificationID: String?

    @Option(help: "With --campaign: every notification of the campaign for this user.")
    var user: String?

    @Option(help: "With --user: the campaign.")
    var campaign: String?

    @Flag(help: "Show addresses whole.")
    var fullAddress = false

    func validate() throws {
        switch (notificationID, user, campaign) {
        case (let id?, nil, nil):
            _ = try OperatorText.notificationID(id)
        case (nil, _?, _?):
            break
        case (_?, _, _):
            throw ValidationError("give a notification id, or --user and --campaign, not both")
        case (nil, nil, nil):
            throw ValidationError("name the notification: `herald trace ID`, or `herald trace --user ID --campaign ID`")
        case (nil, _, _):
            throw ValidationError("--user and --campaign go together: `herald trace --user ID --campaign ID`")
        }
    }

    func run() async throws {
        let store = try await options.openStoreForReading().tracing
        let traces: [NotificationTrace]
        if let notificationID {
            let id = try OperatorText.notificationID(notificationID)
            guard let trace = try await store.trace(notificationID: id) else {
                throw CLIError("no notification \(id) in the store")
            }
            traces = [trace]
        } else if let user, let campaign {
            traces = try await store.traces(userID: user, campaignID: campaign)
            guard !traces.isEmpty else {
                throw CLIError("no notification of campaign \(Quoted.visible(campaign)) for user \(Quoted.visible(user)) in the store")
            }
        } else {
            return
        }
        print(traces.map { Self.describe($0, fullAddress: fullAddress) }.joined(separator: "\n\n"))
    }

    static func describe(_ trace: NotificationTrace, fullAddress: Bool) -> String {
        var fields: [(String, String)] = [
            ("campaign", "\(trace.campaignID) (send of \(ISO8601.string(from: trace.fireAt)))"),
            ("user", trace.userID),
            ("channel", trace.channel.rawValue),
            ("provider", trace.provider ?? "-"),
            ("address", trace.address.map { fullAddress ? $0 : OperatorText.masked($0) } ?? "-"),
            ("state", trace.state.rawValue + (trace.reason.map { " (\($0))" } ?? "")),
            ("attempts", "\(trace.attempts)"),
            ("due", ISO8601.string(from: trace.dueAt)),
            ("expires", trace.expiresAt.map(ISO8601.string(from:)) ?? "never"),
        ]
        if let queued = trace.queuedDueAt {
            let lease = trace.leaseUntil.map { " (leased until \(ISO8601.string(from: $0)))" } ?? ""
            fields.append(("in outbox", "due \(ISO8601.string(from: queued))\(lease)"))
        }
        if let messageID = trace.providerMessageID { fields.append(("message id", messageID)) }
        let labelWidth = fields.map(\.0.count).max() ?? 0
        var lines = ["notification \(trace.notificationID)"]
        lines += fields.map { "  " + $0.0.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  " + $0.1 }
        lines.append("  events (\(trace.events.count)):")
        let typeWidth = trace.events.map(\.type.count).max() ?? 0
        var previous: Date?
        for event in trace.events {
            let since = previous.map { OperatorText.elapsed(event.at.timeIntervalSince($0)) } ?? ""
            previous = event.at
            let notes = [event.reason.map { "reason: \($0)" }, event.detail].compactMap { $0 }.joined(separator: "; ")
            let line = "    \(timestamp(event.at))  \(since.padding(toLength: 9, withPad: " ", startingAt: 0))  "
                + event.type.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  " + notes
            lines.append(String(line.reversed().drop(while: { $0 == " " }).reversed()))
        }
        return lines.joined(separator: "\n")
    }

    /// ISO 8601 in UTC with milliseconds always, so that the column lines up.
    static func timestamp(_ date: Date) -> String {
        let text = ISO8601.string(from: date)
        guard !text.contains(".") else { return text }
        return String(text.dropLast()) + ".000Z"
    }
}
