import ArgumentParser
import Foundation
import HeraldCore

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

    @Option(help: "table, json, csv, or html (one self-contained page with charts per campaign; see --output).")
    var format: Output = .table

    @Option(help: "With --format html: the file to write (default: print the page).")
    var output: String?

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv, html

        /// The format of the text lists; `html` is the whole report only.
        var listFormat: ReportFormatter.Format {
            switch self {
            case .table, .html: .table
            case .json: .json
            case .csv: .csv
            }
        }
    }

    @Flag(help: "List each recipient's notifications instead of the counts.")
    var recipients = false

    @Option(help: "send (default: a row per send, and totals), provider, or day (UTC, when due).")
    var by: ReportGrouping = .send

    @Flag(help: "List each campaign's most clicked links (tracked links and provider click events) instead of the counts.")
    var links = false

    @Flag(help: "Compare each campaign's variants and holdout: people, sent, opened, clicked, converted, conversion rate, and lift against the holdout with its 95% confidence interval.")
    var variants = false

    @Option(help: "With --recipients: only notifications in this state (planned, sending, sent, delivered, failed, dead, skipped).")
    var state: String?

    @Option(help: "With --recipients: only notifications skipped for this reason (no_address, opted_out, …).")
    var reason: String?

    @Option(help: "With --recipients: only this channel (push, sms, email).")
    var channel: String?

    func validate() throws {
        if format == .html, recipients || links || variants || by != .send {
            throw ValidationError("--format html is the whole report, with the links, variants and providers in it; leave out --recipients, --links, --variants and --by")
        }
        if output != nil, format != .html {
            throw ValidationError("--output writes the HTML report; add --format html, or redirect the output of the other formats")
        }
        if [recipients, links, variants].filter({ $0 }).count > 1 {
            throw ValidationError("--recipients, --links and --variants are different lists; choose one")
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
        // writes the database. SQLite or PostgreSQL: the same views, through the same role.
        let store = try await options.openStoreForReading().insights
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
        if variants {
            try await listExperiments(store)
            return
        }
        if format == .html {
            try await writeHTML(store)
            return
        }
        let rows = try await store.report(campaignID: campaign, by: by)
        print(ReportFormatter.format(rows, as: format.listFormat, width: Terminal.width, by: by))
    }

    /// The whole report as one HTML page, to `--output` or the standard output.
    func writeHTML(_ store: any InsightStore) async throws {
        let rows = try await store.report(campaignID: campaign, by: .send)
        let providers = try await store.report(campaignID: campaign, by: .provider)
        let groups = try await store.experimentReport(campaignID: campaign)
        let conversions = try await store.conversionsByChannel(campaignID: campaign)
        let activity = try await store.activity(campaignID: campaign)
        let locales = try await store.localeBreakdown(campaignID: campaign)
        let ids = Set(rows.map(\.campaignID)).sorted()
        var campaigns: [HTMLReport.CampaignData] = []
        for id in ids {
            let links = try await store.topLinks(campaignID: id, limit: 10).map { HTMLReport.Link(url: $0.url, clicks: $0.clicks, people: $0.notifications) }
            campaigns.append(HTMLReport.CampaignData(
                id: id, channels: HTMLReport.channelTotals(rows, campaignID: id), providers: providers.filter { $0.campaignID == id },
                groups: groups.filter { $0.campaignID == id }, conversions: conversions.filter { $0.campaignID == id },
                activity: activity.filter { $0.campaignID == id }, locales: locales.filter { $0.campaignID == id }, links: links
            ))
        }
        let page = HTMLReport(campaigns: campaigns, generatedAt: Date()).render()
        guard let output else {
            print(page, terminator: "")
            return
        }
        do {
            try Data(page.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        print("wrote \(output): \(plural(campaigns.count, "campaign"))")
    }

    /// Each tested campaign's groups side by side, each against the holdout.
    func listExperiments(_ store: any InsightStore) async throws {
        let groups = try await store.experimentReport(campaignID: campaign)
        let holdouts = Dictionary(groups.filter(\.isHoldout).map { ($0.campaignID, $0) }, uniquingKeysWith: { first, _ in first })
        switch format.listFormat {
        case .json:
            let objects: [[String: Any]] = groups.map { group in
                var object: [String: Any] = [
                    "campaign": group.campaignID, "group": group.group, "people": group.people, "sent": group.sent,
                    "opened": group.opened, "clicked": group.clicked,
                    "converted": group.converted.map { $0 as Any } ?? NSNull(),
                    "conversion_rate": group.conversionRate.map { $0 as Any } ?? NSNull(),
                    "conversion_event": group.conversionEvent.map { $0 as Any } ?? NSNull(),
                    "conversion_window_seconds": group.conversionWindowSeconds.map { $0 as Any } ?? NSNull(),
                ]
                if let lift = group.lift(against: holdouts[group.campaignID]) {
                    object["lift"] = [
                        "difference": lift.difference, "low": lift.low, "high": lift.high, "z": lift.z, "significant": lift.isSignificant,
                        "relative": lift.relative.map { $0 as Any } ?? NSNull(),
                    ] as [String: Any]
                } else {
                    object["lift"] = NSNull()
                }
                return object
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        case .csv:
            print("campaign,group,people,sent,opened,clicked,converted,conversion_rate,lift,lift_low,lift_high,significant")
            for group in groups {
                let lift = group.lift(against: holdouts[group.campaignID])
                func text(_ value: Double?) -> String { value.map { String($0) } ?? "" }
                var fields: [String] = [group.campaignID, group.group]
                fields += [group.people, group.sent, group.opened, group.clicked].map { String($0) }
                fields.append(group.converted.map { String($0) } ?? "")
                fields += [text(group.conversionRate), text(lift?.difference), text(lift?.low), text(lift?.high)]
                fields.append(lift.map { String($0.isSignificant) } ?? "")
                print(fields.map(Self.csvEscaped).joined(separator: ","))
            }
        case .table:
            guard !groups.isEmpty else {
                print("No campaign with variants or a holdout has been sent\(campaign.map { " (\($0) has none)" } ?? "").")
                return
            }
            let columns = [
                TextTable.Column("campaign"), TextTable.Column("group"), TextTable.Column("people", alignment: .right),
                TextTable.Column("sent", alignment: .right), TextTable.Column("opened", alignment: .right),
                TextTable.Column("clicked", alignment: .right), TextTable.Column("converted", alignment: .right),
                TextTable.Column("rate", alignment: .right), TextTable.Column("lift against the holdout"),
            ]
            let rows = groups.map { group -> [String] in
                let lift = group.lift(against: holdouts[group.campaignID])
                return [
                    group.campaignID, group.group, grouped(group.people), grouped(group.sent), grouped(group.opened), grouped(group.clicked),
                    group.converted.map(grouped) ?? "-", group.conversionRate.map { String(format: "%.2f%%", $0 * 100) } ?? "-",
                    group.isHoldout ? "(the baseline)" : lift?.summary ?? "-",
                ]
            }
            print(TextTable(columns: columns, rows: rows, keyColumns: 2).render(width: Terminal.width))
            for id in Set(groups.map(\.campaignID)).sorted() {
                let first = groups.first { $0.campaignID == id }
                var notes: [String] = []
                if let event = first?.conversionEvent, let window = first?.conversionWindowSeconds {
                    notes.append("conversion: \(event) within \(DurationLiteral.describe(seconds: window)) of the send")
                } else {
                    notes.append("no conversion event: add conversion: {event: purchase, within: 3d} to the campaign to compare rates")
                }
                if holdouts[id] == nil {
                    notes.append("no holdout: add holdout: 10% to measure lift")
                }
                print("\(id): " + notes.joined(separator: "; "))
            }
        }
    }

    /// The ten most clicked links of each campaign.
    func listLinks(_ store: any InsightStore) async throws {
        let rows = try await store.topLinks(campaignID: campaign, limit: 10)
        switch format.listFormat {
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

    /// Streams the notifications page by page, so that a campaign of millions lists in bounded memory.
    func listRecipients(_ store: any InsightStore) async throws {
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
        let format = self.format.listFormat
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
