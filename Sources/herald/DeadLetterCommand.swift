import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letter",
        abstract: "List the notifications that gave up after their last retry, send them again, or close them.",
        discussion: """
            A dead notification ran out of attempts (retry.max_attempts in herald.yml). `retry` puts it back in its \
            channel's outbox, due now and with a fresh set of attempts (the attempt counter starts again; the earlier \
            attempts stay in its trail); `herald deliver` or a running worker sends it. `discard` closes it as failed \
            with reason `discarded`. Neither deletes anything: each change is an event in the notification's trail \
            (`herald trace ID`). Each command changes its notifications in one transaction, and only those still dead \
            at that moment.
            """,
        subcommands: [List.self, Retry.self, Discard.self]
    )

    /// The filters shared by `list` and `--all`.
    struct Filter: ParsableArguments {
        @Option(help: "Only this campaign.")
        var campaign: String?

        @Option(help: "Only this channel (push, sms, email).")
        var channel: String?

        var isEmpty: Bool { campaign == nil && channel == nil }

        func validate() throws {
            if let channel, Channel(rawValue: channel) == nil {
                throw ValidationError("unknown channel \(Quoted.visible(channel)) (\(Suggestion.hint(for: channel, in: Channel.allCases.map(\.rawValue))))")
            }
        }

        var value: DeadLetterFilter {
            DeadLetterFilter(campaignID: campaign, channel: channel.flatMap(Channel.init(rawValue:)))
        }

        /// Refuses a campaign the store never planned, with the nearest one.
        func check(in store: any InsightStore) async throws {
            guard let campaign else { return }
            let known = try await store.campaignIDs()
            guard known.contains(campaign) else {
                throw CLIError("no campaign \(Quoted.visible(campaign)) in the store (\(known.isEmpty ? "nothing was sent yet" : Suggestion.hint(for: campaign, in: known)))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The dead notifications, oldest id first: who, where, how many attempts and why. Reads the store only.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case table, json
        }

        @OptionGroup var options: WorkspaceOptions
        @OptionGroup var filter: Filter

        @Option(help: "At most this many (default 50).")
        var limit = 50

        @Option(help: "table or json.")
        var format: Format = .table

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit \(limit): give how many to list, 1 or more") }
        }

        func run() async throws {
            let opened = try await options.openStoreForReading()
            try await filter.check(in: opened.insights)
            let page = try await opened.inspection.deadLetters(matching: filter.value, limit: limit)
            switch format {
            case .json:
                let letters: [[String: Any]] = page.letters.map { letter in
                    [
                        "id": letter.notificationID, "campaign": letter.campaignID, "user": letter.userID, "channel": letter.channel.rawValue,
                        "provider": letter.provider.map { $0 as Any } ?? NSNull(), "attempts": letter.attempts,
                        "reason": letter.reason.map { $0 as Any } ?? NSNull(), "dead_at": ISO8601.string(from: letter.deadAt),
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: ["total": page.total, "notifications": letters], options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            case .table:
                guard page.total > 0 else {
                    print(filter.isEmpty ? "no dead notifications" : "no dead notifications match")
                    return
                }
                let columns = ["id", "campaign", "user", "channel", "provider", "attempts", "dead_at", "reason"].map {
                    TextTable.Column($0, alignment: $0 == "id" || $0 == "attempts" ? .right : .left)
                }
                let rows = page.letters.map { letter in
                    [
                        "\(letter.notificationID)", letter.campaignID, letter.userID, letter.channel.rawValue, letter.provider ?? "-",
                        "\(letter.attempts)", ISO8601.string(from: letter.deadAt), letter.reason ?? "",
                    ]
                }
                print(TextTable(columns: columns, rows: rows, keyColumns: 1).render(width: Terminal.width))
                print("")
                print(page.total > page.letters.count
                    ? "\(grouped(page.letters.count)) of \(plural(page.total, "dead notification")); --limit \(page.total) lists them all"
                    : plural(page.total, "dead notification"))
            }
        }
    }

    /// `retry` and `discard`: which notifications, and the same checks.
    struct Selection: ParsableArguments {
        @Argument(help: "The notification ids.")
        var ids: [String] = []

        @Flag(help: "Every dead notification (narrowed by --campaign and --channel).")
        var all = false

        @OptionGroup var filter: Filter

        func validate() throws {
            if all, !ids.isEmpty {
                throw ValidationError("give notification ids or --all, not both")
            }
            if !all, ids.isEmpty {
                throw ValidationError("name the dead notifications: give their ids (`herald dead-letter list` shows them), or --all")
            }
            if !all, !filter.isEmpty {
                throw ValidationError("--campaign and --channel narrow --all; add --all, or give ids alone")
            }
            for id in ids { _ = try OperatorText.notificationID(id) }
        }

        var value: DeadLetterSelection {
            all ? .all(filter.value) : .ids(ids.compactMap { Int64($0) })
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead notifications back in the outbox, due now, with a fresh set of attempts.",
            discussion: "The attempt counter starts again from zero, so each gets retry.max_attempts tries; the earlier attempts stay in its trail."
        )

        @OptionGroup var options: WorkspaceOptions
        @OptionGroup var selection: Selection

        func run() async throws {
            let opened = try await options.openStoreForReading(access: .readWrite)
            try await selection.filter.check(in: opened.insights)
            let store = opened.inspection
            let change = try await DeadLetterCommand.apply { try await store.requeueDeadLetters(selection.value, at: SystemWallClock().now) }
            DeadLetterCommand.report(change, selection: selection, verb: "requeued", note: "`herald deliver` or a running worker sends them")
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close dead notifications as failed, with reason `discarded`; nothing is deleted.")

        @OptionGroup var options: WorkspaceOptions
        @OptionGroup var selection: Selection

        func run() async throws {
            let opened = try await options.openStoreForReading(access: .readWrite)
            try await selection.filter.check(in: opened.insights)
            let store = opened.inspection
            let change = try await DeadLetterCommand.apply { try await store.discardDeadLetters(selection.value, at: SystemWallClock().now) }
            DeadLetterCommand.report(change, selection: selection, verb: "discarded", note: "they are failed with reason `discarded`; their trail is kept")
        }
    }

    /// Runs a change, and turns ids the store does not hold into an error for the user.
    static func apply(_ body: () async throws -> DeadLetterChange) async throws -> DeadLetterChange {
        do {
            return try await body()
        } catch let error as OutboxInspectionError {
            throw CLIError("\(error.description); nothing was changed")
        }
    }

    static func report(_ change: DeadLetterChange, selection: Selection, verb: String, note: String) {
        for unchanged in change.notDead {
            print("notification \(unchanged.notificationID) is \(unchanged.state.rawValue), not dead; left as it is")
        }
        if change.changed.isEmpty {
            print(selection.all
                ? (selection.filter.isEmpty ? "no dead notifications; nothing \(verb)" : "no dead notifications match; nothing \(verb)")
                : "nothing \(verb)")
        } else {
            print("\(verb) \(plural(change.changed.count, "dead notification")); \(note)")
        }
    }
}
