import Foundation

/// Renders report rows for people (an aligned table) and for programs (JSON, CSV).
public enum ReportFormatter {
    public enum Format: String, Sendable, CaseIterable {
        case table, json, csv
    }

    public static func format(_ rows: [ReportRow], as format: Format) -> String {
        switch format {
        case .table: table(rows)
        case .json: json(rows)
        case .csv: csv(rows)
        }
    }

    static let columns = ["campaign", "channel", "targeted", "skipped", "pending", "sent", "delivered", "failed", "dead", "send_rate", "failure_rate", "skipped_by_reason"]

    static func fields(_ row: ReportRow) -> [String] {
        [
            row.campaignID, row.channel.rawValue, String(row.targeted), String(row.skippedTotal), String(row.pending),
            String(row.sent), String(row.delivered), String(row.failed), String(row.dead),
            percent(row.sendRate), percent(row.failureRate), reasons(row.skipped),
        ]
    }

    /// `97.5%`, or `-` when the rate is undefined (nothing attempted).
    static func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        return String(format: "%.1f%%", rate * 100)
    }

    /// `no_address=12 opted_out=3`, sorted by reason.
    static func reasons(_ skipped: [String: Int]) -> String {
        skipped.keys.sorted().map { "\($0)=\(skipped[$0]!)" }.joined(separator: " ")
    }

    static func table(_ rows: [ReportRow]) -> String {
        guard !rows.isEmpty else { return "No notifications recorded yet." }
        let body = rows.map(fields)
        let all = [columns] + body
        let widths = columns.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { fields in
            fields.enumerated().map { column, text in
                // Numbers align right, words left, as people read tables.
                let pad = String(repeating: " ", count: widths[column] - text.count)
                return (2...10).contains(column) ? pad + text : text + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func csv(_ rows: [ReportRow]) -> String {
        func escape(_ field: String) -> String {
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }
        return ([columns] + rows.map(fields)).map { $0.map(escape).joined(separator: ",") }.joined(separator: "\n")
    }

    static func json(_ rows: [ReportRow]) -> String {
        let objects: [[String: Any]] = rows.map { row in
            [
                "campaign": row.campaignID, "channel": row.channel.rawValue, "targeted": row.targeted,
                "skipped": row.skipped, "skipped_total": row.skippedTotal, "pending": row.pending, "sent": row.sent,
                "delivered": row.delivered, "failed": row.failed, "dead": row.dead,
                "send_rate": row.sendRate.map { $0 as Any } ?? NSNull(),
                "failure_rate": row.failureRate.map { $0 as Any } ?? NSNull(),
            ]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted]) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
