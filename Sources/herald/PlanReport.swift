import Foundation
import HeraldCore
import HeraldEngine

/// What `herald plan` prints: a dry run's numbers for a person (text) or a script (JSON).
struct PlanReport {
    var campaign: Campaign
    /// How the fire instant was chosen, for the heading.
    var when: String
    var fireAt: Date
    var result: Planner.Result
    var tally: PlanTally
    var cost: CostEstimate
    /// default_timezone: the clock the due-time histogram is read on.
    var zone: TimeZone

    func text(width: Int?) -> String {
        var lines = ["\(campaign.id): \(when) (a dry run: nothing is written)"]
        var audience = "audience: \(plural(result.recipients, "recipient"))"
        if result.defaultZoneRecipients > 0 {
            audience += " (\(grouped(result.defaultZoneRecipients)) without a valid time zone: their local times are read in \(zone.identifier))"
        }
        lines.append(audience)
        lines.append("notifications: \(grouped(tally.planned)) to send, \(grouped(tally.skipped)) skipped")
        let routes = tally.sends.sorted { $0.key < $1.key }
        if !routes.isEmpty {
            lines.append("")
            lines.append(TextTable(
                columns: [.init("channel"), .init("provider"), .init("notifications", alignment: .right)],
                rows: routes.map { [$0.key.channel.rawValue, $0.key.provider, grouped($0.value)] }
            ).render(width: width))
        }
        let skips = tally.skips.sorted { $0.key < $1.key }
        if !skips.isEmpty {
            lines.append("")
            lines.append(TextTable(
                columns: [.init("skipped because"), .init("notifications", alignment: .right)],
                rows: skips.map { [$0.key.cap.map { "capped: \($0)" } ?? $0.key.reason.rawValue, grouped($0.value)] }
            ).render(width: width))
        }
        if !tally.smsMessages.isEmpty {
            lines.append("")
            for (provider, messages) in tally.smsMessages.sorted(by: { $0.key < $1.key }) {
                lines.append("sms via \(provider): \(plural(messages, "message")), \(plural(tally.smsSegments[provider] ?? 0, "segment"))")
            }
        }
        if !cost.totals.isEmpty {
            if tally.smsMessages.isEmpty { lines.append("") }
            lines.append("estimated cost: " + cost.totals.map(\.description).joined(separator: " + ")
                + (cost.unpriced.isEmpty ? "" : " (no price in herald.yml for \(cost.unpriced.joined(separator: ", ")))"))
        }
        if tally.dueTimes.total > 0 {
            lines.append("")
            lines.append("due (\(tally.dueTimes.resolution == .day ? "per day" : "per hour"), \(zone.identifier)):")
            lines.append(tally.dueTimes.render(width: width))
        }
        for (key, sample) in tally.samples.sorted(by: { $0.key < $1.key }) {
            lines.append("")
            lines.append("sample: \(key.channel.rawValue), locale \(key.locale.isEmpty ? "(none)" : key.locale), for \(sample.userID):")
            lines += Self.describe(sample.content).map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ content: NotificationContent) -> [String] {
        switch content {
        case .push(let push): (push.title.map { ["title: \($0)"] } ?? []) + ["body: \(push.body)"]
        case .sms(let sms): ["body: \(sms.body)"]
        case .email(let email): ["subject: \(email.subject)"] + (email.text.split(separator: "\n", omittingEmptySubsequences: true).prefix(3).map { "| \($0)" })
        }
    }

    func json() -> String {
        var object: [String: Any] = [
            "campaign": campaign.id,
            "fire_at": ISO8601.string(from: fireAt),
            "recipients": result.recipients,
            "recipients_in_default_zone": result.defaultZoneRecipients,
            "planned": tally.planned,
            "skipped": tally.skipped,
        ]
        object["by_channel"] = tally.sends.sorted { $0.key < $1.key }.map {
            ["channel": $0.key.channel.rawValue, "provider": $0.key.provider, "notifications": $0.value] as [String: Any]
        }
        object["skips"] = tally.skips.sorted { $0.key < $1.key }.map { skip -> [String: Any] in
            var row: [String: Any] = ["reason": skip.key.reason.rawValue, "notifications": skip.value]
            if let cap = skip.key.cap { row["cap"] = cap }
            return row
        }
        object["due_by_hour"] = tally.dueTimes.buckets(resolution: .hour).map { ["start": $0.start, "notifications": $0.count] as [String: Any] }
        object["cost"] = cost.lines.map { line -> [String: Any] in
            var row: [String: Any] = ["provider": line.usage.provider, "messages": line.usage.messages, "segments": line.usage.segments]
            if let cost = line.cost { row["amount"] = "\(cost.amount)"; row["currency"] = cost.currency }
            return row
        }
        object["sms"] = tally.smsMessages.sorted { $0.key < $1.key }.map {
            ["provider": $0.key, "messages": $0.value, "segments": tally.smsSegments[$0.key] ?? 0] as [String: Any]
        }
        object["samples"] = tally.samples.sorted { $0.key < $1.key }.map { key, sample -> [String: Any] in
            let content = (try? JSONSerialization.jsonObject(with: Data(sample.content.jsonText.utf8))) ?? [:]
            return ["channel": key.channel.rawValue, "locale": key.locale, "user_id": sample.userID, "content": content]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
