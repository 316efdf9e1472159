import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per campaign, send and channel: recipients, targeted, skipped by reason, sent, failed, and rates, from the store.",
        discussion: """
            Reads the store only (it needs no workspace and never writes). A row per send of each campaign, and a \
            total row for a campaign sent more than once. With --recipients it lists each notification instead: who, \
            on which channel and address, in which state and why, filtered by --state, --reason and --channel.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Option(help: "Only this campaign.")
    var campaign: String?

    @Option(help: "table, json or csv.")
    var format: ReportFormatter.Format = .table

    @Flag(help: "List each recipient's notifications instead of the counts.")
    var recipients = false

    @Option(help: "send (default: a row per send, and totals), provider, or day (UTC, when due).")
    var by: ReportGrouping = .send

    @Flag(help: "List each campaign's most clicked links (tracked links and provider click events) instead of the counts.")
    var links = false

    @Option(help: "With --recipients: only notifications in this state (planned, sending, sent, delivered, failed, dead, skipped).")
    var state: String?

    @Option(help: "With --recipients: only notifications skipped for this reason (no_address, opted_out, …).")
    var reason: String?

    @Option(help: "With --recipients: only this channel (push, sms, email).")
    var channel: String?

    func validate() throws {
        if recipients && links {
            throw ValidationError("--recipients and --links are two different lists; choose one")
        }
        if !recipients, state != nil || reason != nil || channel != nil {
            throw ValidationError("--state, --reason and --channel filter the list of --recipients; add --recipients")
        }
        if let state, NotificationState(rawValue: state) == nil {
            throw ValidationError("unknown state '\(state)' (\(Suggestion.hint(for: state, in: NotificationState.allCases.map(\.rawValue))))")
        }
        if let reason, SkipReason(rawValue: reason) == nil {
            throw ValidationError("unknown reason '\(reason)' (\(Suggestion.hint(for: reason, in: SkipReason.allCases.map(\.rawValue))))")
        }
        if let channel, Channel(rawValue: channel) == nil {
            throw ValidationError("unknown channel '\(channel)' (\(Suggestion.hint(for: channel, in: Channel.allCases.map(\.rawValue))))")
        }
    }

    func run() async throws {
        // The report reads the store only: it needs no valid campaign, and it never creates or
        // writes the database.
        let store = try options.openStoreForReading()
        if let campaign {
            let known = try await store.campaignIDs()
            guard known.contains(campaign) else {
                throw CLIError("no campaign \(Quoted.visible(campaign)) in the store (\(known.isEmpty ? "nothing was sent yet" : Suggestion.hint(for: campaign, in: known)))")
            }
        }
        if recipients {
            try await listRecipients(store)
            return
        }
        if links {
            try await listLinks(store)
            return
        }
        let rows = try await store.report(campaignID: campaign, by: by)
        print(ReportFormatter.format(rows, as: format, width: Terminal.width, by: by))
    }

    /// Streams the notifications page by page, so that a campaign of millions lists in bounded memory.
    /// The ten most clicked links of each campaign.
    func listLinks(_ store: SQLiteStore) async throws {
        let rows = try await store.topLinks(campaignID: campaign, limit: 10)
        switch format {
        case .json:
            let objects: [[String: Any]] = rows.map { ["campaign": $0.campaignID, "url": $0.url, "clicks": $0.clicks, "people": $0.notifications] }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        case .csv:
            print("campaign,url,clicks,people")
            for row in rows {
                print([row.campaignID, row.url, String(row.clicks), String(row.notifications)].map(Self.csvEscaped).joined(separator: ","))
            }
        case .table:
            guard !rows.isEmpty else {
                print("No clicks recorded yet.")
                return
            }
            let table = TextTable(
                columns: [TextTable.Column("campaign"), TextTable.Column("people", alignment: .right), TextTable.Column("clicks", alignment: .right), TextTable.Column("link")],
                rows: rows.map { [$0.campaignID, grouped($0.notifications), grouped($0.clicks), $0.url] }, keyColumns: 1
            )
            print(table.render(width: Terminal.width))
        }
    }

    func listRecipients(_ store: SQLiteStore) async throws {
        let filter = RecipientFilter(
            campaignID: campaign, channel: channel.flatMap(Channel.init(rawValue:)),
            state: reason != nil ? .skipped : state.flatMap(NotificationState.init(rawValue:)), reason: reason
        )
        let header = ["campaign", "send", "user", "channel", "address", "state", "reason", "provider", "updated_at"]
        func fields(_ row: RecipientRow) -> [String] {
            [
                row.campaignID, ISO8601.string(from: row.fireAt), row.userID, row.channel.rawValue, row.address ?? "",
                row.state.rawValue, row.reason ?? "", row.provider ?? "", ISO8601.string(from: row.updatedAt),
            ]
        }
        var last: Int64?
        var count = 0
        var tableRows: [[String]] = []
        if format == .csv { print(header.joined(separator: ",")) }
        if format == .json { print("[", terminator: "") }
        while true {
            let page = try await store.recipients(matching: filter, after: last, limit: 2000)
            guard let tail = page.last else { break }
            last = tail.notificationID
            for row in page {
                switch format {
                case .csv:
                    print(fields(row).map(Self.csvEscaped).joined(separator: ","))
                case .json:
                    var object: [String: Any] = Dictionary(uniqueKeysWithValues: zip(header, fields(row)).map { ($0, $1 as Any) })
                    object["address"] = row.address.map { $0 as Any } ?? NSNull()
                    object["reason"] = row.reason.map { $0 as Any } ?? NSNull()
                    object["provider"] = row.provider.map { $0 as Any } ?? NSNull()
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                    print((count == 0 ? "\n  " : ",\n  ") + String(decoding: data, as: UTF8.self), terminator: "")
                case .table:
                    tableRows.append(fields(row))
                }
                count += 1
            }
        }
        switch format {
        case .json:
            print(count == 0 ? "]" : "\n]")
        case .table:
            guard count > 0 else {
                print("No notifications match.")
                return
            }
            let columns = header.map { TextTable.Column($0) }
            print(TextTable(columns: columns, rows: tableRows, keyColumns: 3).render(width: Terminal.width))
            print("\n\(plural(count, "notification"))")
        case .csv:
            break
        }
    }

    static func csvEscaped(_ field: String) -> String {
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}

extension ReportFormatter.Format: ExpressibleByArgument {}

extension ReportGrouping: ExpressibleByArgument {}
