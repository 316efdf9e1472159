import Foundation

/// Renders report rows for people (a table that fits the terminal) and for programs (JSON, CSV).
///
/// Every format has the same fields for every row: every skip reason is present (zeros
/// included), rates are numbers (a fraction, `0.975`) or empty when nothing was attempted, and
/// a send is its fire instant in ISO 8601 (`all` in a total row).
public enum ReportFormatter {
    public enum Format: String, Sendable, CaseIterable {
        case table, json, csv
    }

    /// - Parameter width: the terminal's width for `.table`; `nil` for no limit.
    public static func format(_ rows: [ReportRow], as format: Format, width: Int? = nil, by grouping: ReportGrouping = .send) -> String {
        switch format {
        case .table: table(rows, width: width, by: grouping)
        case .json: json(rows, by: grouping)
        case .csv: csv(rows, by: grouping)
        }
    }

    /// The skip reasons of a report: every known one, then any other the store holds.
    static func reasons(in rows: [ReportRow]) -> [String] {
        let known = SkipReason.allCases.map(\.rawValue)
        let others = Set(rows.flatMap(\.skipped.keys)).subtracting(known).sorted()
        return known + others
    }

    static func send(_ row: ReportRow) -> String {
        row.group ?? row.fireAt.map(ISO8601.string(from:)) ?? "all"
    }

    /// What one notification stands for on the channel.
    static func unit(_ channel: Channel) -> String {
        channel == .push ? "device" : "recipient"
    }

    /// `0.975`, or empty when the rate is undefined (nothing attempted).
    static func number(_ rate: Double?) -> String {
        guard let rate else { return "" }
        return String(format: "%.4f", rate).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"\.$"#, with: "", options: .regularExpression)
    }

    // MARK: - Table

    /// `97.5%`, or `-` when the rate is undefined.
    static func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        return String(format: "%.1f%%", rate * 100)
    }

    /// `2,006`: a count as people read it, the same on every machine.
    public static func grouped(_ value: Int) -> String {
        value.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
    }

    static func table(_ rows: [ReportRow], width: Int?, by grouping: ReportGrouping = .send) -> String {
        guard !rows.isEmpty else { return "No notifications recorded yet." }
        let numbers = [
            "recipients", "targeted", "skipped", "pending", "sent", "delivered", "failed", "dead", "sent %", "failed %",
            "bounced", "opened", "clicked", "unsub", "spam", "open %", "click %",
        ]
        let columns = [TextTable.Column("campaign"), TextTable.Column(grouping.rawValue), TextTable.Column("channel")]
            + numbers.map { TextTable.Column($0, alignment: .right) } + [TextTable.Column("skipped by reason")]
        let body = rows.map { row -> [String] in
            [row.campaignID, send(row), row.channel.rawValue]
                + [row.recipients, row.targeted, row.skippedTotal, row.pending, row.sent, row.delivered, row.failed, row.dead].map(grouped)
                + [percent(row.sendRate), percent(row.failureRate)]
                + [row.bounced, row.opened, row.clicked, row.unsubscribed, row.complained].map(grouped)
                + [percent(row.openRate), percent(row.clickRate), row.skipped.filter { $0.value > 0 }.keys.sorted().map { "\($0)=\(grouped(row.skipped[$0]!))" }.joined(separator: " ")]
        }
        var text = TextTable(columns: columns, rows: body, keyColumns: 3).render(width: width)
        if rows.contains(where: { $0.channel == .push }) {
            text += "\n\npush: targeted counts devices"
        }
        return text
    }

    // MARK: - CSV and JSON

    static func csv(_ rows: [ReportRow], by grouping: ReportGrouping = .send) -> String {
        let reasons = reasons(in: rows)
        let header = ["campaign", grouping.rawValue, "occurrence", "channel", "unit", "recipients", "targeted", "skipped_total"]
            + reasons.map { "skipped_\($0)" } + ["pending", "sent", "delivered", "failed", "dead", "send_rate", "failure_rate"]
            + ["bounced", "opened", "machine_opened", "clicked", "unsubscribed", "complained", "delivery_rate", "open_rate", "click_rate"]
        func escape(_ field: String) -> String {
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }
        let lines = rows.map { row -> [String] in
            var fields: [String] = [row.campaignID, send(row), row.occurrenceID.map(String.init) ?? "", row.channel.rawValue, unit(row.channel)]
            fields += [row.recipients, row.targeted, row.skippedTotal].map(String.init)
            fields += reasons.map { String(row.skipped[$0] ?? 0) }
            fields += [row.pending, row.sent, row.delivered, row.failed, row.dead].map(String.init)
            fields += [number(row.sendRate), number(row.failureRate)]
            fields += [row.bounced, row.opened, row.machineOpened, row.clicked, row.unsubscribed, row.complained].map(String.init)
            fields += [number(row.deliveryRate), number(row.openRate), number(row.clickRate)]
            return fields
        }
        return ([header] + lines).map { $0.map(escape).joined(separator: ",") }.joined(separator: "\n")
    }

    static func json(_ rows: [ReportRow], by grouping: ReportGrouping = .send) -> String {
        let reasons = reasons(in: rows)
        let objects: [[String: Any]] = rows.map { row in
            [
                "campaign": row.campaignID, grouping.rawValue: send(row), "occurrence": row.occurrenceID.map { $0 as Any } ?? NSNull(),
                "channel": row.channel.rawValue, "unit": unit(row.channel), "recipients": row.recipients, "targeted": row.targeted,
                "skipped": Dictionary(uniqueKeysWithValues: reasons.map { ($0, row.skipped[$0] ?? 0) }),
                "skipped_total": row.skippedTotal, "pending": row.pending, "sent": row.sent,
                "delivered": row.delivered, "failed": row.failed, "dead": row.dead,
                "send_rate": row.sendRate.map { $0 as Any } ?? NSNull(),
                "failure_rate": row.failureRate.map { $0 as Any } ?? NSNull(),
                "bounced": row.bounced, "opened": row.opened, "machine_opened": row.machineOpened, "clicked": row.clicked,
                "unsubscribed": row.unsubscribed, "complained": row.complained,
                "delivery_rate": row.deliveryRate.map { $0 as Any } ?? NSNull(),
                "open_rate": row.openRate.map { $0 as Any } ?? NSNull(),
                "click_rate": row.clickRate.map { $0 as Any } ?? NSNull(),
            ]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted]) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
