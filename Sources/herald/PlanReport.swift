import Foundation
import HeraldContent
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
    /// default_timezone as herald.yml names it (UTC when it names no zone): the clock the
    /// due-time histogram is read on. Not the zone's `identifier`, which Foundation gives as
    /// "GMT" for UTC.
    var zoneName: String

    func text(width: Int?) -> String {
        var lines = ["\(campaign.id): \(when) (a dry run: nothing is written)"]
        var audience = "audience: \(plural(result.recipients, "recipient"))"
        if result.defaultZoneRecipients > 0 {
            audience += " (\(grouped(result.defaultZoneRecipients)) without a valid time zone: their local times are read in \(zoneName))"
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
        if !groupRows.isEmpty {
            lines.append("")
            lines.append(splitHeading + ":")
            lines.append(TextTable(
                columns: [.init("group"), .init("weight", alignment: .right), .init("people", alignment: .right), .init("share", alignment: .right)],
                rows: groupRows.map { [$0.group, $0.weight.map(String.init) ?? "-", grouped($0.people), $0.share] }
            ).render(width: width))
        }
        if !tally.smsMessages.isEmpty {
            lines.append("")
            for (provider, messages) in tally.smsMessages.sorted(by: { $0.key < $1.key }) {
                lines.append("sms via \(provider): \(plural(messages, "message")), \(plural(tally.smsSegments[provider] ?? 0, "segment"))\(encodings(of: provider))")
            }
        }
        if !cost.totals.isEmpty {
            if tally.smsMessages.isEmpty { lines.append("") }
            lines.append("estimated cost: " + cost.totals.map(\.description).joined(separator: " + ")
                + (cost.unpriced.isEmpty ? "" : " (no price in herald.yml for \(cost.unpriced.joined(separator: ", ")))"))
        }
        if tally.dueTimes.total > 0 {
            lines.append("")
            lines.append("due (\(tally.dueTimes.resolution == .day ? "per day" : "per hour"), \(zoneName)):")
            lines.append(tally.dueTimes.render(width: width))
        }
        for (key, sample) in tally.samples.sorted(by: { $0.key < $1.key }) {
            lines.append("")
            lines.append("sample: \(key.channel.rawValue), locale \(key.locale.isEmpty ? "(none)" : key.locale)\(tally.sampleVariant.map { ", variant \($0)" } ?? ""), for \(sample.userID):")
            lines += Self.describe(sample.content).map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    /// `, all GSM-7` or `; GSM-7: 3 messages in 6 segments, UCS-2: 1 message in 2 segments`: the
    /// encodings of a provider's SMS, which decide how many characters a segment holds.
    func encodings(of provider: String) -> String {
        let counts = (tally.smsEncodings[provider] ?? [:]).sorted { $0.key.rawValue < $1.key.rawValue }
        if counts.count == 1, let only = counts.first { return ", all \(only.key.rawValue)" }
        guard !counts.isEmpty else { return "" }
        return "; " + counts.map { "\($0.key.rawValue): \(plural($0.value.messages, "message")) in \(plural($0.value.segments, "segment"))" }.joined(separator: ", ")
    }

    /// The groups of the campaign's test in the order it declares them, the holdout last.
    var groupRows: [(group: String, weight: Int?, people: Int, share: String)] {
        let experiment = campaign.experiment
        guard experiment.splits else { return [] }
        var names: [(String, Int?)] = experiment.variants.map { ($0.name, $0.weight) }
        if experiment.variants.isEmpty { names.append((Experiment.treatmentName, nil)) }
        if experiment.holdoutBasisPoints > 0 { names.append((Experiment.holdoutName, nil)) }
        let total = tally.groupPeople.values.reduce(0, +)
        return names.map { name, weight in
            let people = tally.groupPeople[name] ?? 0
            let share = total == 0 ? "-" : String(format: "%.1f%%", Double(people) * 100 / Double(total))
            return (name, weight, people, share)
        }
    }

    var splitHeading: String {
        let experiment = campaign.experiment
        var parts: [String] = []
        if !experiment.variants.isEmpty { parts.append("\(experiment.variants.count) variants") }
        if experiment.holdoutBasisPoints > 0 { parts.append("a \(experiment.holdoutText) holdout") }
        if let conversion = experiment.conversion { parts.append("conversion: \(conversion.event) within \(conversion.within)") }
        return "test: " + parts.joined(separator: ", ")
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
        object["sms"] = tally.smsMessages.sorted { $0.key < $1.key }.map { provider, messages -> [String: Any] in
            let encodings = (tally.smsEncodings[provider] ?? [:]).sorted { $0.key.rawValue < $1.key.rawValue }.map {
                ["encoding": $0.key.rawValue, "messages": $0.value.messages, "segments": $0.value.segments] as [String: Any]
            }
            return ["provider": provider, "messages": messages, "segments": tally.smsSegments[provider] ?? 0, "encodings": encodings]
        }
        object["groups"] = groupRows.map { row -> [String: Any] in
            ["group": row.group, "weight": row.weight.map { $0 as Any } ?? NSNull(), "people": row.people]
        }
        object["samples"] = tally.samples.sorted { $0.key < $1.key }.map { key, sample -> [String: Any] in
            let content = (try? JSONSerialization.jsonObject(with: Data(sample.content.jsonText.utf8))) ?? [:]
            return ["channel": key.channel.rawValue, "locale": key.locale, "user_id": sample.userID, "content": content]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension PlanReport {
    /// The plan as GitHub-flavoured Markdown, for a pull-request comment: the audience, skips,
    /// notifications per channel and provider, the cost, the test's split, when they fall due,
    /// and each sample rendering in a code block (so that nothing in a template can change the
    /// comment's layout).
    func markdown() -> String {
        var lines = ["### Plan for `\(campaign.id)`", "", "\(Self.escaped(when.prefix(1).uppercased() + when.dropFirst())); a dry run against the users in the store, nothing written.", ""]
        var audience = "- **Audience:** \(plural(result.recipients, "recipient"))"
        if result.defaultZoneRecipients > 0 {
            audience += " (\(grouped(result.defaultZoneRecipients)) without a valid time zone, read in \(zoneName))"
        }
        lines.append(audience)
        lines.append("- **Notifications:** \(grouped(tally.planned)) to send, \(grouped(tally.skipped)) skipped")
        if !cost.totals.isEmpty {
            lines.append("- **Estimated cost:** " + cost.totals.map(\.description).joined(separator: " + ")
                + (cost.unpriced.isEmpty ? "" : " (no price in herald.yml for \(cost.unpriced.joined(separator: ", ")))"))
        }
        for (provider, messages) in tally.smsMessages.sorted(by: { $0.key < $1.key }) {
            lines.append("- **SMS via \(Self.escaped(provider)):** \(plural(messages, "message")), \(plural(tally.smsSegments[provider] ?? 0, "segment"))\(encodings(of: provider))")
        }
        let routes = tally.sends.sorted { $0.key < $1.key }
        if !routes.isEmpty {
            lines += ["", "| channel | provider | notifications |", "|---|---|---:|"]
            lines += routes.map { "| \($0.key.channel.rawValue) | \(Self.escaped($0.key.provider)) | \(grouped($0.value)) |" }
        }
        let skips = tally.skips.sorted { $0.key < $1.key }
        if !skips.isEmpty {
            lines += ["", "| skipped because | notifications |", "|---|---:|"]
            lines += skips.map { "| \(Self.escaped($0.key.cap.map { "capped: \($0)" } ?? $0.key.reason.rawValue)) | \(grouped($0.value)) |" }
        }
        let groups = groupRows
        if !groups.isEmpty {
            lines += ["", "**\(Self.escaped(splitHeading.prefix(1).uppercased() + splitHeading.dropFirst()))**", "", "| group | weight | people | share |", "|---|---:|---:|---:|"]
            lines += groups.map { "| \($0.group) | \($0.weight.map(String.init) ?? "–") | \(grouped($0.people)) | \($0.share) |" }
        }
        let hours = tally.dueTimes.buckets(resolution: tally.dueTimes.resolution).filter { $0.count > 0 }
        if !hours.isEmpty {
            let unit = tally.dueTimes.resolution == .day ? "day" : "hour"
            lines += ["", "<details><summary>When they fall due, per \(unit) (\(zoneName))</summary>", "", "| \(unit) | notifications |", "|---|---:|"]
            lines += hours.map { "| \($0.start) | \(grouped($0.count)) |" }
            lines += ["", "</details>"]
        }
        let samples = tally.samples.sorted { $0.key < $1.key }
        if !samples.isEmpty {
            let variant = tally.sampleVariant.map { ", of variant \(Self.escaped($0))" } ?? ""
            lines += ["", "<details><summary>Samples, one per channel and locale\(variant)</summary>", ""]
            for (key, sample) in samples {
                lines.append("**\(key.channel.rawValue)**, locale \(key.locale.isEmpty ? "(none)" : "`\(Self.escaped(key.locale))`"), for `\(Self.escaped(sample.userID))`:")
                lines += ["", Self.fenced(Self.describe(sample.content).joined(separator: "\n")), ""]
            }
            lines.append("</details>")
        }
        let variantSamples = tally.variantSamples.sorted { $0.key < $1.key }
        if !variantSamples.isEmpty {
            lines += ["", "<details><summary>Samples, one per variant and channel</summary>", ""]
            for (key, sample) in variantSamples {
                lines.append("**\(Self.escaped(key.variant))**, \(key.channel.rawValue), for `\(Self.escaped(sample.userID))`:")
                lines += ["", Self.fenced(Self.describe(sample.content).joined(separator: "\n")), ""]
            }
            lines.append("</details>")
        }
        return lines.joined(separator: "\n")
    }

    /// Text for a table cell or a line: `|`, `<`, `>`, `&`, backticks and line breaks cannot
    /// end a cell, open a tag or a code span.
    static func escaped(_ text: some StringProtocol) -> String {
        var result = ""
        for character in text {
            switch character {
            case "|": result += "\\|"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "&": result += "&amp;"
            case "`": result += "'"
            case "\n", "\r", "\r\n": result += " "
            default: result.append(character)
            }
        }
        return result
    }

    /// A fenced code block longer than any run of backticks in `text`, so that the text cannot
    /// close it.
    static func fenced(_ text: String) -> String {
        var longest = 0, run = 0
        for character in text {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return "\(fence)text\n\(text)\n\(fence)"
    }
}
